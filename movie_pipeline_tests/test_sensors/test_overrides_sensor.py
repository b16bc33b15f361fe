"""overrides_sensor tick by tick: an edit queues exactly the uploads holding the films it changes, one run at a time."""

from datetime import UTC, datetime

import dagster as dg
import pytest

from movie_pipeline import database as db
from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.resources import TmdbResource
from movie_pipeline.sensors.overrides_sensor import OverridesCursor, overrides_sensor
from movie_pipeline_tests.test_sensors.test_enrichment_sweep_sensor import add_run, skip_message

WITH_TOKEN = TmdbResource(base_url="http://127.0.0.1:9/3", read_access_token="token-for-tests")
HEADER = "letterboxd_uri,name,year,tmdb_id,media_type\n"
# Which films each upload holds: (name, year, letterboxd_uri).
HOLDINGS = {
    "alice-aaaaaaaaaaaa": [("Heat", 1995, "https://boxd.it/heat"), ("Alien", 1979, None)],
    "bob-bbbbbbbbbbbb": [("Heat", 1995, None), ("Chernobyl", 2019, None)],
    "carol-cccccccccccc": [("Amélie", 2001, None)],
}


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(uploads_partitions.name, list(HOLDINGS))
        yield instance


@pytest.fixture
def holdings(storage):
    rows = [
        {
            "upload": upload,
            "film_key": f"{i:016x}",
            "name": name,
            "year": year,
            "letterboxd_uri": uri,
            "tmdb_id": None,
            "status": "not_found",
            "confidence": 0.0,
            "reason": "test",
            "updated_at": datetime.now(UTC),
        }
        for upload, films in HOLDINGS.items()
        for i, (name, year, uri) in enumerate(films)
    ]
    with storage.engine().begin() as conn:
        db.insert_rows(conn, db.film_matches, rows)


class Ticks:
    """Evaluates the sensor as the daemon does: each tick gets the cursor the previous one returned."""

    def __init__(self, instance, storage, tmdb=WITH_TOKEN):
        self.instance, self.storage, self.tmdb, self.cursor = instance, storage, tmdb, None

    def __call__(self) -> dg.SensorResult:
        resources = {"storage": self.storage, "tmdb": self.tmdb}
        with dg.build_sensor_context(instance=self.instance, cursor=self.cursor, resources=resources) as context:
            result = overrides_sensor(context)
        assert isinstance(result, dg.SensorResult)
        self.cursor = result.cursor
        return result

    def requested(self) -> list[str]:
        """The partitions requested by ticks until one requests nothing."""
        partitions = []
        while (result := self()).run_requests:
            [request] = result.run_requests
            assert request.job_name == "enrichment_sweep_job"
            assert request.tags["movie_pipeline/trigger"] == "overrides"
            assert request.partition_key is not None
            partitions.append(request.partition_key)
        return partitions


def write(storage, text: str) -> None:
    storage.settings.overrides_path.write_text(HEADER + text, encoding="utf-8")


@pytest.mark.usefixtures("holdings")
def test_each_edit_requests_just_the_uploads_holding_the_films_it_changes(instance, storage):
    tick = Ticks(instance, storage)
    assert skip_message(tick()) == "no upload waits for an overrides.csv edit"  # the first tick takes the file as is
    write(storage, ",Heat,1995,949,\n")
    assert tick.requested() == ["alice-aaaaaaaaaaaa", "bob-bbbbbbbbbbbb"]
    assert tick.requested() == []  # unchanged bytes: nothing more

    write(storage, ",Heat,1995,949,\n,Chernobyl,2019,87108,tv\n")  # one line added
    assert tick.requested() == ["bob-bbbbbbbbbbbb"]
    write(storage, ",Chernobyl,2019,87108,tv\n,Heat,1995,949,\n")  # the same pins, lines swapped
    assert tick.requested() == []
    write(storage, ",Chernobyl,2019,87108,tv\n,Heat,1995,949,\n# a note,,,,\n")  # a bad line changes no pin
    assert tick.requested() == []
    write(storage, ",Chernobyl,2019,87108,tv\n")  # Heat's line removed: back to matching
    assert tick.requested() == ["alice-aaaaaaaaaaaa", "bob-bbbbbbbbbbbb"]
    write(storage, "https://boxd.it/heat,,,1,\n")  # by URI: only alice's Heat has it; Chernobyl's line is gone
    assert tick.requested() == ["alice-aaaaaaaaaaaa", "bob-bbbbbbbbbbbb"]
    storage.settings.overrides_path.unlink()
    assert tick.requested() == ["alice-aaaaaaaaaaaa"]
    assert tick.requested() == []


@pytest.mark.usefixtures("holdings")
def test_a_broken_header_unpins_nothing_until_the_file_is_fixed(instance, storage):
    tick = Ticks(instance, storage)
    write(storage, ",Heat,1995,949,\n,Amélie,2001,194,\n")
    tick()
    storage.settings.overrides_path.write_text("nmae,yaer,tmdb\nHeat,1995,949\n", encoding="utf-8")
    assert tick.requested() == []
    write(storage, ",Heat,1995,949,\n")  # fixed, with Amélie's line gone: only that is a change
    assert tick.requested() == ["carol-cccccccccccc"]


@pytest.mark.usefixtures("holdings")
def test_uploads_wait_while_any_enrichment_runs_and_an_edit_never_queues_one_twice(instance, storage):
    tick = Ticks(instance, storage)
    tick()
    running = add_run(instance, "upload_job", "carol-cccccccccccc")
    write(storage, ",Heat,1995,949,\n")
    assert "in flight" in skip_message(tick())
    write(storage, ",Heat,1995,950,\n,Alien,1979,348,\n")
    assert "2 upload(s) wait" in skip_message(tick())
    assert OverridesCursor.parse(tick.cursor).waiting == ["alice-aaaaaaaaaaaa", "bob-bbbbbbbbbbbb"]
    instance.report_run_canceled(instance.get_run_by_id(running))
    assert [request.partition_key for request in tick().run_requests] == ["alice-aaaaaaaaaaaa"]


@pytest.mark.usefixtures("holdings")
def test_without_credentials_the_uploads_keep_waiting(instance, storage):
    tick = Ticks(instance, storage, tmdb=TmdbResource(base_url="http://127.0.0.1:9/3"))
    tick()
    write(storage, ",Amélie,2001,194,\n")
    assert "TMDB_READ_ACCESS_TOKEN" in skip_message(tick())
    tick.tmdb = WITH_TOKEN
    assert tick.requested() == ["carol-cccccccccccc"]


@pytest.mark.usefixtures("holdings")
def test_a_deleted_upload_is_not_requested(instance, storage):
    tick = Ticks(instance, storage)
    tick()
    write(storage, ",Amélie,2001,194,\n,Alien,1979,348,\n")
    instance.delete_dynamic_partition(uploads_partitions.name, "carol-cccccccccccc")
    assert tick.requested() == ["alice-aaaaaaaaaaaa"]

from datetime import datetime, timezone

import dagster as dg
import pytest

from movie_pipeline import database as db
from movie_pipeline.resources import TmdbResource
from movie_pipeline.sensors.enrichment_sweep_sensor import enrichment_sweep_sensor

WITH_TOKEN = TmdbResource(base_url="http://127.0.0.1:9/3", read_access_token="token-for-tests")


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("uploads", ["alice-aaaaaaaaaaaa", "bob-bbbbbbbbbbbb", "carol-cccccccccccc"])
        yield instance


def add_matches(storage, upload: str, statuses: list[str], at: datetime | None = None) -> None:
    now = at or datetime.now(timezone.utc)
    rows = [
        {"upload": upload, "film_key": f"{i:016x}", "name": f"Film {i}", "year": 2000, "letterboxd_uri": None,
         "tmdb_id": None, "status": status, "confidence": 0.0, "reason": "test", "updated_at": now}
        for i, status in enumerate(statuses)
    ]
    with storage.engine().begin() as conn:
        db.insert_rows(conn, db.film_matches, rows)


def add_run(instance, job_name: str, partition: str, status=dg.DagsterRunStatus.STARTED) -> str:
    run_id = f"{job_name}-{partition}-{status.value}".lower()
    instance.add_run(dg.DagsterRun(job_name=job_name, run_id=run_id, status=status, tags={"dagster/partition": partition}))
    return run_id


def evaluate(instance, storage, tmdb=WITH_TOKEN):
    context = dg.build_sensor_context(instance=instance, resources={"storage": storage, "tmdb": tmdb})
    return enrichment_sweep_sensor(context)


def requested(result) -> list[str]:
    return sorted(r.partition_key for r in result.run_requests or [])


def test_requests_one_run_for_the_upload_waiting_longest(instance, storage):
    add_matches(storage, "carol-cccccccccccc", ["pending"], at=datetime(2026, 1, 2, tzinfo=timezone.utc))
    add_matches(storage, "alice-aaaaaaaaaaaa", ["found", "pending", "pending"], at=datetime(2026, 1, 3, tzinfo=timezone.utc))
    add_matches(storage, "bob-bbbbbbbbbbbb", ["found", "not_found"], at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    result = evaluate(instance, storage)
    assert requested(result) == ["carol-cccccccccccc"]
    assert result.run_requests[0].tags["movie_pipeline/trigger"] == "sweep"


@pytest.mark.parametrize("job_name", ["enrichment_sweep_job", "upload_job", "tmdb_refresh_job"])
def test_skips_while_any_enrichment_run_is_in_flight(instance, storage, job_name):
    add_matches(storage, "alice-aaaaaaaaaaaa", ["pending"])
    run_id = add_run(instance, job_name, "bob-bbbbbbbbbbbb", dg.DagsterRunStatus.STARTING)
    result = evaluate(instance, storage)
    assert isinstance(result, dg.SkipReason)
    assert run_id in result.skip_message


def test_finished_runs_do_not_hold_the_sweep_back(instance, storage):
    add_matches(storage, "alice-aaaaaaaaaaaa", ["pending"])
    add_run(instance, "enrichment_sweep_job", "alice-aaaaaaaaaaaa", dg.DagsterRunStatus.SUCCESS)
    add_run(instance, "upload_job", "alice-aaaaaaaaaaaa", dg.DagsterRunStatus.FAILURE)
    assert requested(evaluate(instance, storage)) == ["alice-aaaaaaaaaaaa"]


def test_skips_when_nothing_is_pending(instance, storage):
    add_matches(storage, "alice-aaaaaaaaaaaa", ["found", "override", "not_found"])
    result = evaluate(instance, storage)
    assert isinstance(result, dg.SkipReason) and "no upload with pending films" in result.skip_message


def test_ignores_pending_rows_of_uploads_the_instance_does_not_know(instance, storage):
    add_matches(storage, "deleted-dddddddddddd", ["pending"])
    assert isinstance(evaluate(instance, storage), dg.SkipReason)


def test_skips_with_the_reason_when_no_credentials_are_set(instance, storage):
    add_matches(storage, "alice-aaaaaaaaaaaa", ["pending"])
    result = evaluate(instance, storage, tmdb=TmdbResource(base_url="http://127.0.0.1:9/3"))
    assert isinstance(result, dg.SkipReason)
    assert "TMDB_API_KEY" in result.skip_message and "TMDB_READ_ACCESS_TOKEN" in result.skip_message

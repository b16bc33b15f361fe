from datetime import UTC, datetime, timedelta

import dagster as dg

from movie_pipeline import database as db
from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.definitions import defs
from movie_pipeline.schedules import REFRESH_OLDER_THAN_DAYS, tmdb_refresh_schedule
from movie_pipeline.tmdb.enrich import movie_row

UPLOADS = ["alice-aaaaaaaaaaaa", "bob-bbbbbbbbbbbb", "carol-cccccccccccc"]


def store_films(storage, fetched_at: dict[int, datetime], holdings: dict[str, list[int]]) -> None:
    """TMDB films fetched at the given moments, and which upload holds which."""
    match = {"name": "x", "status": "found", "confidence": 1.0, "reason": "test", "updated_at": datetime.now(UTC)}
    match["media_type"] = "movie"  # a found film's entry is looked up by (media_type, tmdb_id)
    with storage.engine().begin() as conn:
        db.insert_rows(
            conn, db.tmdb_movies, [movie_row({"id": i, "title": f"film {i}"}, at) for i, at in fetched_at.items()]
        )
        rows = [
            {**match, "upload": upload, "film_key": f"k{i}", "tmdb_id": i}
            for upload, ids in holdings.items()
            for i in ids
        ]
        db.insert_rows(conn, db.film_matches, rows)


def evaluate(instance, storage, when: datetime):
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=when,
        resources={"storage": storage},
        repository_def=defs.get_repository_def(),
    ) as context:
        return tmdb_refresh_schedule.evaluate_tick(context)


def test_the_refresh_is_a_daily_five_field_cron():
    assert isinstance(tmdb_refresh_schedule, dg.ScheduleDefinition)
    assert len(tmdb_refresh_schedule.cron_schedule.split()) == 5
    assert tmdb_refresh_schedule.job_name == "tmdb_refresh_job"


def test_requests_a_refresh_only_for_uploads_holding_stale_films_and_without_a_run_in_flight(storage):
    now = datetime.now(UTC)
    stale, fresh = now - timedelta(days=REFRESH_OLDER_THAN_DAYS + 1), now - timedelta(days=1)
    # alice and bob share stale film 1; carol holds only a fresh film.
    store_films(storage, {1: stale, 2: stale, 3: fresh}, {UPLOADS[0]: [1, 2], UPLOADS[1]: [1, 3], UPLOADS[2]: [3]})
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(uploads_partitions.name, UPLOADS)
        requests = evaluate(instance, storage, now).run_requests
        instance.add_run(
            dg.DagsterRun(
                job_name="enrichment_sweep_job",
                run_id="busy",
                status=dg.DagsterRunStatus.STARTED,
                tags={"dagster/partition": UPLOADS[1]},
            )
        )
        beside_a_run = evaluate(instance, storage, now).run_requests

    assert [r.partition_key for r in requests] == UPLOADS[:2]
    assert requests[0].run_key == f"refresh:{now:%Y%m%d}:{UPLOADS[0]}"
    config = requests[0].run_config["ops"]["enriched_movies"]["config"]
    assert config == {"refresh_older_than_days": REFRESH_OLDER_THAN_DAYS}
    assert [r.partition_key for r in beside_a_run] == UPLOADS[:1]


def test_skips_when_no_upload_holds_a_stale_film(storage):
    store_films(storage, {3: datetime.now(UTC)}, {UPLOADS[0]: [3]})
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(uploads_partitions.name, UPLOADS[:1])
        data = evaluate(instance, storage, datetime.now(UTC))
    assert data.run_requests == [] and "no upload holds a stale" in data.skip_message

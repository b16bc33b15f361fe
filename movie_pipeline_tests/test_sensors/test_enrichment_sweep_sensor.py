from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import select

from movie_pipeline import database as db
from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.definitions import defs
from movie_pipeline.resources import TmdbResource
from movie_pipeline.runs import enriching_runs_in_flight, fail_dead_runs
from movie_pipeline.sensors.enrichment_sweep_sensor import enrichment_sweep_sensor

WITH_TOKEN = TmdbResource(base_url="http://127.0.0.1:9/3", read_access_token="token-for-tests")


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(
            uploads_partitions.name, ["alice-aaaaaaaaaaaa", "bob-bbbbbbbbbbbb", "carol-cccccccccccc"]
        )
        yield instance


def add_matches(storage, upload: str, statuses: list[str], at: datetime | None = None) -> None:
    now = at or datetime.now(UTC)
    rows = [
        {
            "upload": upload,
            "film_key": f"{i:016x}",
            "name": f"Film {i}",
            "year": 2000,
            "letterboxd_uri": None,
            "tmdb_id": None,
            "status": status,
            "confidence": 0.0,
            "reason": "test",
            "updated_at": now,
        }
        for i, status in enumerate(statuses)
    ]
    with storage.engine().begin() as conn:
        db.insert_rows(conn, db.film_matches, rows)


def add_run(instance, job_name: str, partition: str, status=dg.DagsterRunStatus.STARTED, tags=None, assets=None) -> str:
    """A run as the instance stores it, with its real execution plan (which says what the run executes)."""
    if job_name == "__ASSET_JOB":
        job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={dg.AssetKey(a) for a in assets})
    else:
        job = defs.resolve_job_def(job_name)
    run = instance.create_run_for_job(
        job,
        status=status,
        tags={"dagster/partition": partition, **(tags or {})},
        asset_selection={dg.AssetKey(a) for a in assets} if assets else None,
    )
    return run.run_id


def beat(storage, run_id: str, at: datetime) -> None:
    with storage.engine().begin() as conn:
        db.upsert(conn, db.run_heartbeats, [{"run_id": run_id, "upload": None, "heartbeat_at": at}])


def status_of(instance, run_id: str) -> dg.DagsterRunStatus:
    return instance.get_run_by_id(run_id).status


def evaluate(instance, storage, tmdb=WITH_TOKEN):
    with dg.build_sensor_context(instance=instance, resources={"storage": storage, "tmdb": tmdb}) as context:
        return enrichment_sweep_sensor(context)


def skip_message(result: dg.SensorResult) -> str | None:
    """Why the tick skipped, or None when it did not."""
    return result.skip_reason.skip_message if result.skip_reason else None


def requested(result) -> list[str]:
    return sorted(r.partition_key for r in result.run_requests or [])


def requested_jobs(result) -> list[tuple[str, str]]:
    return sorted((r.job_name, r.partition_key) for r in result.run_requests or [])


def test_requests_one_run_for_the_upload_waiting_longest(instance, storage):
    add_matches(storage, "carol-cccccccccccc", ["pending"], at=datetime(2026, 1, 2, tzinfo=UTC))
    add_matches(storage, "alice-aaaaaaaaaaaa", ["found", "pending", "pending"], at=datetime(2026, 1, 3, tzinfo=UTC))
    add_matches(storage, "bob-bbbbbbbbbbbb", ["found", "not_found"], at=datetime(2026, 1, 1, tzinfo=UTC))
    result = evaluate(instance, storage)
    assert requested_jobs(result) == [("enrichment_sweep_job", "carol-cccccccccccc")]
    assert result.run_requests[0].tags["movie_pipeline/trigger"] == "sweep"


@pytest.mark.parametrize("job_name", ["enrichment_sweep_job", "upload_job", "tmdb_refresh_job"])
def test_skips_while_any_enrichment_run_is_in_flight(instance, storage, job_name):
    add_matches(storage, "alice-aaaaaaaaaaaa", ["pending"])
    run_id = add_run(instance, job_name, "bob-bbbbbbbbbbbb", dg.DagsterRunStatus.STARTING)
    result = evaluate(instance, storage)
    assert run_id in skip_message(result)


def test_finished_runs_do_not_hold_the_sweep_back(instance, storage):
    add_matches(storage, "alice-aaaaaaaaaaaa", ["pending"])
    add_run(instance, "enrichment_sweep_job", "alice-aaaaaaaaaaaa", dg.DagsterRunStatus.SUCCESS)
    add_run(
        instance,
        "upload_job",
        "alice-aaaaaaaaaaaa",
        dg.DagsterRunStatus.FAILURE,
        tags={"dagster/failure_reason": "STEP_FAILURE"},
    )
    assert requested(evaluate(instance, storage)) == ["alice-aaaaaaaaaaaa"]


def test_skips_when_nothing_is_pending(instance, storage):
    add_matches(storage, "alice-aaaaaaaaaaaa", ["found", "override", "not_found"])
    result = evaluate(instance, storage)
    assert "no upload with pending films" in skip_message(result)


def test_ignores_pending_rows_of_uploads_the_instance_does_not_know(instance, storage):
    add_matches(storage, "deleted-dddddddddddd", ["pending"])
    assert skip_message(evaluate(instance, storage))


def test_skips_with_the_reason_when_no_credentials_are_set(instance, storage):
    add_matches(storage, "alice-aaaaaaaaaaaa", ["pending"])
    result = evaluate(instance, storage, tmdb=TmdbResource(base_url="http://127.0.0.1:9/3"))
    assert "TMDB_API_KEY" in skip_message(result) and "TMDB_READ_ACCESS_TOKEN" in skip_message(result)


# --- dead runs and recovery -------------------------------------------------------------------


def test_a_run_whose_heartbeat_is_stale_is_marked_failed_and_the_sweep_goes_on(instance, storage):
    add_matches(storage, "alice-aaaaaaaaaaaa", ["pending"])
    dead = add_run(instance, "upload_job", "bob-bbbbbbbbbbbb")
    beat(storage, dead, datetime.now(UTC) - timedelta(minutes=2))
    result = evaluate(instance, storage)
    assert status_of(instance, dead) == dg.DagsterRunStatus.FAILURE
    # bob's chain died before its stats: it is re-run whole, ahead of alice's pending films.
    assert requested_jobs(result) == [("upload_job", "bob-bbbbbbbbbbbb")]
    assert result.run_requests[0].tags["movie_pipeline/trigger"] == "recovery"


def test_a_live_heartbeat_blocks_the_sweep(instance, storage):
    add_matches(storage, "alice-aaaaaaaaaaaa", ["pending"])
    alive = add_run(instance, "enrichment_sweep_job", "bob-bbbbbbbbbbbb")
    beat(storage, alive, datetime.now(UTC) - timedelta(seconds=5))
    result = evaluate(instance, storage)
    assert alive in skip_message(result)
    assert status_of(instance, alive) == dg.DagsterRunStatus.STARTED


def test_a_run_is_given_time_to_start_beating_then_judged_dead(instance, storage):
    starting = add_run(instance, "upload_job", "bob-bbbbbbbbbbbb", dg.DagsterRunStatus.STARTING)
    assert fail_dead_runs(instance, storage.engine()) == []
    later = datetime.now(UTC) + timedelta(minutes=3)
    assert [run.run_id for run in fail_dead_runs(instance, storage.engine(), now=later)] == [starting]
    assert status_of(instance, starting) == dg.DagsterRunStatus.FAILURE


def test_a_ui_run_that_includes_enriched_movies_blocks_the_sweep(instance, storage):
    add_matches(storage, "alice-aaaaaaaaaaaa", ["pending"])
    ui_run = add_run(instance, "__ASSET_JOB", "bob-bbbbbbbbbbbb", assets=["enriched_movies"])
    result = evaluate(instance, storage)
    assert ui_run in skip_message(result)


def test_a_ui_run_without_enriched_movies_does_not_count(instance, storage):
    add_matches(storage, "alice-aaaaaaaaaaaa", ["pending"])
    add_run(instance, "__ASSET_JOB", "bob-bbbbbbbbbbbb", assets=["raw_diary", "parsed_movies"])
    assert enriching_runs_in_flight(instance) == []
    assert requested(evaluate(instance, storage)) == ["alice-aaaaaaaaaaaa"]


def test_an_upload_without_movie_stats_whose_run_died_gets_an_upload_job(instance, storage):
    add_run(instance, "upload_job", "bob-bbbbbbbbbbbb", dg.DagsterRunStatus.FAILURE)
    assert requested_jobs(evaluate(instance, storage)) == [("upload_job", "bob-bbbbbbbbbbbb")]


def test_an_upload_with_movie_stats_whose_sweep_died_gets_enrichment_and_stats(instance, storage):
    instance.report_runless_asset_event(dg.AssetMaterialization("movie_stats", partition="bob-bbbbbbbbbbbb"))
    add_run(instance, "enrichment_sweep_job", "bob-bbbbbbbbbbbb", dg.DagsterRunStatus.FAILURE)
    assert requested_jobs(evaluate(instance, storage)) == [("enrichment_sweep_job", "bob-bbbbbbbbbbbb")]


def test_an_upload_whose_asset_failed_is_not_re_run(instance, storage):
    add_run(instance, "upload_job", "bob-bbbbbbbbbbbb", dg.DagsterRunStatus.FAILURE)
    add_run(
        instance,
        "upload_job",
        "bob-bbbbbbbbbbbb",
        dg.DagsterRunStatus.FAILURE,
        tags={"dagster/failure_reason": "STEP_FAILURE"},
    )
    assert skip_message(evaluate(instance, storage))


def test_an_upload_whose_runs_keep_dying_is_left_to_a_person(instance, storage):
    for _ in range(4):
        add_run(instance, "upload_job", "bob-bbbbbbbbbbbb", dg.DagsterRunStatus.FAILURE)
    assert skip_message(evaluate(instance, storage))


def test_a_run_dagster_is_about_to_retry_holds_the_sweep(instance, storage):
    add_matches(storage, "alice-aaaaaaaaaaaa", ["pending"])
    failed = add_run(
        instance, "upload_job", "bob-bbbbbbbbbbbb", dg.DagsterRunStatus.FAILURE, tags={"dagster/will_retry": "true"}
    )
    result = evaluate(instance, storage)
    assert failed in skip_message(result)


def test_a_run_beats_while_it_executes(instance, storage, data_dir):
    from movie_pipeline.assets.ingest import raw_diary

    (data_dir / "uploads" / "diary.csv").write_text("Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n")
    result = dg.materialize(
        [raw_diary],
        partition_key="alice-aaaaaaaaaaaa",
        instance=instance,
        resources={"storage": storage},
        raise_on_error=False,
    )
    with storage.engine().connect() as conn:
        beats = list(conn.execute(select(db.run_heartbeats.c.run_id, db.run_heartbeats.c.upload)))
    assert beats == [(result.run_id, "alice-aaaaaaaaaaaa")]

"""Runs of enrichment, read from the instance and the film database, so "no overlap" and "a dead run never blocks"
hold on a bare instance, without any dagster.yaml.

A run counts as enriching when its execution plan executes `enriched_movies`, whatever job launched it: upload_job,
the sweep, the refresh, or `__ASSET_JOB` from the UI or a backfill. A run is dead when its worker has stopped
beating in `run_heartbeats` (or never began to, long after it started): a killed process group leaves its run
STARTED for ever on an instance without run monitoring."""

from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy import select
from sqlalchemy.engine import Engine

from movie_pipeline import database as db
from movie_pipeline.assets.enrichment import enriched_movies
from movie_pipeline.jobs import ENRICHING_JOBS

ENRICHING_STEP = enriched_movies.op.name  # an asset's step key is its op's name
PARTITION_TAG = "dagster/partition"
# Set by Dagster's run retries (only when the instance enables them) on a failed run.
FAILURE_REASON_TAG = "dagster/failure_reason"
WILL_RETRY_TAG = "dagster/will_retry"
AUTO_RETRY_RUN_ID_TAG = "dagster/auto_retry_run_id"

IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
# Statuses in which a worker process should exist and beat; a QUEUED run rightly waits without one.
WORKER_EXPECTED = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]

HEARTBEAT_STALE_AFTER = timedelta(seconds=60)  # twelve missed beats: a busy SQLite may hold a beat back 30 s
START_UP_ALLOWANCE = timedelta(seconds=120)  # launch to first beat: process start and code load on a busy host
RETRY_GRACE = timedelta(seconds=120)  # how long a run marked to be retried holds its upload for the retry daemon
MAX_CONSECUTIVE_DEATHS = 4  # an upload whose runs keep dying (say, the OOM killer) is left to a person


# Execution plan snapshot id -> whether the plan executes enriched_movies. A snapshot never changes under its id,
# and every sweep tick asks about the same in-flight and recent runs: read each plan from the instance once.
_plan_enriches: dict[str, bool] = {}


def includes_enrichment(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Whether the run executes enriched_movies: its plan's steps, so retries of a subset are judged right."""
    snapshot_id = run.execution_plan_snapshot_id
    if snapshot_id is None:
        return run.job_name in ENRICHING_JOBS
    if snapshot_id not in _plan_enriches:
        plan = instance.get_execution_plan_snapshot(snapshot_id)
        _plan_enriches[snapshot_id] = ENRICHING_STEP in plan.step_keys_to_execute
    return _plan_enriches[snapshot_id]


def enriching_runs_in_flight(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Enriching runs in flight, and failed ones that Dagster's run retries are about to re-launch."""
    runs = [*instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT)), *runs_awaiting_retry(instance)]
    return [run for run in runs if includes_enrichment(instance, run)]


def runs_awaiting_retry(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    recently = datetime.now(UTC) - RETRY_GRACE
    failed = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.FAILURE], tags={WILL_RETRY_TAG: "true"}, updated_after=recently
        )
    )
    return [run for run in failed if AUTO_RETRY_RUN_ID_TAG not in run.tags]


def uploads_of(runs: list[dg.DagsterRun]) -> set[str]:
    return {run.tags[PARTITION_TAG] for run in runs if PARTITION_TAG in run.tags}


def fail_dead_runs(instance: dg.DagsterInstance, engine: Engine, now: datetime | None = None) -> list[dg.DagsterRun]:
    """Mark failed every enriching run whose worker is gone, so it stops holding enrichment back."""
    now = now or datetime.now(UTC)
    records = [
        record
        for record in instance.get_run_records(filters=dg.RunsFilter(statuses=WORKER_EXPECTED))
        if includes_enrichment(instance, record.dagster_run)
    ]
    beats = last_heartbeats(engine, [record.dagster_run.run_id for record in records])
    dead = []
    for record in records:
        silence = silent_for(record, beats.get(record.dagster_run.run_id), now)
        if silence is not None:
            instance.report_run_failed(
                record.dagster_run,
                f"movie_pipeline: the run's worker is gone ({silence}); marked failed so enrichment can go on",
            )
            dead.append(record.dagster_run)
    return dead


def silent_for(record: dg.RunRecord, heartbeat_at: datetime | None, now: datetime) -> str | None:
    """Why the run counts as dead, or None while it may still be alive."""
    if heartbeat_at is not None:
        silence = now - heartbeat_at
        return f"no heartbeat for {silence.total_seconds():.0f} s" if silence > HEARTBEAT_STALE_AFTER else None
    started = record.start_time or record.update_timestamp.timestamp()
    waited = now - datetime.fromtimestamp(started, UTC)
    return f"no heartbeat {waited.total_seconds():.0f} s after it started" if waited > START_UP_ALLOWANCE else None


def last_heartbeats(engine: Engine, run_ids: list[str]) -> dict[str, datetime]:
    beats = db.run_heartbeats.c
    with engine.connect() as conn:
        rows = conn.execute(select(beats.run_id, beats.heartbeat_at).where(beats.run_id.in_(run_ids)))
        # SQLite hands back naive datetimes; they were written in UTC.
        return {run_id: at if at.tzinfo else at.replace(tzinfo=UTC) for run_id, at in rows}


def uploads_left_by_dead_runs(instance: dg.DagsterInstance, known: set[str]) -> list[str]:
    """Uploads whose newest enriching run died (its process, not one of its assets, failed), oldest death first.

    A run whose asset failed (a bad upload) is not re-run: that would fail the same way for ever."""
    failed = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]), limit=50)
    candidates = {run.tags[PARTITION_TAG]: run for run in failed if died(run) and run.tags.get(PARTITION_TAG) in known}
    stranded = []
    for upload in reversed(list(candidates)):
        history = [
            run
            for run in instance.get_runs(
                filters=dg.RunsFilter(tags={PARTITION_TAG: upload}), limit=MAX_CONSECUTIVE_DEATHS + 2
            )
            if includes_enrichment(instance, run)
        ]
        deaths = next((i for i, run in enumerate(history) if not died(run)), len(history))
        if 0 < deaths < MAX_CONSECUTIVE_DEATHS:
            stranded.append(upload)
    return stranded


def died(run: dg.DagsterRun) -> bool:
    return run.status == dg.DagsterRunStatus.FAILURE and run.tags.get(FAILURE_REASON_TAG) != "STEP_FAILURE"

"""Runs in flight, read from the instance itself so "no overlap" holds without any dagster.yaml limits."""

import dagster as dg

from movie_pipeline.jobs import ENRICHING_JOBS

IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def enriching_runs_in_flight(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT))
    return [run for run in runs if run.job_name in ENRICHING_JOBS]


def uploads_of(runs: list[dg.DagsterRun]) -> set[str]:
    return {run.tags["dagster/partition"] for run in runs if "dagster/partition" in run.tags}

"""The production topology of deploy/, end to end: a code server of its own, dagster-webserver and dagster-daemon
as separate processes through deploy/workspace.yaml, Dagster's storage and the film database in PostgreSQL, runs
queued under deploy/dagster.yaml's limits. Three exports dropped at once while the stand-in injects 5xx (20% 500
and 10% 503, test_load's plan: at 5% every request succeeds within its 5 attempts, no film is left pending and no
sweep would run) all complete, no two enriching runs of one upload overlap, and the rate at the
stand-in stays within the cap."""

import pytest

from movie_pipeline_tests.test_load import THREE_UPLOADS
from movie_pipeline_tests.topology_support import dagster_storage_url, run_topology_load

pytestmark = [pytest.mark.postgres, pytest.mark.e2e, pytest.mark.timeout(600)]


def test_three_uploads_complete_on_the_production_topology(tmp_path, new_postgres_database, monkeypatch):
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", dagster_storage_url(new_postgres_database()))
    monkeypatch.setenv("MOVIE_PIPELINE_DATABASE_URL", new_postgres_database())
    figures = run_topology_load(tmp_path, THREE_UPLOADS, timeout_s=420).figures
    print(figures.table())
    assert figures.problems() == [], figures.table()

"""MOVIE_PIPELINE_EXECUTOR=celery: the jobs' Celery executor and its workers are configured from deploy/celery.yaml
through Dagster's own config validation, and a real deployment runs every step in a Celery worker."""

import dagster as dg
import pytest
from dagster_celery.cli import get_validated_config

from movie_pipeline.definitions import build_executor, defs
from movie_pipeline.settings import CELERY_CONFIG_PATH, UnknownExecutor, load_settings
from movie_pipeline_tests.load_run import LoadPlan
from movie_pipeline_tests.topology_support import CELERY_WORKERS, dagster_storage_url, run_topology_load

# Two uploads enriching at once, one per worker, each pressing on the cap alone; no faults, so no sweeps: the
# shared budget is what is under test, and each Celery step pays ~2 s to rebuild the job in its worker.
TWO_UPLOADS = LoadPlan(exports=2, films_per_export=110, shared_pool=30, shared_per_export=12, fault_rates={})
BROKER, BACKEND = "redis://broker.example:6379/0", "redis://broker.example:6379/1"


@pytest.fixture
def celery_environment(monkeypatch):
    monkeypatch.setenv("MOVIE_PIPELINE_CELERY_BROKER", BROKER)
    monkeypatch.setenv("MOVIE_PIPELINE_CELERY_BACKEND", BACKEND)


def celery_definitions() -> dg.Definitions:
    """The code location as MOVIE_PIPELINE_EXECUTOR=celery wires it: the same assets, jobs and resources."""
    executor = build_executor(load_settings({"MOVIE_PIPELINE_EXECUTOR": "celery"}))
    return dg.Definitions(
        assets=defs.assets, asset_checks=defs.asset_checks, jobs=defs.jobs, resources=defs.resources, executor=executor
    )


def test_runs_execute_in_process_unless_the_deployment_chooses_celery():
    assert load_settings({}).executor == "in_process"
    assert load_settings({"MOVIE_PIPELINE_EXECUTOR": "celery"}).executor == "celery"
    with pytest.raises(UnknownExecutor, match="MOVIE_PIPELINE_EXECUTOR='k8s': expected one of in_process, celery"):
        load_settings({"MOVIE_PIPELINE_EXECUTOR": "k8s"})


def test_the_upload_job_validates_with_the_broker_and_backend_from_the_environment(celery_environment):
    job = celery_definitions().resolve_job_def("upload_job")
    assert job.executor_def.name == "celery"
    execution = dg.validate_run_config(job)["execution"]["celery"]
    assert (execution["broker"], execution["backend"]) == (BROKER, BACKEND)


def test_a_run_without_the_broker_variable_fails_validation_naming_it(celery_environment, monkeypatch):
    monkeypatch.delenv("MOVIE_PIPELINE_CELERY_BROKER")
    job = celery_definitions().resolve_job_def("upload_job")
    with pytest.raises(dg.DagsterInvalidConfigError, match="MOVIE_PIPELINE_CELERY_BROKER"):
        dg.validate_run_config(job)


def test_workers_started_from_the_same_file_listen_on_the_executors_broker(celery_environment):
    worker_config = get_validated_config(str(CELERY_CONFIG_PATH))  # what `dagster-celery worker start -y` reads
    assert (worker_config["broker"], worker_config["backend"]) == (BROKER, BACKEND)


@pytest.mark.postgres
@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_on_celery_every_step_runs_in_a_worker_both_workers_work_and_the_tmdb_budget_holds(
    tmp_path, new_postgres_database, monkeypatch
):
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", dagster_storage_url(new_postgres_database()))
    monkeypatch.setenv("MOVIE_PIPELINE_DATABASE_URL", new_postgres_database())
    run = run_topology_load(tmp_path, TWO_UPLOADS, timeout_s=420, celery=True)
    print(run.figures.table())
    assert run.figures.problems() == [], run.figures.table()
    assert run.placements, "no step events"
    for step in run.placements:
        assert step.pid != step.run_worker_pid, step
        assert step.celery_worker is not None and step.worker_process == step.celery_worker, step
    assert {step.celery_worker for step in run.placements} == set(CELERY_WORKERS)
    # Two enrichments at once, one per worker process: the cap held across processes, not just within one.
    assert run.peak_enrichments == 2, run.peak_enrichments

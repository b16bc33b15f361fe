"""deploy/dagster.yaml really gives a PostgreSQL-backed instance that runs the pipeline, and both it and the
instance `make dev` writes turn on Dagster's recovery: run monitoring, run retries, freed pool slots."""

import shutil

import dagster as dg
import pytest
from sqlalchemy.engine import make_url

from movie_pipeline.assets.ingest import parsed_movies, raw_diary
from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.launch import bring_instance_config_up_to_date, default_dagster_home
from movie_pipeline.letterboxd.uploads import upload_key
from movie_pipeline.settings import REPO_ROOT
from movie_pipeline_tests.conftest import LETTERBOXD


def assert_recovers_dead_runs(instance: dg.DagsterInstance) -> None:
    assert instance.run_monitoring_enabled and instance.run_monitoring_poll_interval_seconds <= 10
    assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0
    assert instance.run_retries_enabled and instance.run_retries_max_retries > 0
    assert instance.run_retries_retry_on_asset_or_op_failure is False


@pytest.fixture
def dagster_postgres_url(postgres_url, monkeypatch):
    url = make_url(postgres_url).set(drivername="postgresql+psycopg2")  # the driver dagster-postgres uses
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", url.render_as_string(hide_password=False))


@pytest.mark.postgres
def test_the_deploy_instance_stores_runs_in_postgres(dagster_postgres_url, tmp_path, storage, data_dir):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    upload = shutil.copyfile(LETTERBOXD / "melvincarvalho" / "diary.csv", data_dir / "uploads" / "diary.csv")
    key = upload_key(upload)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 2
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 4
        assert_recovers_dead_runs(instance)
        instance.add_dynamic_partitions(uploads_partitions.name, [key])
        result = dg.materialize(
            [raw_diary, parsed_movies], partition_key=key, instance=instance, resources={"storage": storage}
        )
        assert result.success
        assert instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.SUCCESS


def test_the_launcher_writes_a_new_local_instance_that_recovers_dead_runs(tmp_path):
    bring_instance_config_up_to_date(tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert_recovers_dead_runs(instance)
        assert not instance.telemetry_enabled


def test_the_launcher_brings_an_existing_local_instance_up_to_date_keeping_the_operators_settings(tmp_path):
    (tmp_path / "dagster.yaml").write_text(
        "telemetry:\n  enabled: true\nrun_monitoring:\n  max_runtime_seconds: 7200\n"
        "concurrency:\n  runs:\n    max_concurrent_runs: 3\n"
    )
    bring_instance_config_up_to_date(tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert_recovers_dead_runs(instance)
        assert instance.telemetry_enabled
        assert instance.run_monitoring_max_runtime_seconds == 7200
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 3


def test_the_launchers_local_instance_dequeues_every_second_and_ticks_sensors_on_threads(tmp_path):
    bring_instance_config_up_to_date(tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        assert instance.run_coordinator.dequeue_interval_seconds == 1
        assert instance.get_settings("sensors")["use_threads"] is True


def test_the_launcher_keeps_a_local_instances_own_run_coordinator(tmp_path):
    (tmp_path / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: DefaultRunCoordinator\n"
    )
    bring_instance_config_up_to_date(tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert not isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        assert_recovers_dead_runs(instance)


def test_the_launcher_leaves_an_operators_dagster_home_alone(tmp_path, monkeypatch):
    operator_config = "telemetry:\n  enabled: true\n"
    (tmp_path / "dagster.yaml").write_text(operator_config)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    assert default_dagster_home() == tmp_path
    assert (tmp_path / "dagster.yaml").read_text() == operator_config

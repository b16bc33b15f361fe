"""deploy/dagster.yaml really gives a PostgreSQL-backed instance that runs the pipeline."""

import shutil
import uuid

import dagster as dg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from movie_pipeline.assets.ingest import parsed_movies, raw_diary
from movie_pipeline.letterboxd.uploads import upload_key
from movie_pipeline.settings import REPO_ROOT
from movie_pipeline_tests.conftest import LETTERBOXD

pytestmark = pytest.mark.postgres


@pytest.fixture
def dagster_postgres_url(postgres_url, monkeypatch):
    url = make_url(postgres_url)
    name = f"dagster_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", url.set(drivername="postgresql+psycopg2", database=name).render_as_string(hide_password=False))
    yield
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_the_deploy_instance_stores_runs_in_postgres(dagster_postgres_url, tmp_path, storage, data_dir):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    upload = shutil.copyfile(LETTERBOXD / "melvincarvalho" / "diary.csv", data_dir / "uploads" / "diary.csv")
    key = upload_key(upload)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 4
        instance.add_dynamic_partitions("uploads", [key])
        result = dg.materialize([raw_diary, parsed_movies], partition_key=key, instance=instance, resources={"storage": storage})
        assert result.success
        assert instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.SUCCESS

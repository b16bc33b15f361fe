"""The film database engine's lifetime: one per run, disposed at teardown; one per URL for all sensor ticks."""

import threading

import dagster as dg
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from movie_pipeline.resources import PipelineStorage
from movie_pipeline.resources.storage import shared_engine


def heartbeat_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("heartbeat-")]


def test_a_run_gets_its_own_engine_beats_on_it_and_disposes_of_it_at_teardown(storage):
    during: dict = {}

    @dg.asset
    def engine_probe(storage: PipelineStorage) -> None:
        engine = storage.engine()
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        assert isinstance(engine.pool, QueuePool)  # SQLAlchemy's pool for a file database, which counts checkins
        during.update(engine=engine, pool=engine.pool, pooled=engine.pool.checkedin(), beating=heartbeat_threads())

    with dg.instance_for_test() as instance:
        result = dg.materialize([engine_probe], instance=instance, resources={"storage": storage})

    assert during["engine"] is not storage.engine() is shared_engine(storage.database_url)
    assert during["pooled"] >= 1 and during["beating"] == [f"heartbeat-{result.run_id[:8]}"]
    # Disposed: the pool the run used is closed and replaced, and the beat has stopped.
    assert during["pool"].checkedin() == 0 and during["engine"].pool is not during["pool"]
    assert heartbeat_threads() == []


def test_sensor_ticks_building_the_resource_anew_share_one_engine_per_url_and_keep_it(data_dir):
    url = f"sqlite:///{data_dir / 'ticks.db'}"
    engines = []

    @dg.sensor(name="engine_probe_sensor")
    def engine_probe_sensor(context: dg.SensorEvaluationContext, storage: PipelineStorage) -> dg.SensorResult:
        with storage.engine().connect() as conn:
            conn.execute(text("select 1"))
        engines.append(storage.engine())
        return dg.SensorResult(skip_reason="probe")

    for _ in range(2):
        with dg.build_sensor_context(
            resources={"storage": PipelineStorage(data_dir=str(data_dir), database_url=url)}
        ) as context:
            engine_probe_sensor(context)

    assert engines[0] is engines[1] is shared_engine(url)
    assert engines[0].pool.checkedin() >= 1  # not disposed after a tick
    assert heartbeat_threads() == []  # only runs beat


def test_a_database_url_from_the_environment_is_wired_by_variable_name_not_value(data_dir):
    url = "postgresql+psycopg://pipeline:s3cret-password@db.internal/films"
    storage = PipelineStorage.from_env({"MOVIE_PIPELINE_DATA_DIR": str(data_dir), "MOVIE_PIPELINE_DATABASE_URL": url})
    assert storage.database_url == dg.EnvVar("MOVIE_PIPELINE_DATABASE_URL")
    assert "s3cret-password" not in repr(storage)


def test_without_a_database_url_the_film_database_is_sqlite_in_the_data_folder(data_dir):
    storage = PipelineStorage.from_env({"MOVIE_PIPELINE_DATA_DIR": str(data_dir)})
    assert storage.database_url == f"sqlite:///{data_dir / 'movie_pipeline.db'}"
    assert storage.data_dir == str(data_dir)

"""The data folder and the film database, as one resource; while a run executes, it beats in `run_heartbeats`."""

import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from movie_pipeline import database as db
from movie_pipeline.database import make_engine
from movie_pipeline.settings import PipelineSettings, load_settings

HEARTBEAT_EVERY_S = 5.0
HEARTBEATS_KEPT = timedelta(days=7)  # a finished run's last beat is kept a while, then pruned


@cache
def shared_engine(url: str) -> Engine:
    """The process's engine on `url` outside a run, kept until the process exits: sensor and schedule ticks
    build their resources anew on every tick, and must not pay for a new pool (and migration check) each time."""
    return make_engine(url)


class RunHeartbeat:
    """A daemon thread that upserts (run_id, upload, now) every few seconds, from start() until stop().

    The last beat stays after the run ends: deleting it would make a run that is finishing look like one that
    never beat. A beat that fails (a locked SQLite) is skipped; the next one tries again."""

    def __init__(self, engine: Engine, run: dg.DagsterRun):
        self._engine = engine
        self._row = {"run_id": run.run_id, "upload": run.tags.get("dagster/partition")}
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._beat_until_stopped, name=f"heartbeat-{run.run_id[:8]}", daemon=True
        )

    def start(self) -> None:
        self.beat()  # the first beat before any step runs, so the run is never judged by its start time alone
        self._prune()
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()  # a beat in progress finishes before the engine under it is disposed

    def beat(self) -> None:
        now = datetime.now(UTC)
        try:
            with self._engine.begin() as conn:
                db.upsert(conn, db.run_heartbeats, [{**self._row, "heartbeat_at": now}])
        except SQLAlchemyError:
            pass

    def _prune(self) -> None:
        """Once per run, not every beat: old rows only grow by one per run."""
        cutoff = datetime.now(UTC) - HEARTBEATS_KEPT
        try:
            with self._engine.begin() as conn:
                conn.execute(delete(db.run_heartbeats).where(db.run_heartbeats.c.heartbeat_at < cutoff))
        except SQLAlchemyError:
            pass

    def _beat_until_stopped(self) -> None:
        while not self._stopped.wait(HEARTBEAT_EVERY_S):
            self.beat()


class PipelineStorage(dg.ConfigurableResource):
    """Where uploads, overrides and reports live, and the SQLAlchemy URL of the film database.

    The engine's lifetime: a run makes its own engine in setup_for_execution, beats on it while it executes,
    and stops the beat and disposes of the engine in teardown_after_execution, so one engine per run process,
    closed when the run ends. Outside a run (sensor and schedule ticks, which build this resource on every
    tick, and code using the resource directly) the engine is `shared_engine`: one per URL per process, so one
    per daemon or code-server process, living as long as that process."""

    data_dir: str
    database_url: str
    _run_engine: Engine | None = PrivateAttr(default=None)
    _heartbeat: RunHeartbeat | None = PrivateAttr(default=None)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "PipelineStorage":
        """The resource for the MOVIE_PIPELINE_* environment variables, as settings.py reads them."""
        settings = load_settings(environ)
        # A Postgres URL may carry a password: one from the environment is passed by reference, like the TMDB
        # credentials, so it never lands in run config.
        variable = settings.database_url_variable
        return cls(
            data_dir=str(settings.data_dir), database_url=dg.EnvVar(variable) if variable else settings.database_url
        )

    @property
    def settings(self) -> PipelineSettings:
        return PipelineSettings(data_dir=Path(self.data_dir), database_url=self.database_url)

    def engine(self) -> Engine:
        return self._run_engine if self._run_engine is not None else shared_engine(self.database_url)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if context.run is None:
            return  # a sensor or schedule tick: the shared engine serves it
        self._run_engine = make_engine(self.database_url)
        self._heartbeat = RunHeartbeat(self._run_engine, context.run)
        self._heartbeat.start()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
        if self._run_engine is not None:
            self._run_engine.dispose()

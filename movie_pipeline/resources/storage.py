"""The data folder and the film database, as one resource; while a run executes, it beats in `run_heartbeats`."""

import threading
import time
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import dagster as dg
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from movie_pipeline import database as db
from movie_pipeline.database import make_engine
from movie_pipeline.settings import PipelineSettings

HEARTBEAT_EVERY_S = 5.0
HEARTBEATS_KEPT = timedelta(days=7)  # a finished run's last beat is kept a while, then pruned


@cache
def _engine_for(url: str) -> Engine:
    # One engine (and pool) per process and URL: sensors tick often and must not re-create the schema each time.
    return make_engine(url)


class RunHeartbeat:
    """A daemon thread that upserts (run_id, upload, now) every few seconds until the run is finished.

    It asks the instance rather than waiting for a teardown, so the resource needs no context manager (sensors
    build it bare). The last beat stays after the run ends: deleting it would make a run that is finishing look
    like one that never beat. A beat that fails (a locked SQLite) is skipped; the next one tries again."""

    def __init__(self, engine: Engine, instance: dg.DagsterInstance, run: dg.DagsterRun):
        self._engine = engine
        self._instance = instance
        self._row = {"run_id": run.run_id, "upload": run.tags.get("dagster/partition")}
        self._thread = threading.Thread(target=self._beat_while_running, name=f"heartbeat-{run.run_id[:8]}", daemon=True)

    def start(self) -> None:
        self.beat()  # the first beat before any step runs, so the run is never judged by its start time alone
        self._thread.start()

    def beat(self) -> None:
        now = datetime.now(timezone.utc)
        try:
            with self._engine.begin() as conn:
                db.upsert(conn, db.run_heartbeats, [{**self._row, "heartbeat_at": now}])
                conn.execute(delete(db.run_heartbeats).where(db.run_heartbeats.c.heartbeat_at < now - HEARTBEATS_KEPT))
        except SQLAlchemyError:
            pass

    def _beat_while_running(self) -> None:
        while True:
            time.sleep(HEARTBEAT_EVERY_S)
            try:
                run = self._instance.get_run_by_id(self._row["run_id"])
            except SQLAlchemyError:
                return  # the instance is gone, as a test's temporary one is after an in-process run
            if run is None or run.is_finished:
                return
            self.beat()


class PipelineStorage(dg.ConfigurableResource):
    """Where uploads, overrides and reports live, and the SQLAlchemy URL of the film database."""

    data_dir: str
    database_url: str

    @property
    def settings(self) -> PipelineSettings:
        return PipelineSettings(data_dir=Path(self.data_dir), database_url=self.database_url)

    def engine(self) -> Engine:
        return _engine_for(self.database_url)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Only a run beats; sensors and schedules build this resource too, without a run.
        if context.run is not None:
            RunHeartbeat(self.engine(), context.instance, context.run).start()

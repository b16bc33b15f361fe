"""A file drop against a real `dagster dev` (webserver + daemon), on loopback, with the TMDB stand-in."""

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from movie_pipeline import database as db
from movie_pipeline.assets.stats import ALL_UPLOADS
from movie_pipeline.settings import REPO_ROOT
from movie_pipeline.tmdb.standin import StandinOptions, StandinThread
from movie_pipeline_tests.conftest import LETTERBOXD

pytestmark = pytest.mark.e2e
TOKEN = "end-to-end-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DagsterDev:
    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_port()
        self.log = log_path.open("wb")
        dagster = Path(sys.executable).parent / "dagster"
        self.process = subprocess.Popen(
            [str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=REPO_ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def graphql(self, query: str) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql",
            data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)["data"]

    def wait_until_up(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "dagster dev exited early"
            try:
                if self.graphql("{ version }")["version"]:
                    return
            except OSError:
                time.sleep(1)
        raise AssertionError("dagster dev did not answer in time")

    def stop(self) -> None:
        # dagster dev spawns the webserver, the daemon and code servers: end the whole process group.
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


RUNS = "{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }"
SWEEP_TICKS = """{ sensorOrError(sensorSelector: {repositoryName: "__repository__",
  repositoryLocationName: "movie_pipeline", sensorName: "enrichment_sweep_sensor"}) {
  ... on Sensor { sensorState { ticks(limit: 20) { timestamp status skipReason } } } } }"""


def distinct_films(export: Path) -> int:
    pairs = set()
    for name in ("diary.csv", "watched.csv", "ratings.csv", "reviews.csv"):
        with (export / name).open(encoding="utf-8", newline="") as stream:
            pairs |= {(row["Name"], row["Year"]) for row in csv.DictReader(stream)}
    return len(pairs)


def partition_of(run: dict) -> str:
    return {t["key"]: t["value"] for t in run["tags"]}["dagster/partition"]


def failure_messages(dev: DagsterDev, run_id: str) -> str:
    query = f"""{{ logsForRun(runId: "{run_id}") {{ ... on EventConnection {{ events {{
        ... on ExecutionStepFailureEvent {{ message failureMetadata {{ description }} }} }} }} }} }}"""
    events = dev.graphql(query)["logsForRun"]["events"]
    return "\n".join(f"{e.get('message')} {(e.get('failureMetadata') or {}).get('description')}" for e in events if e)


def all_uploads_entries(engine) -> int | None:
    stats = db.movie_stats.c
    query = select(stats.count).where(
        stats.upload == ALL_UPLOADS, stats.period == "all", stats.section == "headline", stats.item == "entries"
    )
    with engine.connect() as conn:
        return conn.scalar(query)


def wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_dropped_export_runs_the_whole_chain(tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "uploads").mkdir(parents=True)
    home = tmp_path / "dagster_home"
    home.mkdir()
    with StandinThread(StandinOptions(accepted_credentials=frozenset({TOKEN}))) as standin:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "MOVIE_PIPELINE_DATA_DIR": str(data_dir),
            "TMDB_BASE_URL": standin.base_url,
            "TMDB_READ_ACCESS_TOKEN": TOKEN,
            "TMDB_MAX_RATE": "200",
        }
        env.pop("MOVIE_PIPELINE_DATABASE_URL", None)
        dev = DagsterDev(env, tmp_path / "dagster_dev.log")
        try:
            dev.wait_until_up()
            shutil.copytree(LETTERBOXD / "melvincarvalho", data_dir / "uploads" / "melvincarvalho")
            (data_dir / "uploads" / "broken.zip").write_bytes(b"PK\x03\x04 half a zip")

            def finished_upload_runs():
                runs = {
                    partition_of(r): r for r in dev.graphql(RUNS)["runsOrError"]["results"] if r["jobName"] == "upload_job"
                }
                done = len(runs) == 2 and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs.values())
                return runs if done else None

            runs_by_upload = wait_for(finished_upload_runs, 240, "both upload runs to finish")
            partition = next(key for key in runs_by_upload if key.startswith("melvincarvalho-"))
            broken = next(key for key in runs_by_upload if key.startswith("broken-"))
            assert runs_by_upload[partition]["status"] == "SUCCESS", (tmp_path / "dagster_dev.log").read_text()[-5000:]
            # The bad upload fails its own run, with a message naming the file, and stops nothing else.
            assert runs_by_upload[broken]["status"] == "FAILURE"
            assert "broken.zip" in failure_messages(dev, runs_by_upload[broken]["runId"])

            # Meanwhile the sweep sensor ticks (>= 10 s apart, never overlapping runs), and the automation sensor
            # brings all_uploads_stats up to date.
            engine = create_engine(f"sqlite:///{data_dir / 'movie_pipeline.db'}")
            wait_for(lambda: all_uploads_entries(engine), 150, "all_uploads_stats to materialize")
            ticks = dev.graphql(SWEEP_TICKS)["sensorOrError"]["sensorState"]["ticks"]
            runs = dev.graphql(RUNS)["runsOrError"]["results"]
        finally:
            dev.stop()

    with engine.connect() as conn:
        films = conn.scalar(select(func.count()).select_from(db.films).where(db.films.c.upload == partition))
        matched = conn.scalar(select(func.count()).select_from(db.film_matches).where(db.film_matches.c.upload == partition))
        entries = conn.scalar(select(func.count()).select_from(db.entries).where(db.entries.c.upload == partition))
    assert (entries, films, matched) == (59, *[distinct_films(LETTERBOXD / "melvincarvalho")] * 2)
    assert all_uploads_entries(engine) == entries
    assert (data_dir / "reports" / partition / "index.html").is_file()

    timestamps = sorted(t["timestamp"] for t in ticks)
    assert len(timestamps) >= 2
    assert all(later - earlier >= 9.5 for earlier, later in zip(timestamps, timestamps[1:]))
    in_flight_together = [r for r in runs if r["status"] in ("STARTED", "STARTING", "QUEUED")]
    assert len(in_flight_together) <= 1

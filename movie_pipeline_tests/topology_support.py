"""deploy/'s production topology on one machine, minus the containers, and a load run against it.

The code location is served by its own `dagster code-server start`; dagster-webserver and dagster-daemon are
separate processes that reach it through deploy/workspace.yaml; the instance is deploy/dagster.yaml (runs, events
and schedules in PostgreSQL, runs queued under its limits); the film database is PostgreSQL too. With Celery, a
redis-server and two `dagster-celery worker start` processes join, and every step is a Celery task.

Every process is started into one process group, so teardown reaches each of them and every child they spawned
(run workers, Celery pool processes), on failure too. Shared by test_topology.py and test_celery.py."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster_celery.make_app import make_app
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine

from movie_pipeline import database as db
from movie_pipeline.letterboxd.uploads import upload_key
from movie_pipeline.settings import CELERY_CONFIG_PATH, REPO_ROOT
from movie_pipeline.tmdb.standin import StandinProcess
from movie_pipeline_tests.dagster_dev import free_port, group_members, wait_for
from movie_pipeline_tests.load_run import (
    IN_FLIGHT,
    RATE_CAP,
    RUN_TIMES,
    TOKEN,
    LoadFigures,
    LoadPlan,
    PeakMemory,
    completed_uploads,
    measure,
    pending_films,
    plan_exports,
    write_export,
)

BIN = Path(sys.executable).parent
WORKSPACE = REPO_ROOT / "deploy" / "workspace.yaml"
LOCATION = "movie_pipeline"
EventType = dg.DagsterEventType
# As in load_run: TMDB's clock is on other machines, so the deployment's load on 2 shared cores must not delay the
# stand-in's event loop and bunch the arrivals it stamps (un-niced, one Celery run measured 42/s with 2 429s).
NICENESS = 10
CELERY_WORKERS = ("alpha", "beta")
READY_DAEMONS = {"SENSOR", "QUEUED_RUN_COORDINATOR"}  # what a drop needs: its sensor and the run queue
INSTANCE = """{ instance { runQueuingSupported runQueueConfig { maxConcurrentRuns }
  daemonHealth { allDaemonStatuses { daemonType healthy } } } }"""
LOCATIONS = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  displayMetadata { key value } locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


class ProcessGroup:
    """Processes started into one process group: the first one leads it, the others join."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.pgid = 0  # 0: the next process starts a new group
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        with (self.log_dir / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
            process = subprocess.Popen(
                ["nice", "-n", str(NICENESS), *command],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=self.pgid,
            )
        self.pgid = self.pgid or process.pid
        self.processes[name] = process
        return process

    def assert_running(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, f"{name} exited with {process.returncode}: see {self.log_dir / name}.log"

    def stop(self) -> None:
        """SIGTERM to every member, SIGKILL to what is left after 30 s, then wait until none is left."""
        if not self.pgid:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while group_members(self.pgid) and time.monotonic() < deadline:
                time.sleep(0.5)
            os.killpg(self.pgid, signal.SIGKILL)
        for process in self.processes.values():
            process.wait(timeout=30)
        wait_for(lambda: not group_members(self.pgid), 30, "every process of the topology to be gone", every_s=0.5)


@dataclass
class Topology:
    group: ProcessGroup
    webserver_port: int
    code_server_port: int

    def graphql(self, query: str) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.webserver_port}/graphql",
            data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)["data"]

    def answers(self, query: str) -> dict | None:
        self.group.assert_running()
        try:
            return self.graphql(query)
        except OSError:
            return None  # not listening yet

    def location(self) -> dict | None:
        entries = (self.answers(LOCATIONS) or {}).get("workspaceOrError", {}).get("locationEntries", [])
        return next((entry for entry in entries if entry["name"] == LOCATION and entry["loadStatus"] == "LOADED"), None)

    def healthy_daemons(self) -> set[str]:
        statuses = ((self.answers(INSTANCE) or {}).get("instance") or {}).get("daemonHealth", {})
        return {status["daemonType"] for status in statuses.get("allDaemonStatuses", []) if status["healthy"]}


@contextlib.contextmanager
def running_topology(work_dir: Path, env: dict[str, str], celery: bool) -> Iterator[Topology]:
    """Start the topology (with Redis and two Celery workers of one pool process each when `celery`), wait until
    every part serves, and stop it all on leaving."""
    (work_dir / "logs").mkdir()
    group = ProcessGroup(work_dir / "logs")
    topology = Topology(group, webserver_port=free_port(), code_server_port=free_port())
    env = {
        **env,
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",  # dagster-celery starts `celery` by name
        "MOVIE_PIPELINE_CODE_SERVER_HOST": "127.0.0.1",
        "MOVIE_PIPELINE_CODE_SERVER_PORT": str(topology.code_server_port),
    }
    # Dagster's schema first, as a deployment's migration job does: processes starting together on an empty
    # database race to create it (two Celery workers did: "type secondary_indexes already exists").
    subprocess.run([str(BIN / "dagster"), "instance", "migrate"], env=env, check=True, capture_output=True)
    try:
        redis = start_celery(group, env, work_dir) if celery else None
        if redis is not None:
            env = {**env, **celery_environment(redis)}
            for name in CELERY_WORKERS:  # while the code server loads, not after: both take seconds
                worker = [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-n", name]
                group.start(f"celery-{name}", [*worker, "-y", str(CELERY_CONFIG_PATH), "--", "--concurrency=1"], env)
        group.start("code-server", code_server_command(topology.code_server_port), env)
        wait_for(lambda: code_server_serves(group, topology.code_server_port), 120, "the code server", every_s=1)
        webserver = [str(BIN / "dagster-webserver"), "-w", str(WORKSPACE), "-h", "127.0.0.1"]
        group.start("webserver", [*webserver, "-p", str(topology.webserver_port)], env)
        group.start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(WORKSPACE)], env)
        wait_for(topology.location, 120, "the webserver to load the code location", every_s=1)
        wait_for(lambda: topology.healthy_daemons() >= READY_DAEMONS, 120, "the daemon's sensor and run queue")
        if redis is not None:
            wait_for(lambda: celery_workers_answering(group, redis) == set(CELERY_WORKERS), 120, "both workers")
        yield topology
    finally:
        group.stop()


def code_server_command(port: int) -> list[str]:
    server = [str(BIN / "dagster"), "code-server", "start", "-m", "movie_pipeline.definitions"]
    return [*server, "-h", "127.0.0.1", "-p", str(port), "--location-name", LOCATION]


def code_server_serves(group: ProcessGroup, port: int) -> bool:
    """Dagster's own probe (the one a Kubernetes readiness check runs): true once the code location is loaded."""
    group.assert_running()
    probe = [str(BIN / "dagster"), "api", "grpc-health-check", "-h", "127.0.0.1", "-p", str(port)]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def start_celery(group: ProcessGroup, env: dict[str, str], work_dir: Path) -> str:
    """Debian's redis-server on a free port, with nothing persisted; returns its URL."""
    redis_port, redis_dir = free_port(), work_dir / "redis"
    redis_dir.mkdir()
    redis = ["/usr/bin/redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--dir", str(redis_dir)]
    group.start("redis", [*redis, "--save", "", "--appendonly", "no"], env)
    return f"redis://127.0.0.1:{redis_port}"


def celery_environment(redis: str) -> dict[str, str]:
    """Every step a Celery task: broker and result backend in two databases of one Redis."""
    return {
        "MOVIE_PIPELINE_EXECUTOR": "celery",
        "MOVIE_PIPELINE_CELERY_BROKER": f"{redis}/0",
        "MOVIE_PIPELINE_CELERY_BACKEND": f"{redis}/1",
    }


def celery_workers_answering(group: ProcessGroup, redis: str) -> set[str]:
    group.assert_running()
    replies = make_app({"broker": celery_environment(redis)["MOVIE_PIPELINE_CELERY_BROKER"]}).control.ping(timeout=1)
    return {node.partition("@")[0] for reply in replies for node in reply}


@dataclass(frozen=True)
class StepPlacement:
    """Where one step of a run executed, by the run's own event log and by the process tree."""

    run_id: str
    step_key: str
    pid: int  # of the step's STEP_START event
    run_worker_pid: int | None  # of the run's RUN_START event
    celery_worker: str | None  # named by the celery executor's "Executing steps ... in celery worker" event
    worker_process: str | None  # the worker whose process tree held `pid` while the topology ran


@dataclass(frozen=True)
class TopologyRun:
    figures: LoadFigures
    placements: list[StepPlacement]  # empty without Celery
    peak_enrichments: int  # the most enriched_movies steps running at one time


def dagster_storage_url(postgres_url: str) -> str:
    """A film database URL as deploy/dagster.yaml wants it: dagster-postgres connects with psycopg2."""
    return postgres_url.replace("postgresql+psycopg://", "postgresql+psycopg2://", 1)


def run_topology_load(work_dir: Path, plan: LoadPlan, timeout_s: float, celery: bool = False) -> TopologyRun:
    """Drop the plan's exports at once into the topology and measure until every upload is complete.

    DAGSTER_POSTGRES_URL (Dagster's storage) and MOVIE_PIPELINE_DATABASE_URL (the film database) come from the
    environment, as an operator sets them."""
    exports = plan_exports(plan)
    staging, data_dir, home = work_dir / "staging", work_dir / "data", work_dir / "dagster_home"
    for folder in (staging, data_dir / "uploads", home):
        folder.mkdir(parents=True)
    shutil.copyfile(REPO_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    for name, entries in exports.items():
        write_export(staging / name, entries)
    keys = {upload_key(staging / name): name for name in exports}
    stand_in_arguments = ["--rate-limit", str(RATE_CAP), "--latency-ms", "10-40", "--seed", str(plan.seed)]
    stand_in_arguments += [f"--fault-rate={fault}={rate}" for fault, rate in plan.fault_rates.items()]
    engine = create_engine(os.environ["MOVIE_PIPELINE_DATABASE_URL"])
    try:
        with StandinProcess(work_dir / "standin-stats.json", stand_in_arguments) as standin:
            env = {
                **os.environ,
                "DAGSTER_HOME": str(home),
                "MOVIE_PIPELINE_DATA_DIR": str(data_dir),
                "TMDB_BASE_URL": standin.base_url,
                "TMDB_READ_ACCESS_TOKEN": TOKEN,
                "TMDB_MAX_RATE": str(RATE_CAP),
            }
            with running_topology(work_dir, env, celery) as topology:
                assert_deploy_instance(topology)
                with PeakMemory(topology.group.pgid) as memory:
                    dropped = time.monotonic()
                    for name in exports:  # a rename each: the whole batch lands within milliseconds
                        (staging / name).rename(data_dir / "uploads" / name)
                    wait_for(lambda: load_complete(topology, engine, keys), timeout_s, f"{len(keys)} uploads")
                    wall_s = time.monotonic() - dropped
                runs = topology.graphql(RUN_TIMES)["runsOrError"]["results"]
                placements = step_placements(home, runs, topology.group) if celery else []
        figures = measure(engine, exports, keys, runs, standin.stats(), memory, wall_s)
    finally:
        engine.dispose()
    return TopologyRun(figures, placements, peak_enrichments(runs))


def assert_deploy_instance(topology: Topology) -> None:
    """The webserver serves the code location from the code server, on deploy/dagster.yaml's run queue."""
    location = topology.location() or {}
    assert {"key": "port", "value": str(topology.code_server_port)} in location["displayMetadata"], location
    instance = topology.graphql(INSTANCE)["instance"]
    assert instance["runQueuingSupported"] and instance["runQueueConfig"]["maxConcurrentRuns"] == 4, instance


def load_complete(topology: Topology, engine: Engine, keys: dict[str, str]) -> bool:
    topology.group.assert_running()
    with engine.connect() as conn:
        if not inspect(conn).has_table(db.movie_stats.name):  # the first run has not created the schema yet
            return False
        if completed_uploads(conn, keys) < len(keys) or pending_films(conn, keys) > 0:
            return False
    runs = topology.graphql(RUN_TIMES)["runsOrError"]["results"]
    return not any(run["status"] in IN_FLIGHT for run in runs)


def step_placements(home: Path, runs: list[dict], group: ProcessGroup) -> list[StepPlacement]:
    """Each step of each run, read from Dagster's event log while the topology's processes are still alive."""
    workers = {name: group.processes[f"celery-{name}"].pid for name in CELERY_WORKERS}
    placements = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for run in runs:
            events = [entry.dagster_event for entry in instance.all_logs(run["runId"]) if entry.dagster_event]
            run_worker = next((event.pid for event in events if event.event_type == EventType.RUN_START), None)
            named = celery_workers_by_step(events)
            placements += [
                StepPlacement(
                    run["runId"], step, event.pid, run_worker, named.get(step), worker_holding(event.pid, workers)
                )
                for event in events
                if event.event_type == EventType.STEP_START and event.pid is not None and (step := event.step_key)
            ]
    return placements


def celery_workers_by_step(events: list[dg.DagsterEvent]) -> dict[str, str]:
    """Step key -> worker name ("alpha" of "alpha@host"), from the engine event the Celery task reports first."""
    return {
        str(event.step_key): str(event.engine_event_data.metadata["Celery worker"].value).partition("@")[0]
        for event in events
        if event.event_type == EventType.ENGINE_EVENT and "in celery worker" in (event.message or "")
    }


def worker_holding(pid: int, workers: dict[str, int]) -> str | None:
    """The name of the worker whose `dagster-celery worker start` process is `pid` or one of its ancestors."""
    by_pid = {worker_pid: name for name, worker_pid in workers.items()}
    while pid > 1 and pid not in by_pid:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, IndexError):
            return None  # ended, or never a process of this machine
    return by_pid.get(pid)


def peak_enrichments(runs: list[dict]) -> int:
    """The most enriched_movies steps, across all runs, whose [start, end] spans held one moment."""
    changes = sorted(
        (time_s, change)
        for run in runs
        for step in run["stepStats"]
        if step["stepKey"] == "enriched_movies" and step["startTime"] and step["endTime"]
        for time_s, change in ((step["startTime"], 1), (step["endTime"], -1))
    )
    running = peak = 0
    for _, change in changes:  # at a tie the end (-1) sorts first: touching spans do not overlap
        running += change
        peak = max(peak, running)
    return peak

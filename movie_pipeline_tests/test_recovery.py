"""Killed runs recover by themselves: a real `dagster dev` whose run workers, or whole process group, are SIGKILLed.

SQLite runs on the instance `make dev` writes (Dagster's run monitoring and retries on); PostgreSQL on a bare
instance (no dagster.yaml), where only the pipeline's own heartbeat guard recovers. Either way, within 3 minutes and
with no person acting, each upload's chain completes, with exact row counts, and films stored before a kill cost no
second request at the (slow) TMDB stand-in."""

import csv
import os
import signal
import time
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from movie_pipeline import database as db
from movie_pipeline.launch import bring_instance_config_up_to_date
from movie_pipeline.letterboxd.uploads import upload_key
from movie_pipeline.tmdb.standin import StandinOptions, StandinThread
from movie_pipeline_tests.conftest import LETTERBOXD
from movie_pipeline_tests.dagster_dev import RUNS, DagsterDev, group_members, partition_of, wait_for

pytestmark = pytest.mark.e2e
TOKEN = "recovery-token"
RECOVERY_BOUND_S = 180
STEPS = ("raw_diary", "parsed_movies", "enriched_movies", "movie_stats")
DIARY = LETTERBOXD / "afelka" / "diary.csv"  # one record per line, thousands of distinct films to slice from
RUN_TIMES = "{ runsOrError { ... on Runs { results { runId status startTime endTime tags { key value } } } } }"


@dataclass
class Deployment:
    """One film database, one DAGSTER_HOME and one slow stand-in, for as many `dagster dev` starts as a test needs."""

    tmp_path: Path
    env: dict[str, str]
    engine: Engine
    standin: StandinThread
    started: list[DagsterDev] = field(default_factory=list)

    @property
    def uploads_dir(self) -> Path:
        return Path(self.env["MOVIE_PIPELINE_DATA_DIR"]) / "uploads"

    def start(self) -> DagsterDev:
        dev = DagsterDev(self.env, self.tmp_path / f"dagster_dev_{len(self.started)}.log")
        self.started.append(dev)
        dev.wait_until_up()
        return dev

    def stored(self, table) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()

    def requests(self, kind: str) -> int:
        return self.standin.stats.requests_by_kind()[kind]


@pytest.fixture(params=["sqlite", "postgres"])
def deployment(request, tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "uploads").mkdir(parents=True)
    home = tmp_path / "dagster_home"
    home.mkdir()
    if request.param == "sqlite":
        database_url = f"sqlite:///{data_dir / 'movie_pipeline.db'}"
        bring_instance_config_up_to_date(home / "dagster.yaml")
    else:
        database_url = request.getfixturevalue("postgres_url")
    options = StandinOptions(accepted_credentials=frozenset({TOKEN}), latency_s=(0.3, 0.6))
    with StandinThread(options) as standin:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "MOVIE_PIPELINE_DATA_DIR": str(data_dir),
            "MOVIE_PIPELINE_DATABASE_URL": database_url,
            "TMDB_BASE_URL": standin.base_url,
            "TMDB_READ_ACCESS_TOKEN": TOKEN,
            "TMDB_MAX_RATE": "200",
        }
        engine = db.make_engine(database_url)
        deployment = Deployment(tmp_path, env, engine, standin)
        try:
            yield deployment
        finally:
            for dev in deployment.started:
                dev.stop()
            engine.dispose()


@dataclass(frozen=True)
class Upload:
    key: str
    entries: int
    films: int


def drop_diary_slice(deployment: Deployment, name: str, first: int, count: int) -> Upload:
    """Drop an export folder holding a slice of a real diary.csv, so each upload has films of its own."""
    lines = DIARY.read_text(encoding="utf-8").splitlines(keepends=True)
    rows = lines[1 + first : 1 + first + count]
    staged = deployment.tmp_path / "staging" / name
    staged.mkdir(parents=True)
    (staged / "diary.csv").write_text(lines[0] + "".join(rows), encoding="utf-8")
    films = len({(row["Name"], row["Year"]) for row in csv.DictReader([lines[0], *rows])})
    dropped = staged.rename(deployment.uploads_dir / name)  # appears whole, as one settled upload
    return Upload(upload_key(dropped), count, films)


def run_of(dev: DagsterDev, partition: str) -> dict | None:
    runs = [r for r in dev.graphql(RUNS)["runsOrError"]["results"] if partition_of(r) == partition]
    return runs[0] if runs else None  # newest first


class StepWatch:
    """Reads the instance's own storage, as the webserver does, to kill a run worker within milliseconds of its
    step's start: a small upload's raw_diary lasts less than one round of GraphQL polls."""

    def __init__(self, dagster_home: str, dev: DagsterDev):
        self.instance = dg.DagsterInstance.from_config(dagster_home)
        self.dev = dev

    def run_worker(self, partition: str) -> tuple[str, int] | None:
        """(run id, pid) of the newest run of the partition while its worker, a process of `dagster dev`, is alive."""
        runs = self.instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": partition}), limit=1)
        if not runs:
            return None
        run_id = runs[0].dagster_run.run_id
        for entry in self.instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
            event = entry.dagster_event
            if event and entry.message.startswith("Started process for run"):
                pid = int(str(event.engine_event_data.metadata["pid"].value))
                return (run_id, pid) if pid in group_members(self.dev.process.pid) else None
        return None

    def kill_worker_at_step(self, run_id: str, pid: int, step: str) -> bool:
        """SIGKILL the run worker as soon as the step has started; True once killed."""
        started = self.instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
        if not any(entry.step_key == step for entry in started):
            return False
        os.kill(pid, signal.SIGKILL)
        return True


def recovered_after(dev: DagsterDev, partition: str, killed_at: float) -> float | None:
    materialized = dev.materialized_at("movie_stats", partition)
    return materialized - killed_at if materialized and materialized > killed_at else None


def assert_rows_exact(deployment: Deployment, upload: Upload) -> None:
    counts = []
    for table in (db.entries, db.films, db.film_matches):
        with deployment.engine.connect() as conn:
            counts.append(conn.scalar(select(func.count()).select_from(table).where(table.c.upload == upload.key)))
    assert counts == [upload.entries, upload.films, upload.films], upload.key


def assert_no_two_runs_of_an_upload_overlapped(dev: DagsterDev) -> None:
    by_upload: dict[str, list[tuple[float, float]]] = {}
    for run in dev.graphql(RUN_TIMES)["runsOrError"]["results"]:
        upload = partition_of(run)
        if run["startTime"] and upload:
            by_upload.setdefault(upload, []).append((run["startTime"], run["endTime"] or time.time()))
    for upload, spans in by_upload.items():
        spans.sort()
        assert all(end <= next_start for (_, end), (next_start, _) in pairwise(spans)), upload


def test_a_run_worker_killed_at_any_step_recovers(deployment: Deployment):
    dev = deployment.start()
    # The stats of a bigger upload take longer, so its kill can land inside movie_stats.
    sizes = {"raw_diary": 60, "parsed_movies": 60, "enriched_movies": 60, "movie_stats": 300}
    uploads, first = {}, 0
    for step, size in sizes.items():
        uploads[step] = drop_diary_slice(deployment, f"kill-at-{step}", first, size)
        first += size
    workers: dict[str, tuple[str, int]] = {}  # step -> (run id, worker pid), found before the step starts
    killed_at: dict[str, float] = {}
    in_flight_at_kills = 0
    watch = StepWatch(deployment.env["DAGSTER_HOME"], dev)

    def kill_each_at_its_step() -> bool:
        nonlocal in_flight_at_kills
        for step, upload in uploads.items():
            if step in killed_at:
                continue
            if step not in workers:
                worker = watch.run_worker(upload.key)
                if worker:
                    workers[step] = worker
            elif watch.kill_worker_at_step(*workers[step], step):
                killed_at[step] = time.time()
                in_flight_at_kills += deployment.standin.stats.in_flight
        return len(killed_at) == len(uploads)

    try:
        wait_for(
            kill_each_at_its_step, 180, f"every run worker to reach its step and be killed (killed: {killed_at})", 0
        )
    finally:
        watch.instance.dispose()
    for step, (run_id, _) in workers.items():
        # The kill hit the step itself: the killed run never finished it.
        assert ("ExecutionStepSuccessEvent", step) not in dev.step_events(run_id), step

    def recovery_times() -> dict[str, float] | None:
        times = {step: recovered_after(dev, u.key, killed_at[step]) for step, u in uploads.items()}
        recovered = {step: seconds for step, seconds in times.items() if seconds}
        return recovered if len(recovered) == len(times) else None

    recovery = wait_for(recovery_times, RECOVERY_BOUND_S + 30, "every upload's movie_stats after the kills")
    print(f"recovery after a run worker SIGKILL, per step (s): { {s: round(t) for s, t in recovery.items()} }")
    assert max(recovery.values()) <= RECOVERY_BOUND_S, recovery

    for upload in uploads.values():
        assert_rows_exact(deployment, upload)
    assert_no_two_runs_of_an_upload_overlapped(dev)
    # One details request per film stored, one or two searches: only requests lost in flight at a kill come again.
    assert deployment.requests("details") <= deployment.stored(db.tmdb_movies) + in_flight_at_kills
    assert deployment.requests("search") <= 2 * deployment.stored(db.tmdb_search_cache) + in_flight_at_kills


def test_a_killed_dagster_dev_recovers_after_a_restart(deployment: Deployment):
    dev = deployment.start()
    upload = drop_diary_slice(deployment, "killed-mid-enrichment", 0, 300)

    def enrichment_half_done() -> bool:
        run = run_of(dev, upload.key)
        if not run or ("ExecutionStepStartEvent", "enriched_movies") not in dev.step_events(run["runId"]):
            return False
        with deployment.engine.connect() as conn:
            matched = db.film_matches.c
            return (
                conn.execute(select(func.count()).where(matched.upload == upload.key)).scalar_one() >= upload.films // 3
            )

    wait_for(enrichment_half_done, 180, "enrichment to be well under way", 0.5)
    dev.kill()
    killed_at = time.time()
    at_kill = {
        "details": deployment.requests("details"),
        "search": deployment.requests("search"),
        "movies": deployment.stored(db.tmdb_movies),
        "searches": deployment.stored(db.tmdb_search_cache),
        "in_flight": deployment.standin.stats.in_flight,
    }

    dev = deployment.start()
    restarted_after = time.time() - killed_at
    recovery = wait_for(lambda: recovered_after(dev, upload.key, killed_at), RECOVERY_BOUND_S + 30, "movie_stats again")
    print(f"recovery after killing the whole dagster dev: {recovery:.0f} s (restart took {restarted_after:.0f} s)")
    assert recovery <= RECOVERY_BOUND_S

    assert_rows_exact(deployment, upload)
    assert_no_two_runs_of_an_upload_overlapped(dev)
    new_movies = deployment.stored(db.tmdb_movies) - at_kill["movies"]
    new_searches = deployment.stored(db.tmdb_search_cache) - at_kill["searches"]
    assert deployment.requests("details") - at_kill["details"] <= new_movies + at_kill["in_flight"]
    assert deployment.requests("search") - at_kill["search"] <= 2 * new_searches + at_kill["in_flight"]

"""A load run: many Letterboxd exports dropped at once into a real `dagster dev`, against the stand-in as its own
process (5xx injected, 429 above the cap), measured at the server, in the film database and in /proc.

Shared by movie_pipeline_tests/test_load.py (3 uploads, in CI) and benchmarks/bench_load.py (20 uploads).
"""

import csv
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.engine import Engine

from movie_pipeline import database as db
from movie_pipeline.letterboxd.uploads import upload_key
from movie_pipeline.tmdb.standin import StandinProcess, load_corpus
from movie_pipeline_tests.dagster_dev import DagsterDev, wait_for

DIARY_COLUMNS = ["Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Tags", "Watched Date"]
TOKEN = "load-run-token"
RATE_CAP = 40  # TMDB_MAX_RATE, and the stand-in's 429 threshold
ENRICHMENT_STEP = "enriched_movies"
IN_FLIGHT = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}
RUN_TIMES = """{ runsOrError { ... on Runs { results { runId jobName status startTime endTime
  tags { key value } stepStats { stepKey startTime endTime } } } } }"""
MEMORY_SAMPLE_EVERY_S = 0.5


@dataclass(frozen=True)
class LoadPlan:
    exports: int
    films_per_export: int
    shared_pool: int  # popular films every export draws some of, as real people overlap
    shared_per_export: int
    fault_rates: dict[str, float] = field(default_factory=lambda: {"500": 0.2, "503": 0.1})
    rewatch_share: float = 0.05
    seed: int = 2024


@dataclass(frozen=True)
class DiaryEntry:
    name: str
    year: int | None  # None for the corpus's undated films: the Year cell is empty
    uri: str
    rating: float | None
    rewatch: bool
    watched: date

    def row(self) -> list[str]:
        rating = "" if self.rating is None else f"{self.rating:g}"
        logged = self.watched + timedelta(days=1)
        return [
            logged.isoformat(),
            self.name,
            "" if self.year is None else str(self.year),
            self.uri,
            rating,
            "Yes" if self.rewatch else "",
            "",
            self.watched.isoformat(),
        ]


def plan_exports(plan: LoadPlan) -> dict[str, list[DiaryEntry]]:
    """Export name -> diary entries: real corpus titles and years, seeded, each film its own export's or shared."""
    draw = random.Random(plan.seed)
    own_count = plan.films_per_export - plan.shared_per_export
    chosen = corpus_films(draw, plan.shared_pool + plan.exports * own_count)
    shared, own = chosen[: plan.shared_pool], chosen[plan.shared_pool :]
    exports = {}
    for index in range(plan.exports):
        films = own[index * own_count : (index + 1) * own_count] + draw.sample(shared, plan.shared_per_export)
        entries = [diary_entry(draw, index, name, year, rewatch=False) for name, year in films]
        rewatched = draw.sample(films, round(len(films) * plan.rewatch_share))
        entries += [diary_entry(draw, index, name, year, rewatch=True) for name, year in rewatched]
        exports[f"person-{index:02d}"] = sorted(entries, key=lambda entry: entry.watched)
    return exports


def corpus_films(draw: random.Random, count: int) -> list[tuple[str, int | None]]:
    """`count` distinct (title, year) films of the corpus: its dated films first, then undated ones (year None),
    since fewer than 5,000 of its films have a date; shuffled, so the undated spread over every export."""
    corpus = [film for film in load_corpus() if film.title.strip() == film.title]
    dated = sorted({(film.title, film.release_year) for film in corpus if film.release_year})
    undated = sorted({(film.title, None) for film in corpus if not film.release_year} - {(t, None) for t, _ in dated})
    draw.shuffle(dated)
    draw.shuffle(undated)
    chosen: list[tuple[str, int | None]] = [*dated, *undated][:count]
    if len(chosen) < count:
        raise ValueError(f"the corpus has {len(chosen)} usable films; the plan needs {count}")
    draw.shuffle(chosen)
    return chosen


def diary_entry(draw: random.Random, export: int, name: str, year: int | None, *, rewatch: bool) -> DiaryEntry:
    watched = max(date(2015, 1, 1), date(year or 2015, 12, 31)) + timedelta(days=draw.randrange(3000))
    rating = draw.choice([None, *[step / 2 for step in range(1, 11)]])
    uri = f"https://boxd.it/{export:02d}{draw.getrandbits(40):x}"
    return DiaryEntry(name, year, uri, rating, rewatch, min(watched, date(2025, 6, 30)))


def write_export(folder: Path, entries: list[DiaryEntry]) -> None:
    folder.mkdir(parents=True)
    with (folder / "diary.csv").open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(DIARY_COLUMNS)
        writer.writerows(entry.row() for entry in entries)


class PeakMemory:
    """Samples VmHWM of every process in a process group, by role, on a background thread."""

    def __init__(self, process_group: int):
        self._group = process_group
        self._peaks_kb: dict[int, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def peak_mb(self, role: str) -> float:
        return max((kb for seen, kb in self._peaks_kb.values() if seen == role), default=0) / 1024

    def processes(self, role: str) -> int:
        return sum(1 for seen, _ in self._peaks_kb.values() if seen == role)

    def _sample(self) -> None:
        while not self._stop.wait(MEMORY_SAMPLE_EVERY_S):
            for pid, role, high_water_kb in group_memory(self._group):
                self._peaks_kb[pid] = (role, max(high_water_kb, self._peaks_kb.get(pid, ("", 0))[1]))


def group_memory(process_group: int) -> list[tuple[int, str, int]]:
    """(pid, role, VmHWM in kB) of the live processes of a process group."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != process_group:
                continue
            command = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            status = Path(entry.path, "status").read_text()
        except (OSError, ProcessLookupError):
            continue  # ended between the listing and the read
        high_water = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")]
        if high_water:
            found.append((int(entry.name), process_role(command), int(high_water[0])))
    return found


def process_role(command: str) -> str:
    # The code server starts each run, and the multiprocess executor each step, as a multiprocessing child.
    if "multiprocessing" in command and "resource_tracker" not in command:
        return "run worker"
    if "dagster-daemon" in command or "_daemon" in command:
        return "daemon"
    return "other"


@dataclass
class LoadFigures:
    uploads: int
    uploads_complete: int
    pending_left: int
    distinct_films: int
    entries_in: int
    entries_out: int
    entries_lost: int
    entries_duplicated: int
    entries_invented: int
    films_in: int  # films per upload, summed
    films_out: int
    films_lost: int
    films_duplicated: int
    films_invented: int
    upload_runs: int
    sweep_runs: int
    failed_runs: int
    overlapping_runs: list[tuple[str, str, str]]  # (upload, run, run)
    requests: int
    rate_limited: int
    peak_rate: int
    peak_connections: int
    enrichment_s: float  # time any enriched_movies step was running
    wall_s: float  # from the drop until every upload was complete
    daemon_peak_mb: float
    run_worker_peak_mb: float
    run_worker_processes: int

    @property
    def time_ratio(self) -> float:
        """Enrichment time over the least time the requests need at the cap."""
        return self.enrichment_s / (self.requests / RATE_CAP) if self.requests else 0.0

    def problems(self) -> list[str]:
        """Each required figure that is off, in words; empty when the run met every requirement."""
        required = {
            f"{self.uploads - self.uploads_complete} upload(s) without movie_stats": self.uploads_complete
            < self.uploads,
            f"{self.pending_left} film(s) still pending": self.pending_left > 0,
            f"enriching runs overlapped on one upload: {self.overlapping_runs}": bool(self.overlapping_runs),
            f"peak rate {self.peak_rate}/s at the stand-in is above the cap {RATE_CAP}": self.peak_rate > RATE_CAP,
            "entries lost, duplicated or invented": self.entries_lost + self.entries_duplicated + self.entries_invented,
            "films lost, duplicated or invented": self.films_lost + self.films_duplicated + self.films_invented,
        }
        return [problem for problem, failed in required.items() if failed]

    def table(self) -> str:
        rows = [
            ("uploads complete (movie_stats, no pending films)", f"{self.uploads_complete}/{self.uploads}", "all"),
            ("films pending at the end", self.pending_left, "0"),
            ("distinct films (films per upload, summed)", f"{self.distinct_films} ({self.films_in})", ""),
            (
                "entries in → out; lost / duplicated / invented",
                f"{self.entries_in} → {self.entries_out}; {self.entries_lost} / {self.entries_duplicated} / "
                f"{self.entries_invented}",
                "0 / 0 / 0",
            ),
            (
                "films in → out; lost / duplicated / invented",
                f"{self.films_in} → {self.films_out}; {self.films_lost} / {self.films_duplicated} / "
                f"{self.films_invented}",
                "0 / 0 / 0",
            ),
            ("runs: upload / sweep / failed", f"{self.upload_runs} / {self.sweep_runs} / {self.failed_runs}", ""),
            ("overlapping enriching runs of one upload", len(self.overlapping_runs), "0"),
            ("peak requests in any sliding second, at the stand-in", self.peak_rate, f"≤ {RATE_CAP}"),
            ("requests at the stand-in; answered 429", f"{self.requests}; {self.rate_limited}", ""),
            ("peak open connections at the stand-in", self.peak_connections, ""),
            (
                "enrichment time ÷ (requests ÷ rate)",
                f"{self.enrichment_s:.0f} s ÷ {self.requests / RATE_CAP:.0f} s = {self.time_ratio:.2f}",
                "≤ 1.15",
            ),
            ("drop to complete", f"{self.wall_s:.0f} s", ""),
            ("peak memory (VmHWM): daemon", f"{self.daemon_peak_mb:.0f} MB", ""),
            (
                "peak memory (VmHWM): largest run worker",
                f"{self.run_worker_peak_mb:.0f} MB of {self.run_worker_processes} processes",
                "",
            ),
        ]
        lines = ["| figure | measured | required |", "| --- | --- | --- |"]
        lines += [f"| {name} | {value} | {required} |" for name, value, required in rows]
        return "\n".join(lines)


def run_load(work_dir: Path, plan: LoadPlan, timeout_s: float) -> LoadFigures:
    """Drop the plan's exports at once into a fresh `dagster dev` (bare instance, SQLite) and measure until done."""
    exports = plan_exports(plan)
    staging, data_dir, home = work_dir / "staging", work_dir / "data", work_dir / "dagster_home"
    for folder in (staging, data_dir / "uploads", home):
        folder.mkdir(parents=True)
    for name, entries in exports.items():
        write_export(staging / name, entries)
    keys = {upload_key(staging / name): name for name in exports}
    stand_in_arguments = ["--rate-limit", str(RATE_CAP), "--latency-ms", "10-40", "--seed", str(plan.seed)]
    stand_in_arguments += [f"--fault-rate={fault}={rate}" for fault, rate in plan.fault_rates.items()]
    engine = create_engine(f"sqlite:///{data_dir / 'movie_pipeline.db'}")
    with StandinProcess(work_dir / "standin-stats.json", stand_in_arguments) as standin:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "MOVIE_PIPELINE_DATA_DIR": str(data_dir),
            "TMDB_BASE_URL": standin.base_url,
            "TMDB_READ_ACCESS_TOKEN": TOKEN,
            "TMDB_MAX_RATE": str(RATE_CAP),
        }
        env.pop("MOVIE_PIPELINE_DATABASE_URL", None)
        # TMDB's clock is on other machines: the pipeline's own load (a run worker per upload on 2 cores) must not
        # delay the stand-in's event loop and so bunch the arrivals it stamps.
        dev = DagsterDev(env, work_dir / "dagster_dev.log", niceness=10)
        try:
            dev.wait_until_up()
            with PeakMemory(dev.process.pid) as memory:
                dropped = time.monotonic()
                for name in exports:  # a rename each: the whole batch lands within milliseconds
                    (staging / name).rename(data_dir / "uploads" / name)
                wait_for(lambda: load_complete(dev, engine, keys), timeout_s, f"{len(keys)} uploads to complete")
                wall_s = time.monotonic() - dropped
            runs = dev.graphql(RUN_TIMES)["runsOrError"]["results"]
        finally:
            dev.stop()
    server = standin.stats()
    return measure(engine, exports, keys, runs, server, memory, wall_s)


def load_complete(dev: DagsterDev, engine: Engine, keys: dict[str, str]) -> bool:
    with engine.connect() as conn:
        if not inspect(conn).has_table(db.movie_stats.name):  # the first run has not created the schema yet
            return False
        done = completed_uploads(conn, keys) == len(keys) and pending_films(conn, keys) == 0
    if not done:
        return False
    runs = dev.graphql(RUN_TIMES)["runsOrError"]["results"]
    return not any(run["status"] in IN_FLIGHT for run in runs)


def completed_uploads(conn, keys) -> int:
    stats = db.movie_stats.c
    return conn.scalar(select(func.count(func.distinct(stats.upload))).where(stats.upload.in_(list(keys)))) or 0


def pending_films(conn, keys) -> int:
    matches = db.film_matches.c
    query = select(func.count()).where(matches.upload.in_(list(keys)), matches.status == "pending")
    return conn.scalar(query) or 0


def measure(engine, exports, keys, runs, server, memory: PeakMemory, wall_s: float) -> LoadFigures:
    expected_entries = Counter(
        (key, entry.uri, entry.name, entry.year, entry.watched, entry.rewatch)
        for key, name in keys.items()
        for entry in exports[name]
    )
    expected_films = Counter({(key, entry.name, entry.year) for key, name in keys.items() for entry in exports[name]})
    entries, matches = db.entries.c, db.film_matches.c
    with engine.connect() as conn:
        stored_entries = Counter(
            tuple(row)
            for row in conn.execute(
                select(
                    entries.upload,
                    entries.letterboxd_uri,
                    entries.name,
                    entries.year,
                    entries.watched_date,
                    entries.rewatch,
                ).where(entries.upload.in_(list(keys)))
            )
        )
        stored_films = Counter(
            tuple(row)
            for row in conn.execute(
                select(matches.upload, matches.name, matches.year).where(matches.upload.in_(list(keys)))
            )
        )
        complete, pending = completed_uploads(conn, keys), pending_films(conn, keys)
    entries_lost, entries_duplicated, entries_invented = compare(expected_entries, stored_entries)
    films_lost, films_duplicated, films_invented = compare(expected_films, stored_films)
    return LoadFigures(
        uploads=len(keys),
        uploads_complete=complete,
        pending_left=pending,
        distinct_films=len({(name, year) for _, name, year in expected_films}),
        entries_in=sum(expected_entries.values()),
        entries_out=sum(stored_entries.values()),
        entries_lost=entries_lost,
        entries_duplicated=entries_duplicated,
        entries_invented=entries_invented,
        films_in=sum(expected_films.values()),
        films_out=sum(stored_films.values()),
        films_lost=films_lost,
        films_duplicated=films_duplicated,
        films_invented=films_invented,
        upload_runs=sum(1 for run in runs if run["jobName"] == "upload_job"),
        sweep_runs=sum(1 for run in runs if run["jobName"] == "enrichment_sweep_job"),
        failed_runs=sum(1 for run in runs if run["status"] == "FAILURE"),
        overlapping_runs=overlapping_enriching_runs(runs),
        requests=server["requests"],
        rate_limited=server["rate_limited"],
        peak_rate=server["peak_starts_per_second"],
        peak_connections=server["peak_open_connections"],
        enrichment_s=enrichment_seconds(runs),
        wall_s=wall_s,
        daemon_peak_mb=memory.peak_mb("daemon"),
        run_worker_peak_mb=memory.peak_mb("run worker"),
        run_worker_processes=memory.processes("run worker"),
    )


def compare(expected: Counter, stored: Counter) -> tuple[int, int, int]:
    """(lost, duplicated, invented): expected rows missing, extra copies of expected rows, rows never given."""
    extra = stored - expected
    duplicated = sum(count for row, count in extra.items() if row in expected)
    return sum((expected - stored).values()), duplicated, sum(extra.values()) - duplicated


def enriching_runs(runs: list[dict]) -> list[dict]:
    return [run for run in runs if any(step["stepKey"] == ENRICHMENT_STEP for step in run["stepStats"])]


def overlapping_enriching_runs(runs: list[dict]) -> list[tuple[str, str, str]]:
    """(upload, earlier run, later run) for each pair of enriching runs of one upload whose run times overlap."""
    by_upload: dict[str, list[dict]] = {}
    for run in enriching_runs(runs):
        tags = {tag["key"]: tag["value"] for tag in run["tags"]}
        by_upload.setdefault(tags.get("dagster/partition", ""), []).append(run)
    overlaps = []
    for upload, upload_runs in by_upload.items():
        ordered = sorted(upload_runs, key=lambda run: run["startTime"])
        for index, earlier in enumerate(ordered):
            for later in ordered[index + 1 :]:
                if later["startTime"] < (earlier["endTime"] or float("inf")):
                    overlaps.append((upload, earlier["runId"], later["runId"]))
    return overlaps


def enrichment_seconds(runs: list[dict]) -> float:
    """Length of the union of every enriched_movies step's [start, end]: the time enrichment was under way."""
    spans = sorted(
        (step["startTime"], step["endTime"])
        for run in runs
        for step in run["stepStats"]
        if step["stepKey"] == ENRICHMENT_STEP and step["startTime"] and step["endTime"]
    )
    total, covered_until = 0.0, float("-inf")
    for start, end in spans:
        total += max(0.0, end - max(start, covered_until))
        covered_until = max(covered_until, end)
    return total

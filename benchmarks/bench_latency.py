"""Drop to stats: how long a user waits from dropping an export into uploads/ until movie_stats is materialized,
in a real `dagster dev`, beside a baseline checkout measured at the same time. Printed as a table.

    .venv/bin/python benchmarks/bench_latency.py                      # ~30 min on 2 cores, so not in `make bench`
    .venv/bin/python benchmarks/bench_latency.py --baseline-ref main --drops 5 --json out.json

Two `dagster dev`s run side by side, each with its own DAGSTER_HOME (holding the dagster.yaml that its own
launch.py writes for `make dev`), data folder and SQLite film database: the baseline from a `git worktree` of
--baseline-ref, the candidate from this checkout. Drops alternate between the two, one at a time: each waits until
the previous drop's runs (all_uploads_stats too) are done, then a seeded random 0-5 s, so drops fall anywhere in the
daemon's 5-second sensor loop. A drop lands as a browser download does: written as `.part`, then renamed.
TMDB is the stand-in, as its own process, at 200-500 ms per request.

Two sizes: a 50-film export zip of real diary rows from a fixture export (another 50 films each drop), and the
bundled 760-film sample (a new zip comment each drop, so new bytes and a new partition; its films are cached
after the first drop, which the overhead leaves out anyway).
Overhead = drop -> movie_stats materialized, minus the duration_s of enriched_movies. Figures are medians.
"""

import argparse
import csv
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from measure import REPO_ROOT

from movie_pipeline.letterboxd.uploads import upload_key
from movie_pipeline.tmdb.standin import StandinProcess
from movie_pipeline_tests.dagster_dev import RUNS, DagsterDev, wait_for

FIXTURE_DIARY = REPO_ROOT / "movie_pipeline_tests" / "fixtures" / "letterboxd" / "fsanchez83" / "diary.csv"
SAMPLE = REPO_ROOT / "data" / "sample" / "letterboxd-choicehoney-2026-01-02.zip"
FILMS_PER_SMALL_EXPORT = 50
TOKEN = "bench-latency-token"
STANDIN_LATENCY_MS = "200-500"
DROP_TIMEOUT_S = 360
SETTLE_TIMEOUT_S = 150  # all_uploads_stats follows within its sensor's 30 s interval and a run
SENSOR_LOOP_S = 5  # the Dagster daemon evaluates sensors at most this often
IN_FLIGHT = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}
DONE = {"SUCCESS", "FAILURE", "CANCELED"}
WRITE_INSTANCE_CONFIG = (
    "import sys; from pathlib import Path; from movie_pipeline.launch import bring_instance_config_up_to_date; "
    "bring_instance_config_up_to_date(Path(sys.argv[1]))"
)


@dataclass(frozen=True)
class Drop:
    """What one drop cost, in seconds, from the run's own timestamps."""

    requested_s: float  # drop -> the sensor's run request (run created)
    launched_s: float  # run created -> run started (queue, worker process, code loaded)
    first_step_s: float  # run started -> first step started
    other_steps_s: float  # first step started -> movie_stats materialized, less enrichment
    enrichment_s: float  # duration_s of enriched_movies
    total_s: float  # drop -> movie_stats materialized

    @property
    def overhead_s(self) -> float:
        return self.total_s - self.enrichment_s


FIGURES: list[tuple[str, Callable[[Drop], float]]] = [
    ("drop → run requested (sensor)", lambda drop: drop.requested_s),
    ("run requested → run started (queue, worker)", lambda drop: drop.launched_s),
    ("run started → first step", lambda drop: drop.first_step_s),
    ("steps other than enrichment", lambda drop: drop.other_steps_s),
    ("enrichment (duration_s)", lambda drop: drop.enrichment_s),
    ("drop → movie_stats materialized", lambda drop: drop.total_s),
    ("**overhead: drop → stats − enrichment**", lambda drop: drop.overhead_s),
]


class Side:
    """One checkout running its own `dagster dev`, with its own instance, data folder and film database."""

    def __init__(self, name: str, root: Path, work_dir: Path, standin_url: str):
        self.name = name
        self.uploads = work_dir / "data" / "uploads"
        home = work_dir / "dagster_home"
        for folder in (self.uploads, home):
            folder.mkdir(parents=True)
        env = {
            **os.environ,
            "PYTHONPATH": str(root),
            "DAGSTER_HOME": str(home),
            "MOVIE_PIPELINE_DATA_DIR": str(work_dir / "data"),
            "TMDB_BASE_URL": standin_url,
            "TMDB_READ_ACCESS_TOKEN": TOKEN,
        }
        env.pop("MOVIE_PIPELINE_DATABASE_URL", None)
        # The instance `make dev` would have: the dagster.yaml this checkout's launch.py writes.
        subprocess.run(
            [sys.executable, "-c", WRITE_INSTANCE_CONFIG, str(home / "dagster.yaml")], env=env, cwd=root, check=True
        )
        self.dev = DagsterDev(env, work_dir / "dagster_dev.log", repo_root=root)

    def drop(self, name: str, payload: bytes) -> Drop:
        partial = self.uploads / f"{name}.part"
        partial.write_bytes(payload)
        partial.rename(self.uploads / name)
        dropped = time.time()
        key = upload_key(self.uploads / name)
        run = wait_for(lambda: self.finished_run(key), DROP_TIMEOUT_S, f"{self.name}: the run of {key}", every_s=0.5)
        if run["status"] != "SUCCESS":
            raise RuntimeError(f"{self.name}: the run of {key} ended {run['status']}; see its dagster_dev.log")
        stats_at, _ = self.materialization("movie_stats", key)
        _, enrichment_s = self.materialization("enriched_movies", key)
        first_step = min(step["startTime"] for step in run["stepStats"])
        self.settle(stats_at)
        return Drop(
            requested_s=run["creationTime"] - dropped,
            launched_s=run["startTime"] - run["creationTime"],
            first_step_s=first_step - run["startTime"],
            other_steps_s=stats_at - first_step - enrichment_s,
            enrichment_s=enrichment_s,
            total_s=stats_at - dropped,
        )

    def finished_run(self, key: str) -> dict | None:
        query = f"""{{ runsOrError(filter: {{pipelineName: "upload_job",
            tags: [{{key: "dagster/partition", value: "{key}"}}]}}) {{ ... on Runs {{ results {{
            status creationTime startTime stepStats {{ startTime }} }} }} }} }}"""
        runs = self.dev.graphql(query)["runsOrError"]["results"]
        return runs[0] if runs and runs[0]["status"] in DONE else None

    def materialization(self, asset: str, key: str) -> tuple[float, float]:
        """(epoch seconds, duration_s or 0) of the newest materialization of the asset's partition."""
        query = f"""{{ assetOrError(assetKey: {{path: ["{asset}"]}}) {{ ... on Asset {{
            assetMaterializations(partitions: ["{key}"], limit: 1) {{ timestamp
            metadataEntries {{ label ... on FloatMetadataEntry {{ floatValue }} }} }} }} }} }}"""
        (found,) = self.dev.graphql(query)["assetOrError"]["assetMaterializations"]
        duration = [e["floatValue"] for e in found["metadataEntries"] if e["label"] == "duration_s"]
        return int(found["timestamp"]) / 1000, (duration[0] if duration else 0.0)

    def settle(self, stats_at: float) -> None:
        """Wait until all_uploads_stats has followed this drop and no run is in flight, so drops never overlap."""

        def settled() -> bool:
            if any(run["status"] in IN_FLIGHT for run in self.dev.graphql(RUNS)["runsOrError"]["results"]):
                return False
            query = """{ assetOrError(assetKey: {path: ["all_uploads_stats"]}) { ... on Asset {
                assetMaterializations(limit: 1) { timestamp } } } }"""
            found = self.dev.graphql(query)["assetOrError"]["assetMaterializations"]
            return bool(found) and int(found[0]["timestamp"]) / 1000 >= stats_at

        try:
            wait_for(settled, SETTLE_TIMEOUT_S, f"{self.name}: all_uploads_stats after the drop", every_s=1)
        except AssertionError:
            print(f"{self.name}: all_uploads_stats did not follow within {SETTLE_TIMEOUT_S} s; going on", flush=True)


def small_exports(count: int) -> list[bytes]:
    """`count` export zips of FILMS_PER_SMALL_EXPORT distinct films each, real diary rows, no film in two."""
    with FIXTURE_DIARY.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        first_rows: dict[tuple[str, str], list[str]] = {}
        for row in reader:
            first_rows.setdefault((row[1], row[2]), row)
    rows = list(first_rows.values())
    exports = []
    for index in range(count):
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows[index * FILMS_PER_SMALL_EXPORT : (index + 1) * FILMS_PER_SMALL_EXPORT])
        exports.append(zipped({"diary.csv": text.getvalue().encode()}))
    return exports


def zipped(files: dict[str, bytes], comment: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        archive.comment = comment
    return buffer.getvalue()


def sample_exports(count: int) -> list[bytes]:
    """The bundled sample, its files unchanged, under a new zip comment each time."""
    with zipfile.ZipFile(SAMPLE) as archive:
        files = {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    return [zipped(files, comment=f"bench drop {index}".encode()) for index in range(count)]


# By the number of films: how to build that many drops, and the table's label.
EXPORTS: dict[str, tuple[Callable[[int], list[bytes]], str]] = {
    "50": (small_exports, f"{FILMS_PER_SMALL_EXPORT}-film zip"),
    "760": (sample_exports, "760-film sample"),
}


def baseline_worktree(ref: str, path: Path) -> str:
    """Check `ref` out at `path` (a detached git worktree) and return its short commit."""
    subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", str(path), ref], check=True)
    return subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--short", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def medians(drops: list[Drop]) -> dict[str, float]:
    return {name: statistics.median(figure(drop) for drop in drops) for name, figure in FIGURES}


def table(results: dict[str, dict[str, list[Drop]]], baseline_label: str, drops: int) -> str:
    lines = [
        f"| export | figure (median of {drops} drops, s) | baseline: {baseline_label} | this branch | ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    for size, sides in results.items():
        baseline, candidate = medians(sides["baseline"]), medians(sides["candidate"])
        for name, _ in FIGURES:
            ratio = f"{candidate[name] / baseline[name]:.2f}" if baseline[name] > 0.05 else "–"
            lines.append(f"| {size} | {name} | {baseline[name]:.1f} | {candidate[name]:.1f} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", default="main", help="git ref of the baseline checkout (default main)")
    parser.add_argument("--drops", type=int, default=5, help="drops per size and side (default 5)")
    parser.add_argument("--seed", type=int, default=9, help="seed of the pauses before drops")
    parser.add_argument("--sizes", nargs="+", choices=sorted(EXPORTS), default=list(EXPORTS), help="which exports")
    parser.add_argument("--json", type=Path, help="write every drop's figures here as JSON")
    args = parser.parse_args()
    pause = random.Random(args.seed)
    payloads = {EXPORTS[size][1]: EXPORTS[size][0](args.drops) for size in args.sizes}
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as work:
        work_dir = Path(work)
        commit = baseline_worktree(args.baseline_ref, work_dir / "baseline-checkout")
        sides: list[Side] = []
        try:
            arguments = ["--latency-ms", STANDIN_LATENCY_MS, "--seed", str(args.seed)]
            with StandinProcess(work_dir / "standin-stats.json", arguments) as standin:
                sides = [
                    Side("baseline", work_dir / "baseline-checkout", work_dir / "baseline", standin.base_url),
                    Side("candidate", REPO_ROOT, work_dir / "candidate", standin.base_url),
                ]
                for side in sides:
                    side.dev.wait_until_up(timeout_s=300)
                results: dict[str, dict[str, list[Drop]]] = {}
                for size, exports in payloads.items():
                    results[size] = {side.name: [] for side in sides}
                    for index, payload in enumerate(exports):
                        # Alternate who goes first, so neither side always follows the other's load.
                        for side in sides if index % 2 == 0 else sides[::-1]:
                            time.sleep(pause.uniform(0, SENSOR_LOOP_S))
                            name = f"letterboxd-bench-{size.split('-')[0]}-{index:02d}-utc.zip"
                            drop = side.drop(name, payload)
                            results[size][side.name].append(drop)
                            print(f"{size} #{index} {side.name}: {json.dumps(asdict(drop))}", flush=True)
        finally:
            for side in sides:
                side.dev.stop()
            subprocess.run(
                ["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(work_dir / "baseline-checkout")],
                check=False,
            )
    print(table(results, f"{args.baseline_ref} @ {commit}, a git worktree beside this one", args.drops))
    if args.json:
        args.json.write_text(
            json.dumps(
                {size: {n: [asdict(d) for d in ds] for n, ds in s.items()} for size, s in results.items()}, indent=2
            )
        )


if __name__ == "__main__":
    main()

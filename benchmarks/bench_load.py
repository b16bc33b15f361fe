"""20 Letterboxd exports (more than 5,000 distinct films) dropped at once into a real `dagster dev`, as a printed table.

    .venv/bin/python benchmarks/bench_load.py                 # ~10-20 min on 2 cores, so not in `make bench`
    .venv/bin/python benchmarks/bench_load.py --json out.json # also keep the figures

The exports are diary.csv files of real titles and years from the stand-in's corpus, seeded; each holds 260 films
of its own and 40 from a pool of 300 that people share. The stand-in runs as its own process: 10-40 ms latency,
20% HTTP 500 and 10% HTTP 503 (so films are left pending and sweeps run during the load), 429 above 40 requests
in any sliding second. The instance is bare (a fresh DAGSTER_HOME, no dagster.yaml) on SQLite. The measuring
code is movie_pipeline_tests/load_run.py, shared with the 3-upload test in CI (movie_pipeline_tests/test_load.py).
Exit status 1 when a requirement is not met.
"""

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import measure  # noqa: F401 (it puts the repo root, and so movie_pipeline_tests, on sys.path)

from movie_pipeline_tests.load_run import LoadPlan, run_load

TWENTY_UPLOADS = LoadPlan(exports=20, films_per_export=300, shared_pool=300, shared_per_export=40)
MIN_DISTINCT_FILMS = 5000
TIMEOUT_S = 45 * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as work_dir:
        figures = run_load(Path(work_dir), TWENTY_UPLOADS, TIMEOUT_S)
    print(figures.table())
    problems = figures.problems()
    if figures.distinct_films <= MIN_DISTINCT_FILMS:
        problems.append(f"only {figures.distinct_films} distinct films; the load needs more than {MIN_DISTINCT_FILMS}")
    if args.json:
        args.json.write_text(json.dumps({**dataclasses.asdict(figures), "time_ratio": figures.time_ratio}, indent=2))
    for problem in problems:
        print(f"NOT MET: {problem}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

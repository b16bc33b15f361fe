"""Matching precision and recall against the stand-in in decoy mode, before and after, and the request cost.

    python benchmarks/bench_matching.py                 # before = BEFORE_COMMIT, after = this tree
    python benchmarks/bench_matching.py --before main   # any git ref as the "before" matcher

The labelled set (movie_pipeline_tests/test_tmdb/labelled_set.py) is matched by enrich_films against one stand-in
process with decoys and drift on. Each matcher runs in its own process with PYTHONPATH at its code: "before" is a
temporary git worktree at the given ref, "after" this tree; both read the same films from a CSV, so the two
differ only in movie_pipeline. precision = right ids / films matched, recall = right ids / films with a true id.

The request figure is enrich_films' own count (tmdb_requests) on the bundled sample, over the films the stand-in has
as movies (labelled_set.sample_films_the_standin_has).
"""

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
# main when this benchmark was written: the matcher of issue 10's report (492 of 498).
BEFORE_COMMIT = "98fcef2"
REQUESTS_PER_FILM_BUDGET = 2.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default=BEFORE_COMMIT, help=f"git ref of the 'before' matcher ({BEFORE_COMMIT})")
    parser.add_argument("--evaluate", nargs=3, metavar=("BASE_URL", "FILMS_CSV", "OUT_JSON"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.evaluate:
        asyncio.run(evaluate(*args.evaluate))
    else:
        compare(args.before)


async def evaluate(base_url: str, films_csv: str, out_json: str) -> None:
    """In the matcher's own process: enrich the films (name, year) and write the chosen ids and the requests."""
    import polars as pl
    from sqlalchemy import select

    from movie_pipeline import database as db
    from movie_pipeline.database import make_engine
    from movie_pipeline.tmdb.client import RateLimitedTmdbClient
    from movie_pipeline.tmdb.config import TmdbConfig
    from movie_pipeline.tmdb.enrich import enrich_films
    from movie_pipeline.tmdb.overrides import Overrides

    with open(films_csv, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    films = pl.DataFrame(
        {
            "film_key": [f"film-{index:05d}" for index in range(len(rows))],
            "name": [row["name"] for row in rows],
            "year": [int(row["year"]) if row["year"] else None for row in rows],
            "letterboxd_uri": [None] * len(rows),
        },
        schema={"film_key": pl.String, "name": pl.String, "year": pl.Int32, "letterboxd_uri": pl.String},
    )
    config = TmdbConfig(base_url=base_url, read_access_token="bench-matching", max_concurrency=10, max_rate=1000)
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/films.db")
        summary = await enrich_films(
            films,
            upload="bench",
            engine=engine,
            client_factory=lambda: RateLimitedTmdbClient(config),
            overrides=Overrides(),
            log=lambda line: None,
        )
        with engine.connect() as conn:
            chosen = dict(conn.execute(select(db.film_matches.c.film_key, db.film_matches.c.tmdb_id)).all())
        engine.dispose()
    ids = [chosen[key] for key in films["film_key"]]
    Path(out_json).write_text(json.dumps({"ids": ids, "requests": summary.tmdb_requests}), encoding="utf-8")


def compare(before_ref: str) -> None:
    from movie_pipeline.tmdb.standin import StandinProcess

    # This process only: appended, so the matchers' own processes still import movie_pipeline from PYTHONPATH.
    sys.path.append(str(REPO_ROOT))
    from movie_pipeline_tests.test_tmdb.labelled_set import SEED, read_csv, sample_films_the_standin_has

    cases = read_csv()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        labelled_csv, sample_csv = work / "labelled.csv", work / "sample.csv"
        write_films(labelled_csv, [(case.name, case.year) for case in cases])
        sample = sample_films_the_standin_has()
        write_films(sample_csv, sample)
        before_root = work / "before"
        subprocess.run(
            ["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", "--quiet", str(before_root), before_ref],
            check=True,
        )
        try:
            with StandinProcess(work / "standin.json", ["--decoys", "--seed", str(SEED)]) as standin:
                results = {
                    label: {
                        "labelled": run_matcher(root, standin.base_url, labelled_csv, work / f"{label}-labelled.json"),
                        "sample": run_matcher(root, standin.base_url, sample_csv, work / f"{label}-sample.json"),
                    }
                    for label, root in (("before", before_root), ("after", REPO_ROOT))
                }
        finally:
            subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(before_root)], check=True)
    print_tables(cases, results, len(sample), before_ref)


def run_matcher(code_root: Path, base_url: str, films_csv: Path, out_json: Path) -> dict[str, Any]:
    environment = {**os.environ, "PYTHONPATH": str(code_root)}
    command = [sys.executable, str(Path(__file__).resolve()), "--evaluate", base_url, str(films_csv), str(out_json)]
    subprocess.run(command, env=environment, check=True, cwd=code_root)
    result: dict[str, Any] = json.loads(out_json.read_text(encoding="utf-8"))
    return result


def write_films(path: Path, films: Sequence[tuple[str, int | None]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "year"])
        writer.writerows((name, "" if year is None else year) for name, year in films)


def print_tables(cases: Sequence[Any], results: dict[str, dict[str, Any]], sample_films: int, before_ref: str) -> None:
    kinds = sorted({case.kind for case in cases})
    print(f"Matching on the labelled set ({len(cases)} films), stand-in with decoys and drift; before = {before_ref}")
    print("| matcher | half | precision | recall | wrong | " + " | ".join(f"wrong: {kind}" for kind in kinds) + " |")
    print("|---" * (5 + len(kinds)) + "|")
    for label, result in results.items():
        for half in ("tuning", "held-out"):
            picked = [
                (case, got) for case, got in zip(cases, result["labelled"]["ids"], strict=True) if case.half == half
            ]
            matched = [(case, got) for case, got in picked if got is not None]
            right = sum(1 for case, got in matched if got == case.expected_tmdb_id)
            positives = sum(1 for case, _ in picked if case.expected_tmdb_id is not None)
            wrong = [case for case, got in picked if got != case.expected_tmdb_id]
            by_kind = " | ".join(str(sum(1 for case in wrong if case.kind == kind)) for kind in kinds)
            figures = f"{right / len(matched):.4f} | {right / positives:.4f} | {len(wrong)}"
            print(f"| {label} | {half} | {figures} | {by_kind} |")
    left = [
        f"{case.name} ({case.year}), {case.kind}{f', {case.decoy} decoy' if case.decoy else ''}: got {got}"
        for case, got in zip(cases, results["after"]["labelled"]["ids"], strict=True)
        if case.half == "held-out" and got != case.expected_tmdb_id
    ]
    print()
    print("Mistakes left on the held-out half:", *left, sep="\n- ")
    print()
    print(f"Requests per film (budget {REQUESTS_PER_FILM_BUDGET})")
    print("| matcher | sample: films the stand-in has | requests | per film | labelled set: per film |")
    print("|---|---|---|---|---|")
    for label, result in results.items():
        requests = result["sample"]["requests"]
        per_labelled = result["labelled"]["requests"] / len(cases)
        print(f"| {label} | {sample_films} | {requests} | {requests / sample_films:.3f} | {per_labelled:.3f} |")


if __name__ == "__main__":
    main()

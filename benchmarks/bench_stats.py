"""Time compute_stats, render_report and render_year_card on a synthetic 100,000-entry upload (~20,000 films).

Run: .venv/bin/python benchmarks/bench_stats.py
Prints a table against a naive baseline: a few headline numbers per period, aggregated row by row
in Python. The baseline does a small part of the work, so the ratio says what the full set costs.
"""

import random
from collections import defaultdict
from datetime import date, timedelta

import polars as pl
from measure import best_of

from movie_pipeline.stats.card import render_year_card
from movie_pipeline.stats.compute import compute_stats
from movie_pipeline.stats.report import render_report
from movie_pipeline.tmdb.statuses import MatchStatus

ENTRIES = 100_000
FILMS = 20_000
FIRST_DAY = date(1985, 1, 1)
DAYS = 40 * 365
BULK_DAY = date(2012, 3, 4)  # a back-fill: 300 entries logged with one date
BULK_ENTRIES = 300
GENRES = ["Drama", "Comedy", "Thriller", "Horror", "Action", "Romance", "Documentary", "Animation", "Crime", "Sci-Fi"]
COUNTRIES = ["US", "GB", "FR", "JP", "KR", "DE", "IT", "IN", "SE", "MX"]
STATUS_MIX = [MatchStatus.FOUND] * 3 + [MatchStatus.NOT_FOUND, MatchStatus.PENDING]
LANGUAGES = ["en", "fr", "ja", "ko", "de", "it", "hi", "sv", "es"]


def synthetic_upload(seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = random.Random(seed)
    films = pl.DataFrame(
        {
            "film_key": [f"{i:016x}" for i in range(FILMS)],
            "name": [f"Film <{i}> & co" for i in range(FILMS)],
            "year": [rng.randint(1920, 2024) for _ in range(FILMS)],
            "status": [rng.choice(STATUS_MIX) for _ in range(FILMS)],
            "genres": [rng.sample(GENRES, rng.randint(1, 3)) for _ in range(FILMS)],
            "directors": [[f"Director {rng.randint(1, 3000)}"] for _ in range(FILMS)],
            "top_cast": [[f"Actor {rng.randint(1, 20000)}" for _ in range(5)] for _ in range(FILMS)],
            "production_countries": [rng.sample(COUNTRIES, rng.randint(1, 2)) for _ in range(FILMS)],
            "original_language": [rng.choice(LANGUAGES) for _ in range(FILMS)],
            "runtime": [rng.randint(70, 180) for _ in range(FILMS)],
            "vote_average": [round(rng.uniform(3, 9), 1) for _ in range(FILMS)],
            "vote_count": [rng.randint(0, 20000) for _ in range(FILMS)],
            "popularity": [rng.uniform(0.1, 300) for _ in range(FILMS)],
        },
        schema_overrides={"year": pl.Int32, "status": pl.String},  # not the Enum polars infers
    )
    # Unenriched films carry no TMDB columns, as in the real film_details frame.
    tmdb_columns = films.columns[4:]
    films = films.with_columns(
        [pl.when(pl.col("status") == MatchStatus.FOUND).then(pl.col(c)).alias(c) for c in tmdb_columns],
        release_date=pl.date(pl.col("year"), 6, 1),
    )
    picks = [rng.randrange(FILMS) for _ in range(ENTRIES)]
    entries = pl.DataFrame(
        {
            "line": list(range(2, ENTRIES + 2)),
            "film_key": [f"{p:016x}" for p in picks],
            "watched_date": [FIRST_DAY + timedelta(days=rng.randrange(DAYS)) for _ in range(ENTRIES - BULK_ENTRIES)]
            + [BULK_DAY] * BULK_ENTRIES,
            "rating": [rng.choice([None, 0.5, 1.0, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]) for _ in range(ENTRIES)],
            "rewatch": [rng.random() < 0.1 for _ in range(ENTRIES)],
            "has_review": [rng.random() < 0.05 for _ in range(ENTRIES)],
        }
    )
    entries = entries.join(films.select("film_key", "name", "year"), on="film_key").with_columns(
        logged_date=pl.col("watched_date"), letterboxd_uri=pl.lit(None, pl.String), tags=pl.lit([], pl.List(pl.String))
    )
    return entries.sort("line"), films


def naive_headline(entries: list[dict], runtime: dict[str, int | None], directors: dict[str, list[str] | None]) -> dict:
    """Entries, films, rewatches, hours, mean rating and top directors per period, one row at a time."""
    periods: dict[str, dict] = defaultdict(
        lambda: {"entries": 0, "films": set(), "rewatches": 0, "minutes": 0, "rated": [], "directors": defaultdict(set)}
    )
    for entry in entries:
        for period in ("all", str(entry["watched_date"].year)):
            totals = periods[period]
            totals["entries"] += 1
            totals["films"].add(entry["film_key"])
            totals["rewatches"] += entry["rewatch"]
            totals["minutes"] += runtime.get(entry["film_key"]) or 0
            if entry["rating"] is not None:
                totals["rated"].append(entry["rating"])
            for name in directors.get(entry["film_key"]) or []:
                totals["directors"][name].add(entry["film_key"])
    return {
        period: {
            "entries": totals["entries"],
            "films": len(totals["films"]),
            "rewatches": totals["rewatches"],
            "hours": totals["minutes"] / 60,
            "mean": sum(totals["rated"]) / len(totals["rated"]) if totals["rated"] else None,
            "top_directors": sorted(totals["directors"], key=lambda n: (-len(totals["directors"][n]), n))[:10],
        }
        for period, totals in periods.items()
    }


def main() -> None:
    entries, film_details = synthetic_upload()
    rows = entries.to_dicts()
    runtime = dict(zip(film_details["film_key"], film_details["runtime"], strict=True))
    directors = dict(zip(film_details["film_key"], film_details["directors"].to_list(), strict=True))

    stats = compute_stats(entries, film_details)
    compute_seconds = best_of(3, lambda: compute_stats(entries, film_details))
    naive_seconds = best_of(3, lambda: naive_headline(rows, runtime, directors))
    render_seconds = best_of(3, lambda: render_report(stats, title="Synthetic"))
    year = stats.years[-1]
    render_year_seconds = best_of(3, lambda: render_report(stats, title="Synthetic", period=year))
    card_seconds = best_of(3, lambda: render_year_card(stats, year, title="Synthetic"))

    print(
        f"synthetic upload: {entries.height:,} entries, {film_details.height:,} films, "
        f"{stats.table.height:,} stats rows"
    )
    print(f"{'step':<50} {'best of 3':>10}")
    print(f"{'compute_stats: every section, every period':<50} {compute_seconds:>9.3f}s")
    print(f"{'naive per-row Python: 6 headline stats per period':<50} {naive_seconds:>9.3f}s")
    print(f"{'ratio compute_stats / naive (~35 sections vs 6)':<50} {compute_seconds / naive_seconds:>9.2f}x")
    print(f"{'render_report (all time)':<50} {render_seconds:>9.3f}s")
    print(f"{'render_report (' + year + ')':<50} {render_year_seconds:>9.3f}s")
    print(f"{'render_year_card (' + year + ')':<50} {card_seconds:>9.3f}s")
    print(f"target: compute_stats < 2 s -> {'met' if compute_seconds < 2 else 'MISSED'}")


if __name__ == "__main__":
    main()

"""The checks of parsed_movies and enriched_movies, read back from the film database.

The parse checks make a parse bug or a lost write show up; the count and duplicate checks block: a failure stops
enrichment and stats for the upload in the same run. low_confidence_matches only warns: the films it names wait on
the matches page for a person to confirm or pin them.
"""

import dagster as dg
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import Connection

from movie_pipeline import database as db
from movie_pipeline.assets.enrichment import enriched_movies
from movie_pipeline.assets.ingest import DIARY, parsed_movies
from movie_pipeline.resources import PipelineStorage
from movie_pipeline.stats.markdown import escape_markdown
from movie_pipeline.stats.matches_page import PAGE_NAME
from movie_pipeline.tmdb.statuses import MatchStatus

VALID_RATINGS = [r / 2 for r in range(1, 11)]
LOW_CONFIDENCE = 0.8  # accepted matches score 0.65 and up; below this one is worth a look


@dg.asset_check(asset=parsed_movies, blocking=True)
def entries_plus_quarantined_equal_diary_rows(
    context: dg.AssetCheckExecutionContext, storage: PipelineStorage
) -> dg.AssetCheckResult:
    """Every diary row read is stored once: as an entry, or as a quarantine row."""
    upload = context.partition_key
    raw, entries, quarantine = db.raw_rows.c, db.entries.c, db.quarantine.c
    with storage.engine().connect() as conn:
        diary_rows = _count(conn, raw.upload == upload, raw.source_file == DIARY)
        kept = _count(conn, entries.upload == upload)
        rejected = _count(conn, quarantine.upload == upload, quarantine.source_file == DIARY)
    return dg.AssetCheckResult(
        passed=kept + rejected == diary_rows,
        metadata={
            "entries": kept,
            "quarantined": rejected,
            "diary_rows": diary_rows,
            "unaccounted": diary_rows - kept - rejected,
        },
    )


@dg.asset_check(asset=parsed_movies)
def ratings_in_half_steps(context: dg.AssetCheckExecutionContext, storage: PipelineStorage) -> dg.AssetCheckResult:
    """Stored ratings are half stars from 0.5 to 5."""
    entries = db.entries.c
    with storage.engine().connect() as conn:
        bad_ratings = _count(
            conn,
            entries.upload == context.partition_key,
            entries.rating.is_not(None),
            entries.rating.not_in(VALID_RATINGS),
        )
    return dg.AssetCheckResult(passed=bad_ratings == 0, metadata={"bad_ratings": bad_ratings})


@dg.asset_check(asset=parsed_movies, blocking=True)
def no_duplicate_entries(context: dg.AssetCheckExecutionContext, storage: PipelineStorage) -> dg.AssetCheckResult:
    """No two stored entries share a diary entry URI (one URI per viewing)."""
    entries = db.entries.c
    duplicated = (
        select(entries.letterboxd_uri)
        .where(entries.upload == context.partition_key, entries.letterboxd_uri.is_not(None))
        .group_by(entries.letterboxd_uri)
        .having(func.count() > 1)
    )
    with storage.engine().connect() as conn:
        uris = conn.scalars(duplicated.order_by(entries.letterboxd_uri)).all()
    return dg.AssetCheckResult(
        passed=not uris,
        metadata={
            "duplicated_entry_uris": len(uris),
            "examples": dg.MetadataValue.md("\n".join(f"- {escape_markdown(uri)}" for uri in uris[:20]) or "none"),
        },
    )


parsed_movies_checks = [entries_plus_quarantined_equal_diary_rows, ratings_in_half_steps, no_duplicate_entries]


@dg.asset_check(asset=enriched_movies)
def low_confidence_matches(context: dg.AssetCheckExecutionContext, storage: PipelineStorage) -> dg.AssetCheckResult:
    """No found film is matched below LOW_CONFIDENCE; those that are wait on the upload's matches page."""
    upload = context.partition_key
    matches = db.film_matches.c
    query = (
        select(matches.name, matches.year, matches.tmdb_id, matches.confidence, matches.reason)
        .where(matches.upload == upload, matches.status == MatchStatus.FOUND, matches.confidence < LOW_CONFIDENCE)
        .order_by(matches.confidence, matches.name)
    )
    with storage.engine().connect() as conn:
        low = db.read_frame(conn, query)
        found = _count(conn, matches.upload == upload, matches.status == MatchStatus.FOUND)
    listing = "\n".join(
        f"- {escape_markdown(row['name'])} ({row['year']}) → tmdb {row['tmdb_id']}: {row['confidence']:.2f}, "
        f"{escape_markdown(row['reason'])}"
        for row in low.head(50).iter_rows(named=True)
    )
    page = storage.settings.reports_dir / upload / PAGE_NAME
    return dg.AssetCheckResult(
        passed=low.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        description=f"Matches below confidence {LOW_CONFIDENCE}: see each one's candidates and a ready overrides.csv "
        f"line on {page} (written by movie_stats).",
        metadata={
            "low_confidence": low.height,
            "found": found,
            "matches_page": dg.MetadataValue.path(str(page)),
            "matches": dg.MetadataValue.md(listing or "none"),
        },
    )


enriched_movies_checks = [low_confidence_matches]


def _count(conn: Connection, *where: ColumnElement[bool]) -> int:
    return conn.execute(select(func.count()).where(*where)).scalar_one()

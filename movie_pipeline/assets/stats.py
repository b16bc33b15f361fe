"""movie_stats: viewing statistics for the upload, stored as a table and written as an HTML year in review."""

import dagster as dg
import polars as pl
from sqlalchemy import String, cast, select

from movie_pipeline import database as db
from movie_pipeline.assets.checks import LOW_CONFIDENCE
from movie_pipeline.assets.enrichment import enriched_movies
from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.resources import PipelineStorage
from movie_pipeline.stats import compute_stats, summary_markdown, write_reports
from movie_pipeline.stats.compute import DETAILS_SCHEMA, ENTRIES_SCHEMA
from movie_pipeline.stats.matches_page import (
    CANDIDATE_COLUMNS,
    FILM_COLUMNS,
    PAGE_NAME,
    OverridesFile,
    render_matches_page,
    with_flags,
)
from movie_pipeline.stats.people import newest_upload_per_person
from movie_pipeline.tmdb.enrich import search_key
from movie_pipeline.tmdb.overrides import read_overrides
from movie_pipeline.tmdb.statuses import WITH_DETAILS, MatchStatus

ALL_UPLOADS = "all-uploads"  # the `upload` value of the all-uploads rows in movie_stats
QUERY_CHUNK = 500  # search keys per IN (...) list
LIST_COLUMNS = ["genres", "directors", "top_cast", "production_countries", "spoken_languages"]


def film_details_query(upload: str):
    """Every film of the upload, with its match and TMDB details where there are any."""
    films, matches, movies = db.films, db.film_matches, db.tmdb_movies
    return (
        select(
            films.c.film_key,
            films.c.name,
            films.c.year,
            films.c.letterboxd_uri,
            films.c.rating,
            films.c.in_diary,
            matches.c.status,
            matches.c.tmdb_id,
            matches.c.confidence,
            matches.c.media_type,
            *[c for c in movies.c if c.name not in ("media_type", "tmdb_id", "fetched_at")],
        )
        .select_from(
            films.outerjoin(
                matches, (matches.c.upload == films.c.upload) & (matches.c.film_key == films.c.film_key)
            ).outerjoin(movies, (movies.c.media_type == matches.c.media_type) & (movies.c.tmdb_id == matches.c.tmdb_id))
        )
        .where(films.c.upload == upload)
        .order_by(films.c.film_key)
    )


# Like AutomationCondition.eager(), minus "no dependency missing": a failed upload has no movie_stats
# partition, and must not keep everyone else's stats from updating. And handled means requested with no upload
# changed since: a run's own materialization, or its request, must not swallow a change that may have landed after
# the run read the stats.
_CHANGED = dg.AutomationCondition.newly_missing() | dg.AutomationCondition.any_deps_updated()
_HANDLED = (
    dg.AutomationCondition.newly_requested() & ~dg.AutomationCondition.any_deps_updated()
) | dg.AutomationCondition.initial_evaluation()
ANY_UPLOAD_UPDATED = (
    _CHANGED.since(_HANDLED) & ~dg.AutomationCondition.any_deps_in_progress() & ~dg.AutomationCondition.in_progress()
).with_label("any upload's stats updated")


def uploads_query():
    uploads = db.uploads.c
    return select(
        uploads.upload, uploads.person, uploads.exported_at, cast(uploads.registered_at, String).label("registered_at")
    )


def load_stats_inputs(conn, upload: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    entries = db.decode_json_lists(db.upload_frame(conn, db.entries, upload).drop("upload"), ["tags"])
    details = db.read_frame(conn, film_details_query(upload))
    details = details.with_columns(pl.col(c).fill_null("[]") for c in LIST_COLUMNS)
    return entries, db.decode_json_lists(details, LIST_COLUMNS)


@dg.asset(partitions_def=uploads_partitions, group_name="stats", deps=[enriched_movies], kinds={"polars", "html"})
def movie_stats(context: dg.AssetExecutionContext, storage: PipelineStorage) -> dg.MaterializeResult:
    """Viewing statistics for all time and each watch year, and the year-in-review HTML report."""
    upload = context.partition_key
    engine = storage.engine()
    with engine.connect() as conn:
        entries, details = load_stats_inputs(conn, upload)
        person = conn.scalar(select(db.uploads.c.person).where(db.uploads.c.upload == upload))
    return store_stats(storage, upload, entries, details, title=f"{person or upload}: a year in film")


@dg.asset(
    group_name="stats",
    deps=[movie_stats],
    kinds={"polars", "html"},
    automation_condition=ANY_UPLOAD_UPDATED,
)
def all_uploads_stats(context: dg.AssetExecutionContext, storage: PipelineStorage) -> dg.MaterializeResult:
    """Stats over every person's newest upload together: a newer export replaces its person's older one."""
    engine = storage.engine()
    with engine.connect() as conn:
        uploads = db.read_frame(conn, uploads_query())
        chosen = newest_upload_per_person(uploads)
        inputs = [load_stats_inputs(conn, upload) for upload in chosen]
    context.log.info(f"all-uploads stats over {len(chosen)} of {uploads.height} uploads: {', '.join(chosen)}")
    entries = stacked([e for e, _ in inputs], ENTRIES_SCHEMA)
    # The same film in two people's uploads is one film; keep a row that has TMDB details.
    details = (
        stacked([d for _, d in inputs], DETAILS_SCHEMA)
        .sort(~pl.col("status").is_in(WITH_DETAILS).fill_null(False))
        .unique("film_key", keep="first", maintain_order=True)
    )
    return store_stats(
        storage,
        ALL_UPLOADS,
        entries,
        details,
        title="Everyone: a year in film",
        matches_of=chosen,
        uploads=len(chosen),
    )


def stacked(frames: list[pl.DataFrame], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    columns = [pl.col(name).cast(dtype) for name, dtype in schema.items()]
    return pl.concat([pl.DataFrame(schema=schema), *(frame.select(columns) for frame in frames)])


def store_stats(
    storage: PipelineStorage,
    upload: str,
    entries: pl.DataFrame,
    details: pl.DataFrame,
    *,
    title: str,
    matches_of: list[str] | None = None,
    **metadata,
) -> dg.MaterializeResult:
    """Compute, store the rows under `upload`, write the report pages and the matches page of the films of
    `matches_of` (default: of `upload`), and describe it all for the UI."""
    stats = compute_stats(entries, details)
    with storage.engine().begin() as conn:
        db.replace_upload_rows(conn, db.movie_stats, upload, db.frame_rows(stats.table, upload=upload))
    index = write_reports(stats, storage.settings.reports_dir, upload, title=title)
    page = matches_page(storage, [upload] if matches_of is None else matches_of, title)
    (index.parent / PAGE_NAME).write_text(page, encoding="utf-8")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": stats.table.height,
            "report_path": dg.MetadataValue.path(str(index)),
            "matches_page": dg.MetadataValue.path(str(index.parent / PAGE_NAME)),
            "summary": dg.MetadataValue.md(summary_markdown(stats)),
            **metadata,
        }
    )


def matches_page(storage: PipelineStorage, uploads: list[str], title: str) -> str:
    """matches.html for the films of `uploads`: each film once, with its stored search candidates."""
    matches, movies = db.film_matches.c, db.tmdb_movies.c
    query = (
        select(
            matches.film_key,
            *[matches[name] for name in FILM_COLUMNS if name in matches],
            movies.title.label("chosen_title"),
            movies.release_date,
        )
        .select_from(
            db.film_matches.outerjoin(
                db.tmdb_movies, (movies.media_type == matches.media_type) & (movies.tmdb_id == matches.tmdb_id)
            )
        )
        .where(matches.upload.in_(uploads))
        .order_by(matches.upload, matches.film_key)
    )
    overrides = read_overrides(storage.settings.overrides_path)
    with storage.engine().connect() as conn:
        rows = db.read_frame(conn, query).unique("film_key", keep="first", maintain_order=True)
        rows = rows.with_columns(
            chosen_year=pl.col("release_date").dt.year(),
            query_key=pl.Series([search_key(name, year) for name, year in rows.select("name", "year").iter_rows()]),
        )
        films = with_flags(
            rows.select([pl.col(name).cast(dtype) for name, dtype in FILM_COLUMNS.items()]), LOW_CONFIDENCE
        )
        keys = films["query_key"].to_list()
        # IN lists stay short enough for any database; an empty list still reads one typed, empty frame.
        chunks = [keys[start : start + QUERY_CHUNK] for start in range(0, max(len(keys), 1), QUERY_CHUNK)]
        candidates = pl.concat([db.read_frame(conn, candidates_query(chunk)) for chunk in chunks])
    return render_matches_page(
        films,
        candidates.select([pl.col(name).cast(dtype) for name, dtype in CANDIDATE_COLUMNS.items()]),
        title=title,
        overrides=OverridesFile(
            str(storage.settings.overrides_path), overrides.columns, [str(problem) for problem in overrides.problems]
        ),
        pending=rows.filter(pl.col("status") == MatchStatus.PENDING).height,
    )


def candidates_query(query_keys: list[str]):
    """The stored top candidates of these searches, with the runtime where the candidate's details are stored."""
    candidates, movies = db.tmdb_search_candidates.c, db.tmdb_movies.c
    return (
        select(*candidates, movies.runtime)
        .select_from(
            db.tmdb_search_candidates.outerjoin(
                db.tmdb_movies, (movies.media_type == candidates.media_type) & (movies.tmdb_id == candidates.tmdb_id)
            )
        )
        .where(candidates.query_key.in_(query_keys))
        .order_by(candidates.query_key, candidates.rank)
    )

"""movie_stats: viewing statistics for the upload, stored as a table and written as an HTML year in review."""

import dagster as dg
import polars as pl
from sqlalchemy import select

from movie_pipeline import database as db
from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.resources import PipelineStorage
from movie_pipeline.stats import compute_stats, summary_markdown, write_reports

LIST_COLUMNS = ["genres", "directors", "top_cast", "production_countries", "spoken_languages"]


def film_details_query(upload: str):
    """Every film of the upload, with its match and TMDB details where there are any."""
    films, matches, movies = db.films, db.film_matches, db.tmdb_movies
    return (
        select(
            films.c.film_key, films.c.name, films.c.year, films.c.letterboxd_uri, films.c.rating, films.c.in_diary,
            matches.c.status, matches.c.tmdb_id, matches.c.confidence,
            *[c for c in movies.c if c.name not in ("tmdb_id", "fetched_at")],
        )
        .select_from(
            films.outerjoin(matches, (matches.c.upload == films.c.upload) & (matches.c.film_key == films.c.film_key))
            .outerjoin(movies, movies.c.tmdb_id == matches.c.tmdb_id)
        )
        .where(films.c.upload == upload)
        .order_by(films.c.film_key)
    )


def load_stats_inputs(conn, upload: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    entries = db.decode_json_lists(db.upload_frame(conn, db.entries, upload).drop("upload"), ["tags"])
    details = db.read_frame(conn, film_details_query(upload))
    details = details.with_columns(pl.col(c).fill_null("[]") for c in LIST_COLUMNS)
    return entries, db.decode_json_lists(details, LIST_COLUMNS)


@dg.asset(partitions_def=uploads_partitions, group_name="stats", deps=["enriched_movies"], kinds={"polars", "html"})
def movie_stats(context: dg.AssetExecutionContext, storage: PipelineStorage) -> dg.MaterializeResult:
    """Viewing statistics for all time and each watch year, and the year-in-review HTML report."""
    upload = context.partition_key
    engine = storage.engine()
    with engine.connect() as conn:
        entries, details = load_stats_inputs(conn, upload)
        person = conn.scalar(select(db.uploads.c.person).where(db.uploads.c.upload == upload))
    stats = compute_stats(entries, details)
    with engine.begin() as conn:
        db.replace_upload_rows(conn, db.movie_stats, upload, db.frame_rows(stats.table, upload=upload))
    report = write_reports(stats, storage.settings.reports_dir, upload, title=f"{person or upload}: a year in film")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": stats.table.height,
            "report_path": dg.MetadataValue.path(str(report)),
            "summary": dg.MetadataValue.md(summary_markdown(stats)),
        }
    )

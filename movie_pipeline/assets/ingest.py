"""raw_diary and parsed_movies: an upload read as it is, then normalized into entries and films."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl
from sqlalchemy import delete

from movie_pipeline import database as db
from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.letterboxd.errors import UploadError
from movie_pipeline.letterboxd.parse import parse_export
from movie_pipeline.letterboxd.reader import open_upload, read_raw_rows
from movie_pipeline.letterboxd.uploads import content_sha256, find_upload, printable_name
from movie_pipeline.resources import PipelineStorage
from movie_pipeline.stats.markdown import escape_markdown

DIARY = "diary.csv"


@dg.asset(partitions_def=uploads_partitions, group_name="ingest", kinds={"polars", "sqlite"})
def raw_diary(context: dg.AssetExecutionContext, storage: PipelineStorage) -> dg.MaterializeResult:
    """The upload's diary, watched, ratings and reviews rows exactly as read, with source file and line."""
    upload = context.partition_key
    try:
        path = find_upload(storage.settings.uploads_dir, upload)
        export = open_upload(path)
        read = read_raw_rows(export)
    except UploadError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    for warning in read.warnings:
        context.log.warning(warning)

    with storage.engine().begin() as conn:
        conn.execute(delete(db.uploads).where(db.uploads.c.upload == upload))
        conn.execute(
            db.uploads.insert(),
            {
                "upload": upload,
                "source_name": export.source_name,
                "content_sha256": content_sha256(path),
                "person": export.person,
                "exported_at": export.exported_at,
                "registered_at": datetime.now(UTC),
            },
        )
        db.replace_upload_rows(conn, db.raw_rows, upload, db.frame_rows(read.rows, upload=upload))

    per_file = read.rows.group_by("source_file").len().sort("source_file")
    diary_rows = per_file.filter(pl.col("source_file") == DIARY)["len"].sum()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": int(diary_rows),
            "source": dg.MetadataValue.path(printable_name(str(path))),
            "person": export.person or "unknown",
            "rows_per_file": dg.MetadataValue.md(_markdown_table(per_file)),
            "warnings": len(read.warnings),
        }
    )


@dg.asset(
    partitions_def=uploads_partitions,
    group_name="ingest",
    deps=[raw_diary],
    kinds={"polars", "sqlite"},
)
def parsed_movies(context: dg.AssetExecutionContext, storage: PipelineStorage) -> dg.MaterializeResult:
    """Normalized diary entries and the distinct films of the upload; bad rows go to quarantine."""
    upload = context.partition_key
    engine = storage.engine()
    with engine.connect() as conn:
        raw = db.upload_frame(conn, db.raw_rows, upload).drop("upload")
    parsed = parse_export(raw)

    with engine.begin() as conn:
        db.replace_upload_rows(
            conn, db.entries, upload, db.frame_rows(parsed.entries, upload=upload, json_columns=["tags"])
        )
        db.replace_upload_rows(conn, db.films, upload, db.frame_rows(parsed.films, upload=upload))
        db.replace_upload_rows(conn, db.quarantine, upload, db.frame_rows(parsed.quarantine, upload=upload))
    for row in parsed.quarantine.head(20).iter_rows(named=True):
        context.log.warning(f"quarantined {row['source_file']} line {row['line']}: {row['reason']}")

    diary_quarantined = parsed.quarantine.filter(pl.col("source_file") == DIARY).height
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": parsed.entries.height,
            "quarantined_rows": diary_quarantined,
            "quarantined_other_files": parsed.quarantine.height - diary_quarantined,
            "films": parsed.films.height,
            "rewatches": int(parsed.entries["rewatch"].sum()),
            "preview": dg.MetadataValue.md(
                _markdown_table(parsed.entries.select("watched_date", "name", "year", "rating").head(10))
            ),
        },
    )


def _markdown_table(frame: pl.DataFrame) -> str:
    def cell(value: object) -> str:
        return "" if value is None else escape_markdown(str(value))

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * frame.width]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in frame.iter_rows()]
    return "\n".join(lines)

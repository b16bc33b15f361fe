"""raw_diary and parsed_movies materialized on every real export, counts checked against the csv module."""

import csv
import io
import os
import shutil
import zipfile
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import func, select

from movie_pipeline import database as db
from movie_pipeline.assets.checks import parsed_movies_checks
from movie_pipeline.assets.ingest import parsed_movies, raw_diary
from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.letterboxd.uploads import upload_key
from movie_pipeline.resources import PipelineStorage
from movie_pipeline_tests.conftest import LETTERBOXD
from movie_pipeline_tests.materialize_support import metadata_of

EXPORTS = sorted(p.name for p in LETTERBOXD.iterdir() if p.is_dir())
FILM_FILES = ("diary.csv", "watched.csv", "ratings.csv", "reviews.csv")


def export_csvs(export: Path) -> dict[str, str]:
    """Root csv texts of an export folder or of the zip inside it."""
    zips = list(export.glob("*.zip"))
    if zips:
        with zipfile.ZipFile(zips[0]) as archive:
            return {n: archive.read(n).decode("utf-8") for n in archive.namelist() if "/" not in n}
    return {p.name: p.read_text(encoding="utf-8") for p in export.glob("*.csv")}


def independent_counts(export: Path) -> tuple[int, int]:
    """Diary records, and distinct (Name, Year) pairs over the root film files, read with the csv module."""
    texts = export_csvs(export)
    delimiter = ";" if texts["diary.csv"].startswith("Date;") else ","
    records = {
        name: list(csv.DictReader(io.StringIO(texts[name], newline=""), delimiter=delimiter))
        for name in FILM_FILES
        if name in texts
    }
    films = {(row["Name"], row["Year"]) for rows in records.values() for row in rows}
    return len(records["diary.csv"]), len(films)


def drop(export: Path, uploads: Path) -> Path:
    zips = list(export.glob("*.zip"))
    if zips:
        return Path(shutil.copyfile(zips[0], uploads / zips[0].name))
    return Path(shutil.copytree(export, uploads / export.name))


def materialize_ingest(storage: PipelineStorage, key: str, instance) -> dg.ExecuteInProcessResult:
    instance.add_dynamic_partitions(uploads_partitions.name, [key])
    return dg.materialize(
        [raw_diary, parsed_movies, *parsed_movies_checks],
        partition_key=key,
        instance=instance,
        resources={"storage": storage},
        raise_on_error=False,
    )


@pytest.mark.parametrize("export", EXPORTS)
def test_every_real_export_parses_with_matching_counts(export, storage, data_dir, instance):
    upload = drop(LETTERBOXD / export, data_dir / "uploads")
    key = upload_key(upload)
    diary_rows, films = independent_counts(LETTERBOXD / export)

    result = materialize_ingest(storage, key, instance)

    assert result.success
    raw, parsed = metadata_of(result, "raw_diary"), metadata_of(result, "parsed_movies")
    assert raw["dagster/row_count"] == diary_rows
    assert parsed["dagster/row_count"] + parsed["quarantined_rows"] == diary_rows
    assert parsed["films"] == films
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "entries_plus_quarantined_equal_diary_rows": True,
        "ratings_in_half_steps": True,
        "no_duplicate_entries": True,
    }
    with storage.engine().connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(db.entries).where(db.entries.c.upload == key))
    assert stored == parsed["dagster/row_count"]


def test_rematerializing_replaces_rows_without_duplicates(storage, data_dir, instance):
    key = upload_key(drop(LETTERBOXD / "extratone", data_dir / "uploads"))
    first = metadata_of(materialize_ingest(storage, key, instance), "parsed_movies")
    second = metadata_of(materialize_ingest(storage, key, instance), "parsed_movies")
    assert first == second
    with storage.engine().connect() as conn:
        for table in (db.raw_rows, db.entries, db.films, db.quarantine):
            count = conn.scalar(select(func.count()).select_from(table).where(table.c.upload == key))
            distinct = conn.scalar(
                select(func.count()).select_from(
                    select(*table.primary_key.columns).where(table.c.upload == key).distinct().subquery()
                )
            )
            assert count == distinct


def test_bad_rows_are_quarantined_and_good_rows_go_through(storage, data_dir, instance):
    diary = data_dir / "uploads" / "diary.csv"
    diary.write_text(
        "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n"
        "2024-01-02,Heat,1995,https://boxd.it/a1,4.5,,,2024-01-01\n"
        "2024-01-03,,1995,https://boxd.it/a2,4,,,2024-01-02\n"
        "2024-01-04,Alien,1979,https://boxd.it/a3,7,,,2024-01-03\n"
        "2024-01-05,Ran,1985,https://boxd.it/a4,5,,,not-a-date\n"
        "2024-01-06,Heat,1995,https://boxd.it/a1,4.5,,,2024-01-01\n"
        '2024-01-07,1917,2019,https://boxd.it/a5,,Yes,"war, one-shot",2024-01-06\n',
        encoding="utf-8",
    )
    key = upload_key(diary)
    result = materialize_ingest(storage, key, instance)
    parsed = metadata_of(result, "parsed_movies")
    assert (parsed["dagster/row_count"], parsed["quarantined_rows"]) == (2, 4)
    with storage.engine().connect() as conn:
        quarantined = conn.execute(
            select(db.quarantine.c.line, db.quarantine.c.source_file)
            .where(db.quarantine.c.upload == key)
            .order_by(db.quarantine.c.line)
        ).all()
        kept = conn.execute(
            select(db.entries.c.name, db.entries.c.tags).where(db.entries.c.upload == key).order_by(db.entries.c.line)
        ).all()
    assert [line for line, _ in quarantined] == [3, 4, 5, 6]
    assert kept == [("Heat", "[]"), ("1917", '["war", "one-shot"]')]


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("notes.csv", b"title,author\nDune,Herbert\n", "Name"),
        ("empty.csv", b"", "empty"),
        ("binary.csv", b"Date,Name,Year\n2024-01-01,He\x00at,1995\n", "NUL"),
        ("broken.zip", b"PK\x03\x04 not a zip at all", "zip"),
    ],
)
def test_a_whole_file_failure_fails_the_run_naming_the_file(storage, data_dir, instance, name, content, expected):
    bad = data_dir / "uploads" / name
    bad.write_bytes(content)
    result = materialize_ingest(storage, upload_key(bad), instance)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert name in message and expected.lower() in message.lower()


def test_a_zip_entry_escaping_its_folder_fails_the_run(storage, data_dir, instance):
    bad = data_dir / "uploads" / "letterboxd-evil-2026-01-01-00-00-utc.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("diary.csv", "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n")
        archive.writestr("../../etc/cron.d/evil.csv", "x")
    result = materialize_ingest(storage, upload_key(bad), instance)
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "../../etc/cron.d/evil.csv" in failure.step_failure_data.user_failure_data.description


def test_an_upload_name_that_is_not_utf8_is_stored_with_escapes(storage, data_dir, instance):
    upload = data_dir / "uploads" / os.fsdecode(b"diary-caf\xe9.csv")
    shutil.copyfile(LETTERBOXD / "extratone" / "diary.csv", upload)
    key = upload_key(upload)
    diary_rows, _ = independent_counts(LETTERBOXD / "extratone")

    result = materialize_ingest(storage, key, instance)

    assert result.success
    assert metadata_of(result, "raw_diary")["dagster/row_count"] == diary_rows
    with storage.engine().connect() as conn:
        stored = conn.scalar(select(db.uploads.c.source_name).where(db.uploads.c.upload == key))
    assert stored == "diary-caf\\xe9.csv"


@pytest.mark.postgres
def test_ingest_on_postgres(postgres_url, data_dir, instance):
    storage = PipelineStorage(data_dir=str(data_dir), database_url=postgres_url)
    key = upload_key(drop(LETTERBOXD / "extratone", data_dir / "uploads"))
    diary_rows, films = independent_counts(LETTERBOXD / "extratone")
    parsed = metadata_of(materialize_ingest(storage, key, instance), "parsed_movies")
    assert parsed["dagster/row_count"] + parsed["quarantined_rows"] == diary_rows
    assert parsed["films"] == films
    storage.engine().dispose()

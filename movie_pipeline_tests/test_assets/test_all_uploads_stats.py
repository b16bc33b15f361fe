"""all_uploads_stats counts each person once: their newest export wins."""

import csv
import io
import zipfile

import dagster as dg
from sqlalchemy import select

from movie_pipeline import database as db
from movie_pipeline.assets.ingest import parsed_movies, raw_diary
from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.assets.stats import ALL_UPLOADS, all_uploads_stats
from movie_pipeline.letterboxd.uploads import upload_key
from movie_pipeline_tests.conftest import LETTERBOXD

MELVIN = LETTERBOXD / "melvincarvalho"


def zip_export(path, diary_rows: int) -> None:
    """A Letterboxd-named zip of melvincarvalho's export, keeping the first `diary_rows` diary rows."""
    diary = (MELVIN / "diary.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("diary.csv", "".join(diary[: diary_rows + 1]))
        archive.writestr("watched.csv", (MELVIN / "watched.csv").read_text(encoding="utf-8"))


def diary_records(text: str) -> int:
    return len(list(csv.DictReader(io.StringIO(text))))


def test_a_newer_export_replaces_the_older_one_of_the_same_person(storage, data_dir):
    uploads = data_dir / "uploads"
    older, newer = (
        uploads / "letterboxd-melvin-2021-01-01-09-00-utc.zip",
        uploads / "letterboxd-melvin-2021-11-23-09-00-utc.zip",
    )
    zip_export(older, 20)
    zip_export(newer, 59)
    other = uploads / "diary.csv"  # a lone diary: no person known, so it stands alone
    other.write_bytes((LETTERBOXD / "countingthedots" / "diary.csv").read_bytes())
    keys = [upload_key(p) for p in (older, newer, other)]

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(uploads_partitions.name, keys)
        for key in keys:
            assert dg.materialize(
                [raw_diary, parsed_movies], partition_key=key, instance=instance, resources={"storage": storage}
            ).success
        result = dg.materialize([all_uploads_stats], instance=instance, resources={"storage": storage})
    assert result.success

    expected_entries = 59 + diary_records(other.read_text(encoding="utf-8"))
    with storage.engine().connect() as conn:
        entries = conn.scalar(
            select(db.movie_stats.c.count).where(
                db.movie_stats.c.upload == ALL_UPLOADS,
                db.movie_stats.c.period == "all",
                db.movie_stats.c.section == "headline",
                db.movie_stats.c.item == "entries",
            )
        )
    assert entries == expected_entries
    (event,) = result.asset_materializations_for_node("all_uploads_stats")
    assert event.metadata["uploads"].value == 2


def test_a_single_upload_without_a_person_is_counted(storage, data_dir):
    diary = data_dir / "uploads" / "diary.csv"
    diary.write_bytes((MELVIN / "diary.csv").read_bytes())
    key = upload_key(diary)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(uploads_partitions.name, [key])
        assert dg.materialize(
            [raw_diary, parsed_movies], partition_key=key, instance=instance, resources={"storage": storage}
        ).success
        result = dg.materialize([all_uploads_stats], instance=instance, resources={"storage": storage})
    (event,) = result.asset_materializations_for_node("all_uploads_stats")
    assert event.metadata["uploads"].value == 1

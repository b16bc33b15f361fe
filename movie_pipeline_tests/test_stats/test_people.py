from datetime import UTC, datetime

import polars as pl

from movie_pipeline.stats.people import newest_upload_per_person


def uploads(rows):
    return pl.DataFrame(
        rows,
        schema={"upload": pl.String, "person": pl.String, "exported_at": pl.String, "registered_at": pl.String},
        orient="row",
    )


def at(day: int) -> str:
    return str(datetime(2026, 1, day, tzinfo=UTC))


def test_a_newer_export_of_the_same_person_replaces_the_older_one():
    frame = uploads(
        [
            ("alice-old", "alice", "2025-06-01", at(20)),  # registered later, but exported earlier
            ("alice-new", "Alice", "2026-01-02T10:00Z", at(5)),
            ("bob", "bob", None, at(3)),
        ]
    )
    assert newest_upload_per_person(frame) == ["alice-new", "bob"]


def test_uploads_without_a_person_each_count_as_their_own():
    frame = uploads([("diary-1", None, None, at(1)), ("diary-2", None, None, at(2))])
    assert newest_upload_per_person(frame) == ["diary-1", "diary-2"]


def test_no_uploads_gives_none():
    assert newest_upload_per_person(uploads([])) == []

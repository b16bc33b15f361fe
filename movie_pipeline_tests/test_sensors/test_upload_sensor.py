import hashlib
import os
import shutil
import time
from pathlib import Path

import pytest

from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.sensors.upload_sensor import UploadCursor, settled_uploads
from movie_pipeline_tests.conftest import LETTERBOXD
from movie_pipeline_tests.test_sensors.upload_ticks import Ticks

EXTRATONE_DIARY = LETTERBOXD / "extratone" / "diary.csv"
ZIP = LETTERBOXD / "choicehoney-zip" / "letterboxd-choicehoney-2026-01-02.zip"


def expected_key(stem: str, path: Path) -> str:
    return f"{stem}-{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"


@pytest.fixture
def ticks(storage):
    return Ticks(storage)


def test_a_new_file_runs_once_it_has_settled(ticks, data_dir):
    dropped = data_dir / "uploads" / "diary.csv"
    shutil.copyfile(EXTRATONE_DIARY, dropped)

    first = ticks.tick()
    assert ticks.requested(first) == []
    assert "waiting to settle" in first.skip_reason.skip_message

    second = ticks.tick()
    assert ticks.requested(second) == [expected_key("diary", dropped)]
    assert second.run_requests[0].run_key == f"upload:{expected_key('diary', dropped)}"
    assert ticks.instance.get_dynamic_partitions(uploads_partitions.name) == [expected_key("diary", dropped)]

    assert ticks.requested(ticks.tick()) == []


def test_a_half_written_file_waits_until_it_stops_changing(ticks, data_dir):
    dropped = data_dir / "uploads" / "diary.csv"
    content = EXTRATONE_DIARY.read_bytes()
    dropped.write_bytes(content[: len(content) // 2])
    assert ticks.requested(ticks.tick()) == []

    with dropped.open("ab") as stream:
        stream.write(content[len(content) // 2 :])
    assert ticks.requested(ticks.tick()) == [], "changed since the last tick: still being written"
    assert ticks.requested(ticks.tick()) == [expected_key("diary", dropped)]


def written_minutes_ago(path: Path) -> Path:
    an_hour_ago_ns = time.time_ns() - 3600 * 10**9
    os.utime(path, ns=(an_hour_ago_ns, an_hour_ago_ns))
    return path


def test_a_whole_zip_untouched_for_two_seconds_runs_at_first_sight(ticks, data_dir):
    dropped = written_minutes_ago(Path(shutil.copyfile(ZIP, data_dir / "uploads" / ZIP.name)))
    assert ticks.requested(ticks.tick()) == [expected_key("letterboxd-choicehoney-2026-01-02", dropped)]
    assert ticks.requested(ticks.tick()) == []


def test_a_zip_written_just_now_waits_for_the_next_tick(ticks, data_dir):
    dropped = data_dir / "uploads" / ZIP.name
    dropped.write_bytes(ZIP.read_bytes())
    os.utime(dropped, ns=(time.time_ns(), time.time_ns()))  # its writer may not be done: no quiet time yet
    first = ticks.tick()
    assert ticks.requested(first) == []
    assert "waiting to settle" in first.skip_reason.skip_message
    assert ticks.requested(ticks.tick()) == [expected_key("letterboxd-choicehoney-2026-01-02", dropped)]


def test_a_half_written_zip_is_not_taken_at_first_sight_however_old(ticks, data_dir):
    dropped = data_dir / "uploads" / ZIP.name
    content = ZIP.read_bytes()
    dropped.write_bytes(content[: len(content) - 100])  # all but the end of its central directory
    written_minutes_ago(dropped)
    assert ticks.requested(ticks.tick()) == []

    with dropped.open("ab") as stream:
        stream.write(content[len(content) - 100 :])
    written_minutes_ago(dropped)
    assert ticks.requested(ticks.tick()) == [expected_key("letterboxd-choicehoney-2026-01-02", ZIP)]


def test_the_same_bytes_dropped_twice_make_one_partition(ticks, data_dir):
    written_minutes_ago(Path(shutil.copyfile(ZIP, data_dir / "uploads" / ZIP.name)))
    written_minutes_ago(Path(shutil.copyfile(ZIP, data_dir / "uploads" / "copy of my export.zip")))
    (requested,) = ticks.requested(ticks.tick())
    assert requested in (expected_key("letterboxd-choicehoney-2026-01-02", ZIP), expected_key("copy-of-my-export", ZIP))
    assert len(ticks.instance.get_dynamic_partitions(uploads_partitions.name)) == 1

    written_minutes_ago(Path(shutil.copyfile(ZIP, data_dir / "uploads" / "third.zip")))
    assert ticks.requested(ticks.tick()) == []
    assert len(ticks.instance.get_dynamic_partitions(uploads_partitions.name)) == 1


def test_a_bad_upload_does_not_stop_the_sensor_or_other_uploads(ticks, data_dir):
    uploads = data_dir / "uploads"
    (uploads / "broken.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    (uploads / "notes.csv").write_text("hello,world\n1,2\n")
    shutil.copyfile(EXTRATONE_DIARY, uploads / "diary.csv")
    ticks.tick()
    requested = ticks.requested(ticks.tick())
    # Bad files still become partitions: their runs fail with a message saying what is wrong.
    assert sorted(requested) == sorted(
        [
            expected_key("broken", uploads / "broken.zip"),
            expected_key("notes", uploads / "notes.csv"),
            expected_key("diary", uploads / "diary.csv"),
        ]
    )


def test_hidden_and_partial_files_are_ignored(ticks, data_dir):
    uploads = data_dir / "uploads"
    (uploads / ".DS_Store").write_bytes(b"x")
    (uploads / "export.zip.part").write_bytes(b"x")
    (uploads / "export.zip.crdownload").write_bytes(b"x")
    ticks.tick()
    assert ticks.requested(ticks.tick()) == []


def test_an_export_folder_is_one_upload(ticks, data_dir):
    folder = data_dir / "uploads" / "melvin export"
    shutil.copytree(LETTERBOXD / "melvincarvalho", folder)
    ticks.tick()
    (requested,) = ticks.requested(ticks.tick())
    assert requested.startswith("melvin-export-")


def test_a_file_changed_after_registration_is_a_new_upload(ticks, data_dir):
    dropped = data_dir / "uploads" / "diary.csv"
    shutil.copyfile(EXTRATONE_DIARY, dropped)
    ticks.tick()
    first = ticks.requested(ticks.tick())
    dropped.write_bytes(EXTRATONE_DIARY.read_bytes() + b"2024-01-01,Heat,1995,https://boxd.it/zz,4,,,2024-01-01\r\n")
    os.utime(dropped, ns=(1, 1))
    ticks.tick()
    second = ticks.requested(ticks.tick())
    assert second == [expected_key("diary", dropped)] and second != first


def test_settled_uploads_forgets_paths_that_disappeared():
    cursor = UploadCursor(seen={"a.csv": (1, 1, 1)}, registered={"a.csv": (1, 1, 1), "gone.csv": (2, 2, 1)})
    settled, next_cursor = settled_uploads(cursor, {"a.csv": (1, 1, 1), "b.csv": (3, 3, 1)}, set())
    assert settled == []
    assert next_cursor.registered == {"a.csv": (1, 1, 1)}
    assert UploadCursor.parse(next_cursor.dumps()) == next_cursor


def skip_logs(ticks: Ticks, name: str) -> list[str]:
    return [line for line in ticks.log.lines if line.startswith(f"uploads/{name}:")]


def melvin_folder(uploads: Path) -> Path:
    return Path(shutil.copytree(LETTERBOXD / "melvincarvalho", uploads / "melvin"))


def test_a_folder_holding_a_name_that_is_not_utf8_is_registered(ticks, data_dir):
    uploads = data_dir / "uploads"
    folder = melvin_folder(uploads)
    (folder / os.fsdecode(b"lists/caf\xe9.csv")).parent.mkdir()
    (folder / os.fsdecode(b"lists/caf\xe9.csv")).write_bytes(b"Date,Name\n")
    ticks.tick()
    (requested,) = ticks.requested(ticks.tick())
    assert requested.startswith("melvin-")


@pytest.mark.timeout(20)
def test_a_fifo_named_diary_csv_is_skipped_without_blocking(ticks, data_dir):
    uploads = data_dir / "uploads"
    os.mkfifo(uploads / "diary.csv")
    melvin_folder(uploads)
    ticks.tick()
    (requested,) = ticks.requested(ticks.tick())
    assert requested.startswith("melvin-")
    (message,) = skip_logs(ticks, "diary.csv")
    assert "named pipe" in message and "remove it" in message


def test_a_top_level_name_that_is_not_utf8_is_skipped_and_named_escaped(ticks, data_dir):
    uploads = data_dir / "uploads"
    shutil.copyfile(EXTRATONE_DIARY, uploads / os.fsdecode(b"caf\xe9\n.csv"))
    melvin_folder(uploads)
    ticks.tick()
    (requested,) = ticks.requested(ticks.tick())
    assert requested.startswith("melvin-")
    (message,) = skip_logs(ticks, r"caf\xe9\n.csv")
    assert "not valid UTF-8" in message and "rename it" in message


def test_a_skipped_entry_is_logged_once_per_process(ticks, data_dir):
    uploads = data_dir / "uploads"
    (uploads / "export.zip").symlink_to(data_dir / "nowhere.zip")
    for _ in range(4):
        ticks.tick()
    (message,) = skip_logs(ticks, "export.zip")
    assert "symbolic link" in message and str(data_dir / "nowhere.zip") in message

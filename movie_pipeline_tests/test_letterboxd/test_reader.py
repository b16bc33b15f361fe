"""Opening uploads in every shape, refusing broken ones with a usable message, recovering the rest."""

import pickle
import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest

from movie_pipeline.letterboxd.errors import (
    BinaryContent,
    BrokenZip,
    EmptyUpload,
    NotALetterboxdExport,
    UnsafeZipEntry,
    UploadError,
    UploadNotFound,
)
from movie_pipeline.letterboxd.reader import LetterboxdExport, open_upload, read_raw_rows
from movie_pipeline_tests.test_letterboxd.real_exports import root_files, upload_path

DIARY_HEADER = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\r\n"
DIARY = DIARY_HEADER + "2024-01-02,Arrival,2016,https://boxd.it/a1,4.5,,,2024-01-01\r\n"


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _raises(error_type: type[UploadError], path: Path) -> str:
    with pytest.raises(error_type) as raised:
        open_upload(path)
    return str(raised.value)


def _file_counts(path: Path) -> dict[str, int]:
    return dict(read_raw_rows(open_upload(path)).rows.group_by("source_file").len().iter_rows())


# --- shapes of an upload -------------------------------------------------------------------


def test_zip_with_a_single_top_folder_reads_like_the_flat_zip(tmp_path):
    flat = upload_path("choicehoney-zip")
    with zipfile.ZipFile(flat) as archive:
        members = {f"letterboxd-choicehoney/{name}": archive.read(name) for name in archive.namelist()}
    nested = _zip(tmp_path / "nested.zip", {**members, "__MACOSX/._diary.csv": b"\x00\x01"})

    assert _file_counts(nested) == _file_counts(flat)
    assert _file_counts(nested) == {name: len(file.records) for name, file in root_files("choicehoney-zip").items()}
    assert open_upload(nested).person == "choicehoney"


def test_folder_with_one_nested_top_folder(tmp_path):
    outer = tmp_path / "my export"
    shutil.copytree(upload_path("extratone"), outer / "extratone")
    (outer / ".DS_Store").write_bytes(b"\x00")

    assert _file_counts(outer) == _file_counts(upload_path("extratone"))


def test_only_root_files_are_read_not_deleted_or_orphaned():
    export = open_upload(upload_path("extratone"))

    assert set(export.files) == {"diary.csv", "watched.csv", "ratings.csv", "reviews.csv", "profile.csv"}
    assert set(read_raw_rows(export).rows["source_file"]) == {"diary.csv", "watched.csv", "ratings.csv", "reviews.csv"}


def test_lone_diary_csv(tmp_path):
    path = tmp_path / "diary.csv"
    shutil.copy(upload_path("countingthedots") / "diary.csv", path)
    export = open_upload(path)

    assert set(export.files) == {"diary.csv"}
    assert read_raw_rows(export).rows.height == len(root_files("countingthedots")["diary.csv"].records)
    assert (export.source_name, export.person) == ("diary.csv", None)


@pytest.mark.parametrize(
    ("fixture_file", "expected_kind"),
    [
        ("diary.csv", "diary.csv"),
        ("ratings.csv", "ratings.csv"),
        ("watched.csv", "watched.csv"),
        ("reviews.csv", "reviews.csv"),
    ],
)
def test_lone_csv_of_another_name_is_known_by_its_header(tmp_path, fixture_file, expected_kind):
    path = tmp_path / "My Letterboxd (1).csv"
    shutil.copy(upload_path("extratone") / fixture_file, path)

    assert set(open_upload(path).files) == {expected_kind}


def test_export_name_gives_person_and_time(tmp_path):
    path = tmp_path / "letterboxd-some_user-2026-01-21-11-21-utc.zip"
    shutil.copy(upload_path("choicehoney-zip"), path)
    without_profile = _zip(tmp_path / "letterboxd-other-2025-12-20-17-50-utc (1).zip", {"diary.csv": DIARY.encode()})

    assert open_upload(path).person == "choicehoney"  # profile.csv wins over the name
    assert open_upload(path).exported_at == "2026-01-21T11:21Z"
    assert (open_upload(without_profile).person, open_upload(without_profile).exported_at) == (
        "other",
        "2025-12-20T17:50Z",
    )


# --- whole-file failures -------------------------------------------------------------------


def test_csv_without_name_column_is_not_an_export(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Title,Released\nArrival,2016\n")
    message = _raises(NotALetterboxdExport, path)

    assert message.startswith("x.csv: line 1: no 'Name' column; ")
    assert "diary.csv, watched.csv or ratings.csv" in message


def test_folder_without_film_files_is_not_an_export(tmp_path):
    folder = tmp_path / "stuff"
    folder.mkdir()
    shutil.copy(upload_path("extratone") / "watchlist.csv", folder / "watchlist.csv")
    message = _raises(NotALetterboxdExport, folder)

    assert message.startswith("stuff: there is no diary.csv, watched.csv or ratings.csv at its top level; ")
    assert "Export your data" in message


def test_lone_watchlist_is_not_an_export(tmp_path):
    path = tmp_path / "watchlist.csv"
    shutil.copy(upload_path("extratone") / "watchlist.csv", path)

    assert "watchlist.csv: a watchlist holds films to see" in _raises(NotALetterboxdExport, path)


def test_diary_with_a_wrong_header_inside_a_zip(tmp_path):
    path = _zip(tmp_path / "e.zip", {"diary.csv": b"Date,Title,Year\n2024-01-01,Arrival,2016\n"})

    assert _raises(NotALetterboxdExport, path).startswith("e.zip/diary.csv: line 1: no 'Name' column; ")


def test_empty_file(tmp_path):
    path = tmp_path / "diary.csv"
    path.write_bytes(b"")
    message = _raises(EmptyUpload, path)

    assert message.startswith("diary.csv: the file is empty (0 bytes); ")
    assert "export your data again" in message


def test_empty_diary_inside_a_folder(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "diary.csv").write_bytes(b"")

    assert _raises(EmptyUpload, folder).startswith("export/diary.csv: the file is empty")


def test_zip_without_any_csv(tmp_path):
    path = _zip(tmp_path / "notes.zip", {"readme.txt": b"hello"})

    assert _raises(EmptyUpload, path).startswith("notes.zip: there is no csv file in it; ")


def test_nul_bytes_name_file_and_line(tmp_path):
    path = tmp_path / "diary.csv"
    path.write_bytes((DIARY + "2024-01-03,Her").encode() + b"\x00" + b"o,2013,,,,,\r\n")
    message = _raises(BinaryContent, path)

    assert message.startswith("diary.csv: line 3: it contains a NUL byte; ")
    assert "CSV UTF-8" in message


def test_text_that_is_not_utf16_after_a_utf16_byte_order_mark_is_binary(tmp_path):
    path = tmp_path / "diary.csv"
    path.write_bytes(DIARY.encode("utf-16") + b"\x00\xd8")  # a lone high surrogate

    assert "UTF-16" in _raises(BinaryContent, path)


def test_not_a_zip_at_all(tmp_path):
    path = tmp_path / "letterboxd-x.zip"
    path.write_bytes(b"this is not a zip file, just text")
    message = _raises(BrokenZip, path)

    assert message.startswith("letterboxd-x.zip: not a readable zip file")
    assert "download the export again" in message


def test_truncated_zip(tmp_path):
    data = upload_path("choicehoney-zip").read_bytes()
    path = tmp_path / "partial.zip"
    path.write_bytes(data[: len(data) // 2])

    assert _raises(BrokenZip, path).startswith("partial.zip: ")


def test_zip_entry_failing_its_crc(tmp_path):
    path = tmp_path / "crc.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("diary.csv", DIARY)
    data = bytearray(path.read_bytes())
    at = data.index(b"Arrival")
    data[at] = ord("B")  # same length, different bytes: only the CRC can tell
    path.write_bytes(bytes(data))
    message = _raises(BrokenZip, path)

    assert message.startswith("crc.zip/diary.csv: the entry cannot be unpacked")
    assert "CRC" in message


@pytest.mark.parametrize(
    "entry", ["../diary.csv", "/etc/diary.csv", "export/../../diary.csv", "C:/diary.csv", "../outside/"]
)
def test_zip_entry_escaping_its_folder(tmp_path, entry):
    path = _zip(tmp_path / "evil.zip", {"diary.csv": DIARY.encode(), entry: DIARY.encode()})
    message = _raises(UnsafeZipEntry, path)

    assert message.startswith(f"evil.zip: the entry {entry!r} points outside the zip's folder; ")
    assert "original zip" in message


def test_missing_upload(tmp_path):
    assert "no such file or folder" in _raises(UploadNotFound, tmp_path / "gone.zip")


def test_errors_survive_pickling():
    error = BinaryContent("diary.csv", "it contains a NUL byte", line=3)
    copy = pickle.loads(pickle.dumps(error))

    assert (type(copy), str(copy), copy.line) == (BinaryContent, str(error), 3)
    assert isinstance(copy, ValueError)


# --- recoveries and record splitting -------------------------------------------------------


def _read(data: bytes, name: str = "diary.csv"):
    return read_raw_rows(LetterboxdExport("t.zip", {name: data}, None, None))


def test_byte_order_mark_is_skipped_with_a_warning(tmp_path):
    path = tmp_path / "diary.csv"
    path.write_bytes(b"\xef\xbb\xbf" + DIARY.encode())
    result = read_raw_rows(open_upload(path))

    assert result.rows["date"].to_list() == ["2024-01-02"]
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("diary.csv: ") and "byte order mark" in result.warnings[0]


def test_windows_1252_text_is_decoded_with_a_warning(tmp_path):
    path = tmp_path / "diary.csv"
    path.write_bytes((DIARY + "2024-01-03,Amélie,2001,,,,,2024-01-02\r\n").encode("cp1252"))
    result = read_raw_rows(open_upload(path))

    assert result.rows["name"].to_list() == ["Arrival", "Amélie"]
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("diary.csv: line 3: ") and "cp1252" in result.warnings[0]


def test_lf_and_crlf_give_the_same_values():
    crlf = _read(DIARY.encode()).rows
    lf = _read(DIARY.replace("\r\n", "\n").encode()).rows

    assert crlf.drop("raw").equals(lf.drop("raw"))
    assert lf["raw"].to_list() == ["2024-01-02,Arrival,2016,https://boxd.it/a1,4.5,,,2024-01-01"]


def test_header_only_gives_no_rows():
    rows = _read(DIARY_HEADER.encode()).rows

    assert rows.height == 0
    assert rows.columns == [
        "source_file", "line", "date", "name", "year", "letterboxd_uri", "rating", "rewatch", "tags",
        "watched_date", "review", "problem", "raw",
    ]  # fmt: skip


def test_multi_line_field_counts_as_one_record_at_its_first_line():
    text = (
        "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Review,Tags,Watched Date\n"
        '2024-01-02,Arrival,2016,https://boxd.it/r1,,,"line one\n\nline three",,2024-01-01\n'
        "\n"
        "2024-01-05,Her,2013,https://boxd.it/r2,,,short,,2024-01-04\n"
    )
    rows = _read(text.encode(), "reviews.csv").rows

    assert rows["line"].to_list() == [2, 6]
    assert rows["review"].to_list() == ["line one\n\nline three", "short"]
    assert rows["raw"][0] == '2024-01-02,Arrival,2016,https://boxd.it/r1,,,"line one\n\nline three",,2024-01-01'


def test_wrong_field_count_is_kept_with_a_problem():
    text = DIARY + "2024-01-03,Dune, Part Two,2024,https://boxd.it/a2,5,,,2024-01-02\r\n2024-01-04,Her\r\n"
    rows = _read(text.encode()).rows

    assert rows["line"].to_list() == [2, 3, 4]
    assert rows["problem"].to_list() == [None, "9 fields where the header has 8", "2 fields where the header has 8"]
    assert rows["raw"][2] == "2024-01-04,Her"
    assert rows["name"][2] == "Her"


def test_absent_columns_and_empty_fields_are_null():
    rows = _read(b"Date,Name,Year,Letterboxd URI\n2024-01-02,Arrival,,\n", "watched.csv").rows

    assert rows.row(0, named=True) | {"raw": None} == {
        "source_file": "watched.csv", "line": 2, "date": "2024-01-02", "name": "Arrival", "year": None,
        "letterboxd_uri": None, "rating": None, "rewatch": None, "tags": None, "watched_date": None,
        "review": None, "problem": None, "raw": None,
    }  # fmt: skip
    assert rows.schema == pl.Schema(
        {"source_file": pl.String, "line": pl.Int64}
        | {c: pl.String for c in ("date", "name", "year", "letterboxd_uri", "rating", "rewatch", "tags")}
        | {c: pl.String for c in ("watched_date", "review", "problem", "raw")}
    )

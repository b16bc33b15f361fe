"""Uploads a careless or hostile user might drop: every record still read exactly, or the upload
refused with a message naming the file, what is wrong and what to do."""

import csv
import io
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from movie_pipeline.letterboxd import errors, reader
from movie_pipeline.letterboxd.parse import parse_export
from movie_pipeline.letterboxd.reader import (
    LetterboxdExport,
    open_upload,
    read_raw_rows,
)
from movie_pipeline_tests.test_letterboxd.real_exports import root_files, upload_path

HEADER = ["Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Tags", "Watched Date"]
ROWS = [
    ["2024-01-02", "Arrival", "2016", "https://boxd.it/a1", "4.5", "", "", "2024-01-01"],
    ["2024-01-03", "Dune, Part Two", "2024", "https://boxd.it/a2", "5", "", "", "2024-01-02"],
    ["2024-01-04", 'Say "Anything"', "1989", "https://boxd.it/a3", "", "Yes", "a, b", "2024-01-03"],
    ["2024-01-05", "Her", "2013", "https://boxd.it/a4", "3", "", "", "2024-01-04"],
]


def _csv_text(rows: list[list[str]], ending: str = "\r\n", delimiter: str = ",") -> str:
    stream = io.StringIO()
    csv.writer(stream, lineterminator=ending, delimiter=delimiter).writerows([HEADER, *rows])
    return stream.getvalue()


def _read(data: bytes, name: str = "diary.csv"):
    return read_raw_rows(LetterboxdExport("t.zip", {name: data}, None, None))


def _raises(error_type: type[errors.UploadError], path: Path) -> str:
    with pytest.raises(error_type) as raised:
        open_upload(path)
    return str(raised.value)


def _zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


# --- line endings --------------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["\r\n", "\n", "\r"])
def test_every_line_ending_reads_every_record(ending):
    rows = _read(_csv_text(ROWS, ending).encode()).rows

    assert rows["name"].to_list() == [row[1] for row in ROWS]
    assert rows["line"].to_list() == [2, 3, 4, 5]
    assert rows["problem"].null_count() == rows.height


def test_mixed_line_endings_read_every_record_numbered_by_any_ending():
    lines = _csv_text(ROWS, "\n").splitlines()
    text = lines[0] + "\r\n" + lines[1] + "\r" + lines[2] + "\n" + lines[3] + "\r" + lines[4] + "\r\n"
    rows = _read(text.encode()).rows

    assert rows["name"].to_list() == [row[1] for row in ROWS]
    assert rows["line"].to_list() == [2, 3, 4, 5]
    assert rows["raw"].to_list() == lines[1:]


def test_a_multi_line_field_with_lone_cr_keeps_its_text_and_the_next_line_number():
    review_header = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Review,Tags,Watched Date"
    text = f'{review_header}\r2024-01-02,Arrival,2016,https://boxd.it/r1,,,"one\rtwo\r\nthree",,2024-01-01\r2024-01-05,Her,2013,,,,ok,,2024-01-04\r'
    rows = _read(text.encode(), "reviews.csv").rows

    assert rows["review"].to_list() == ["one\rtwo\r\nthree", "ok"]
    assert rows["line"].to_list() == [2, 5]


# --- field size and quotes -----------------------------------------------------------------


def test_a_field_larger_than_the_csv_module_default_is_one_field():
    review = ("a long review, with commas and\nnew lines " * 8000)[: 300 * 1024]
    records = [
        ["2024-01-02", "Arrival", "2016", "https://boxd.it/r1", "", "", review, "", "2024-01-01"],
        ["2024-01-05", "Her", "2013", "https://boxd.it/r2", "", "", "short", "", "2024-01-04"],
    ]
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Review", "Tags", "Watched Date"])
    writer.writerows(records)
    rows = _read(stream.getvalue().encode(), "reviews.csv").rows

    assert rows["name"].to_list() == ["Arrival", "Her"]
    assert rows["review"].to_list() == [review, "short"]
    assert rows["line"].to_list() == [2, 3 + review.count("\n")]
    assert rows["problem"].null_count() == 2


def _diary_lines(*records: str) -> str:
    return "".join(f"{record}\n" for record in (",".join(HEADER), *records))


def _unquoted(row: list[str]) -> str:
    return ",".join(row)


def test_an_unclosed_quote_quarantines_its_record_naming_where_it_opened():
    arrival, her = _unquoted(ROWS[0]), _unquoted(ROWS[3])
    unclosed = '2024-01-09,"Never closed,2001,https://boxd.it/u,,,,2024-01-08'
    raw = _read(_diary_lines(arrival, unclosed, her, arrival.replace("a1", "a9")).encode()).rows
    parsed = parse_export(raw)

    assert raw["line"].to_list() == [2, 3]  # nothing guessed back out of the swallowed lines
    assert parsed.entries["name"].to_list() == ["Arrival"]
    (line, reason) = parsed.quarantine.select("line", "reason").row(0)
    assert line == 3
    assert reason.startswith("a quote opened on line 3 is not closed") and "2 more line(s), to line 5" in reason


def test_a_quote_closed_by_a_later_line_swallows_up_to_it_and_says_so():
    unclosed = '2024-01-09,"Never closed,2001,https://boxd.it/u,,,,2024-01-08'
    say_anything = _csv_text([ROWS[2]], "\n").split("\n")[1]  # its first quote closes the runaway one
    text = _diary_lines(_unquoted(ROWS[0]), unclosed, say_anything, _unquoted(ROWS[3]))
    parsed = parse_export(_read(text.encode()).rows)

    assert parsed.entries.select("line", "name").rows() == [(2, "Arrival"), (5, "Her")]
    assert say_anything.startswith('2024-01-04,"Say ""Anything""",')
    expected_reason = (
        "a quote opened on line 3 is not closed where its field ends, so the record runs over 1 more line(s), "
        "to line 4; no record was read from them"
    )
    assert parsed.quarantine.select("line", "reason").row(0) == (3, expected_reason)


def test_an_unclosed_quote_on_the_last_line_is_quarantined():
    text = _diary_lines(_unquoted(ROWS[0])) + '2024-01-09,Her,2013,,,,"x,2024-01-08'
    parsed = parse_export(_read(text.encode()).rows)

    assert parsed.entries["line"].to_list() == [2]
    assert parsed.quarantine.select("line", "reason").row(0)[1].startswith("a quote opened on line 3 is not closed")


def test_a_multi_line_review_is_not_a_runaway_quote():
    header = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Review,Tags,Watched Date"
    text = f'{header}\n2024-01-02,Arrival,2016,https://boxd.it/r1,,,"a ""quoted"" line\n\nand another",,2024-01-01\n'
    rows = _read(text.encode(), "reviews.csv").rows

    assert rows["problem"].to_list() == [None]
    assert rows["review"].to_list() == ['a "quoted" line\n\nand another']


def test_a_quote_inside_an_unquoted_field_is_text_not_an_opening():
    text = (
        _csv_text([], "\n") + '2024-01-02,Her "2",2013,,,,,2024-01-01\n' + _csv_text(ROWS[:1], "\n").split("\n", 1)[1]
    )
    rows = _read(text.encode()).rows

    assert rows["name"].to_list() == ['Her "2"', "Arrival"]
    assert rows["problem"].null_count() == 2


# --- encodings and separators --------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_tab_separated_text_is_read_with_a_warning(tmp_path, encoding):
    path = tmp_path / "diary.csv"
    path.write_bytes(_csv_text(ROWS, "\r\n", "\t").encode(encoding))
    read = read_raw_rows(open_upload(path))

    assert read.rows["name"].to_list() == [row[1] for row in ROWS]
    assert read.rows["tags"].to_list() == [None, None, "a, b", None]
    assert any("UTF-16" in warning for warning in read.warnings)
    assert any("tab" in warning for warning in read.warnings)


# --- links and special files in an export folder -------------------------------------------


def _export_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "uploads" / "export"
    shutil.copytree(upload_path("extratone"), folder)
    return folder


def test_a_link_to_a_file_outside_the_export_fails_naming_link_and_target(tmp_path):
    folder = _export_folder(tmp_path)
    outside = tmp_path / "somebody-else.csv"
    shutil.move(folder / "watched.csv", outside)
    (folder / "watched.csv").symlink_to(outside)
    message = _raises(errors.LinkOutsideExport, folder)

    assert message.startswith("export/watched.csv: ")
    assert os.path.realpath(outside) in message


def test_a_link_to_etc_passwd_is_never_read(tmp_path):
    folder = _export_folder(tmp_path)
    (folder / "lists").mkdir(exist_ok=True)
    (folder / "lists" / "passwd.csv").symlink_to("/etc/passwd")

    assert "/etc/passwd" in _raises(errors.LinkOutsideExport, folder)


def test_a_link_inside_the_export_is_read(tmp_path):
    folder = _export_folder(tmp_path)
    shutil.move(folder / "ratings.csv", folder / "deleted" / "ratings-copy.csv")
    (folder / "ratings.csv").symlink_to(Path("deleted") / "ratings-copy.csv")

    counts = dict(read_raw_rows(open_upload(folder)).rows.group_by("source_file").len().iter_rows())
    assert counts["ratings.csv"] == len(root_files("extratone")["ratings.csv"].records)


def test_a_fifo_named_diary_csv_is_refused_without_blocking(tmp_path):
    folder = _export_folder(tmp_path)
    (folder / "diary.csv").unlink()
    os.mkfifo(folder / "diary.csv")

    assert "not a regular file" in _raises(errors.NotAFile, folder)


def test_a_lone_fifo_upload_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "diary.csv")

    assert _raises(errors.NotAFile, tmp_path / "diary.csv").startswith("diary.csv: ")


def test_a_dangling_link_inside_the_export_is_unreadable(tmp_path):
    folder = _export_folder(tmp_path)
    (folder / "diary.csv").unlink()
    (folder / "diary.csv").symlink_to(folder / "gone.csv")

    assert _raises(errors.UnreadableFile, folder).startswith("export/diary.csv: ")


def test_a_member_name_that_is_not_utf8_is_shown_with_escapes(tmp_path):
    folder = _export_folder(tmp_path)
    bad_name = os.fsdecode(b"lists/caf\xe9.csv")
    (folder / "lists").mkdir(exist_ok=True)
    (folder / bad_name).symlink_to("/etc/hostname")
    message = _raises(errors.LinkOutsideExport, folder)

    assert "export/lists/caf\\xe9.csv" in message
    message.encode("utf-8")  # printable and storable as is


def test_an_upload_name_that_is_not_utf8_is_shown_with_escapes(tmp_path):
    path = tmp_path / os.fsdecode(b"diary-\xff.csv")
    path.write_text(_csv_text(ROWS))
    export = open_upload(path)

    assert export.source_name == "diary-\\xff.csv"
    assert export.label("diary.csv").encode("utf-8")


# --- zips: checked before anything is inflated ---------------------------------------------


def test_a_zip_with_too_many_entries_names_the_limit(tmp_path):
    members = {"diary.csv": _csv_text(ROWS).encode()} | {f"lists/{n}.csv": b"" for n in range(reader.MAX_ZIP_MEMBERS)}
    message = _raises(errors.ZipOverLimit, _zip(tmp_path / "many.zip", members))

    assert message.startswith("many.zip: ") and f"{reader.MAX_ZIP_MEMBERS:,}" in message


def test_a_zip_unpacking_past_the_total_limit_names_the_limit(tmp_path):
    # Members of 1 MiB each, each below the size at which the ratio is judged.
    block = (_csv_text(ROWS * 6000).encode())[: reader.RATIO_CHECKED_FROM_BYTES]
    count = reader.MAX_ZIP_UNCOMPRESSED_BYTES // len(block) + 1
    members = {"diary.csv": _csv_text(ROWS).encode()} | {f"lists/{n}.csv": block for n in range(count)}
    message = _raises(errors.ZipOverLimit, _zip(tmp_path / "big.zip", members))

    assert message.startswith("big.zip: ") and "MiB" in message and "limit" in message


def test_a_zip_member_compressed_beyond_the_ratio_limit_names_the_limit(tmp_path):
    repetitive = (_csv_text([ROWS[0]] * 40_000)).encode()
    message = _raises(errors.ZipOverLimit, _zip(tmp_path / "bomb.zip", {"diary.csv": repetitive}))

    assert message.startswith("bomb.zip/diary.csv: ") and f"{reader.MAX_COMPRESSION_RATIO} to 1" in message


def test_a_zip_member_inflating_past_its_declared_size_is_refused(tmp_path):
    data = _csv_text(ROWS * 1000).encode()
    path = _zip(tmp_path / "liar.zip", {"diary.csv": data})
    raw = bytearray(path.read_bytes())
    true_size = len(data).to_bytes(4, "little")
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        header = raw.index(signature)
        assert raw[header + size_at : header + size_at + 4] == true_size
        raw[header + size_at : header + size_at + 4] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(raw))

    assert _raises(errors.BrokenZip, path).startswith("liar.zip/diary.csv: ")


def test_the_real_zip_is_far_below_every_limit():
    with zipfile.ZipFile(upload_path("choicehoney-zip")) as archive:
        infos = archive.infolist()

    assert len(infos) * 100 < reader.MAX_ZIP_MEMBERS
    assert sum(info.file_size for info in infos) * 100 < reader.MAX_ZIP_UNCOMPRESSED_BYTES
    assert max(info.file_size / info.compress_size for info in infos) * 10 < reader.MAX_COMPRESSION_RATIO


def test_a_zip_inside_a_zip_says_so(tmp_path):
    inner = upload_path("choicehoney-zip").read_bytes()
    message = _raises(
        errors.ZipInsideZip, _zip(tmp_path / "outer.zip", {"letterboxd-choicehoney-2026-01-02.zip": inner})
    )

    assert message.startswith("outer.zip: ") and "letterboxd-choicehoney-2026-01-02.zip" in message
    assert "unzip" in message


def test_two_exports_in_one_zip_say_so(tmp_path):
    diary = _csv_text(ROWS).encode()
    path = _zip(tmp_path / "both.zip", {"letterboxd-a/diary.csv": diary, "letterboxd-b/diary.csv": diary})
    message = _raises(errors.SeveralExports, path)

    assert message.startswith("both.zip: ") and "letterboxd-a" in message and "letterboxd-b" in message


def test_an_encrypted_zip_says_it_is_password_protected(tmp_path):
    path = _zip(tmp_path / "secret.zip", {"diary.csv": _csv_text(ROWS).encode()})
    raw = bytearray(path.read_bytes())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        raw[raw.index(signature) + flags_at] |= 0x01  # the "encrypted" flag bit
    path.write_bytes(bytes(raw))
    message = _raises(errors.EncryptedZip, path)

    assert message.startswith("secret.zip: ") and "password" in message


def test_a_lone_csv_over_the_size_limit_names_the_limit(tmp_path):
    path = tmp_path / "diary.csv"
    with path.open("wb") as stream:
        stream.write(_csv_text(ROWS).encode())
        stream.truncate(reader.MAX_CSV_BYTES + 1)  # sparse: no disk used, and nothing may read it

    assert "64 MiB" in _raises(errors.UploadTooLarge, path)


def test_every_new_error_is_an_upload_error():
    new_types = [
        "LinkOutsideExport",
        "NotAFile",
        "UnreadableFile",
        "ZipOverLimit",
        "UploadTooLarge",
        "ZipInsideZip",
        "SeveralExports",
        "EncryptedZip",
    ]
    for name in new_types:
        assert issubclass(getattr(errors, name), errors.UploadError)
        assert re.fullmatch(r"f: line 2: p; .+", str(getattr(errors, name)("f", "p", line=2)))

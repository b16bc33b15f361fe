"""Hostile uploads, one case per class, each dropped beside a good real export in the same uploads/.

Whatever sits beside it, the good export is registered by the sensor and parsed with exact counts
(computed with the csv module alone). The hostile entry is either skipped by the sensor with a log
line naming it, ignored as no upload at all, registered and refused by raw_diary with an
`UploadError` naming the file, or read with exact counts and quarantine reasons.

Memory cases live in child processes under RLIMIT_AS: the sensor's in
test_sensors/test_upload_sensor_memory.py, the reader's (a 1 GiB zip bomb, a link to /dev/zero)
in test_letterboxd/test_reader_memory.py. Here the /dev/zero link is only ticked, never read.
"""

import codecs
import csv
import io
import logging
import os
import shutil
import socket
import stat
import threading
import zipfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import select

from movie_pipeline import database as db
from movie_pipeline.assets.ingest import parsed_movies, raw_diary
from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.letterboxd import errors, reader
from movie_pipeline_tests.materialize_support import metadata_of
from movie_pipeline_tests.test_letterboxd.real_exports import film_pairs, root_files, upload_path
from movie_pipeline_tests.test_sensors.upload_ticks import Ticks

GOOD_EXPORT = "melvincarvalho"
GOOD_NAME = "good-melvin"

HEADER = ["Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Tags", "Watched Date"]
ROWS = [
    ["2024-01-02", "Arrival", "2016", "https://boxd.it/a1", "4.5", "", "", "2024-01-01"],
    ["2024-01-03", "Dune, Part Two", "2024", "https://boxd.it/a2", "5", "", "", "2024-01-02"],
    ["2024-01-04", 'Say "Anything"', "1989", "https://boxd.it/a3", "", "Yes", "a, b", "2024-01-03"],
    ["2024-01-05", "Amélie", "2001", "https://boxd.it/a4", "3", "", "", "2024-01-04"],
]


# --- outcomes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Skipped:
    """The sensor leaves the entry out and logs once why, naming it (escaped) and saying what to do."""

    logged_name: str
    phrase: str


@dataclass(frozen=True)
class Ignored:
    """Not an upload at all (hidden, partial download, other file type): no partition, no log line."""


@dataclass(frozen=True)
class NotRegistered:
    """Still changing or gone by the next tick: no partition, and no tick raises."""


@dataclass(frozen=True)
class SameAsGood:
    """The good export's bytes under another name: the one partition already there."""


@dataclass(frozen=True)
class RegisteredOnly:
    """Registered; reading it is tested elsewhere, in a child process under RLIMIT_AS."""

    key_name: str


@dataclass(frozen=True)
class Fails:
    """Registered, and its raw_diary run fails with `errors.<error>`, naming the file first."""

    key_name: str
    error: str
    label: str
    phrase: str = ""  # "{outside}" stands for the folder outside uploads/


@dataclass(frozen=True)
class Reads:
    """Registered and read with exact counts; a warning and the quarantine reasons as given."""

    key_name: str
    diary_rows: int
    entries: int
    films: int
    reason: str | None = None  # in every quarantine row when given
    warning: str | None = None  # in a warning of raw_diary when given


@dataclass(frozen=True)
class ReadsLikeExport:
    """Registered and read with the counts of a real export (counted with the csv module)."""

    key_name: str
    export: str


@dataclass(frozen=True)
class Hostile:
    name: str
    build: Callable[[Path, Path, ExitStack], object]  # (uploads, outside, cleanups); what it returns is unused
    outcome: object
    between_ticks: Callable[[Path], None] | None = None


# --- building blocks -----------------------------------------------------------------------


def diary_text(rows: list[list[str]], ending: str = "\r\n", delimiter: str = ",") -> str:
    stream = io.StringIO()
    csv.writer(stream, lineterminator=ending, delimiter=delimiter).writerows([HEADER, *rows])
    return stream.getvalue()


def write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def zip_of(path: Path, members: dict[str, bytes | str]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def patch_zip_headers(path: Path, offsets: tuple[int, int], change: Callable[[bytearray, int], None]) -> None:
    """Apply `change` at an offset of the local header and of the central directory entry."""
    raw = bytearray(path.read_bytes())
    for signature, offset in zip((b"PK\x03\x04", b"PK\x01\x02"), offsets, strict=True):
        change(raw, raw.index(signature) + offset)
    path.write_bytes(bytes(raw))


def export_copy(uploads: Path, name: str, export: str = "quetzle-2016") -> Path:
    return Path(shutil.copytree(upload_path(export), uploads / name))


def link(path: Path, target: str | Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    path.symlink_to(target)


def unix_socket(path: Path, cleanups: ExitStack) -> None:
    server = cleanups.enter_context(socket.socket(socket.AF_UNIX))
    server.bind(str(path))


def churn(uploads: Path, cleanups: ExitStack) -> None:
    """Files and folders created and deleted without pause while the sensor ticks; each name is used
    once, so none can look settled."""
    stop = threading.Event()

    def create_and_delete() -> None:
        count = 0
        while not stop.is_set():
            count += 1
            file, folder = uploads / f"vanishing-{count}.csv", uploads / f"vanishing-{count}"
            write(file, diary_text(ROWS))
            for name in ("diary.csv", "lists/a.csv", "lists/b.csv"):
                write(folder / name, diary_text(ROWS))
            file.unlink()
            shutil.rmtree(folder)

    worker = threading.Thread(target=create_and_delete, daemon=True)
    worker.start()
    cleanups.callback(worker.join)
    cleanups.callback(stop.set)


def grow(path: Path) -> None:
    """A download in progress: more bytes on every tick."""
    with path.open("ab") as stream:
        stream.write(diary_text(ROWS).encode())


def too_many_members(uploads: Path) -> None:
    members = {"diary.csv": diary_text(ROWS)} | {f"lists/{n}.csv": b"" for n in range(reader.MAX_ZIP_MEMBERS)}
    zip_of(uploads / "many.zip", members)


def lying_sizes(uploads: Path) -> None:
    path = uploads / "liar.zip"
    zip_of(path, {"diary.csv": diary_text(ROWS * 100)})

    def declare_100_bytes(raw: bytearray, at: int) -> None:
        raw[at : at + 4] = (100).to_bytes(4, "little")

    patch_zip_headers(path, (22, 24), declare_100_bytes)


def encrypted(uploads: Path) -> None:
    path = uploads / "secret.zip"
    zip_of(path, {"diary.csv": diary_text(ROWS)})

    def set_encrypted_flag(raw: bytearray, at: int) -> None:
        raw[at] |= 0x01

    patch_zip_headers(path, (6, 8), set_encrypted_flag)


def huge_field_rows() -> list[list[str]]:
    tags = ("a long tag, with commas and\nnew lines " * 6000)[: 200 * 1024]
    return [*ROWS[:2], [*ROWS[2][:6], tags, ROWS[2][7]], ROWS[3]]


def unclosed_quote_text(after: list[list[str]]) -> str:
    """Two good rows, on line 4 a quote that its field does not close, then `after`."""
    runaway = '2024-01-09,"Never closed,2001,https://boxd.it/u,,,,2024-01-08\n'
    return diary_text(ROWS[:2], "\n") + runaway + diary_text(after, "\n").split("\n", 1)[1]


def mixed_endings_text() -> str:
    lines = diary_text(ROWS, "\n").splitlines()
    return lines[0] + "\r\n" + lines[1] + "\r" + lines[2] + "\n" + lines[3] + "\r" + lines[4] + "\r\n"


def oversized_csv(uploads: Path) -> None:
    path = uploads / "huge.csv"
    write(path, diary_text(ROWS))
    with path.open("r+b") as stream:
        stream.truncate(reader.MAX_CSV_BYTES + 1)  # sparse: no disk used


def link_inside(uploads: Path) -> None:
    folder = export_copy(uploads, "linked-in", "melvincarvalho")
    (folder / "ratings.csv").rename(folder / "deleted" / "ratings-moved.csv")
    link(folder / "ratings.csv", Path("deleted") / "ratings-moved.csv")


def deeply_nested(uploads: Path) -> None:
    write(uploads / "nested" / Path(*["level"] * 100) / "diary.csv", diary_text(ROWS))


def hidden_files(uploads: Path) -> None:
    for name in (".DS_Store", ".export.zip", "._diary.csv"):
        write(uploads / name, diary_text(ROWS))


def partial_downloads(uploads: Path) -> None:
    for suffix in (".part", ".crdownload", ".download", ".tmp"):
        write(uploads / f"export.zip{suffix}", b"PK")


# --- the classes ---------------------------------------------------------------------------

# The sensor's side: entries that are no file or folder, names, timing, partial and hidden files.
SENSOR_CASES = [
    Hostile(
        "fifo named diary.csv", lambda u, o, c: os.mkfifo(u / "diary.csv"), Skipped("diary.csv", "named pipe (FIFO)")
    ),
    Hostile("socket", lambda u, o, c: unix_socket(u / "export.zip", c), Skipped("export.zip", "a socket")),
    Hostile(
        "character device",
        lambda u, o, c: os.mknod(u / "diary.csv", 0o600 | stat.S_IFCHR, os.makedev(1, 3)),
        Skipped("diary.csv", "a device"),
    ),
    Hostile(
        "dangling link",
        lambda u, o, c: link(u / "export.zip", u / "gone.zip"),
        Skipped("export.zip", "symbolic link to"),
    ),
    Hostile(
        "link out of uploads",
        lambda u, o, c: link(u / "theirs", shutil.copytree(upload_path("quetzle-2016"), o / "theirs")),
        Skipped("theirs", "symbolic link to '{outside}/theirs'"),
    ),
    Hostile(
        "link to /dev/null", lambda u, o, c: link(u / "diary.csv", "/dev/null"), Skipped("diary.csv", "'/dev/null'")
    ),
    Hostile(
        "link to /dev/zero", lambda u, o, c: link(u / "diary.csv", "/dev/zero"), Skipped("diary.csv", "'/dev/zero'")
    ),
    Hostile(
        "link loop",
        lambda u, o, c: link(u / "loop.zip", "loop.zip"),
        Skipped("loop.zip", "symbolic link to 'loop.zip'"),
    ),
    Hostile(
        "top-level name not UTF-8",
        lambda u, o, c: write(u / os.fsdecode(b"di\xe4ry\x1b.csv"), diary_text(ROWS)),
        Skipped(r"di\xe4ry\x1b.csv", "not valid UTF-8; rename it"),
    ),
    Hostile(
        "fifo inside a folder",
        lambda u, o, c: os.mkfifo(export_copy(u, "piped") / "watched.csv.new"),
        Skipped("piped/watched.csv.new", "named pipe"),
    ),
    Hostile("files vanishing mid-scan", lambda u, o, c: churn(u, c), NotRegistered()),
    Hostile(
        "half-written file",
        lambda u, o, c: grow(u / "growing.csv"),
        NotRegistered(),
        between_ticks=lambda u: grow(u / "growing.csv"),
    ),
    Hostile(
        "hidden files",
        lambda u, o, c: hidden_files(u),
        Ignored(),
    ),
    Hostile(
        "partial downloads",
        lambda u, o, c: partial_downloads(u),
        Ignored(),
    ),
    Hostile("not a zip or csv", lambda u, o, c: write(u / "notes.txt", diary_text(ROWS)), Ignored()),
    Hostile("same bytes again", lambda u, o, c: export_copy(u, "my export again", GOOD_EXPORT), SameAsGood()),
    Hostile(
        "control characters in a name",
        lambda u, o, c: write(u / "my\ndiary\t(1).csv", diary_text(ROWS)),
        Reads("my-diary-1", diary_rows=4, entries=4, films=4),
    ),
    Hostile(
        "empty file", lambda u, o, c: write(u / "empty.csv", b""), Fails("empty", "EmptyUpload", "empty.csv", "empty")
    ),
    Hostile(
        "empty folder", lambda u, o, c: (u / "nothing").mkdir(), Fails("nothing", "EmptyUpload", "nothing", "no csv")
    ),
    Hostile(
        "deeply nested folders", lambda u, o, c: deeply_nested(u), Fails("nested", "NotALetterboxdExport", "nested")
    ),
    Hostile(
        "export inside one more folder",
        lambda u, o, c: export_copy(u, "wrapped/quetzle"),
        ReadsLikeExport("wrapped", "quetzle-2016"),
    ),
    Hostile(
        "name not UTF-8 inside a folder",
        lambda u, o, c: write(export_copy(u, "odd-names") / os.fsdecode(b"lists/caf\xe9.csv"), "Date,Name\n"),
        ReadsLikeExport("odd-names", "quetzle-2016"),
    ),
    Hostile(
        "link to /dev/zero inside a folder",
        lambda u, o, c: link(export_copy(u, "zeros") / "diary.csv", "/dev/zero"),
        RegisteredOnly("zeros"),
    ),
]

# The reader's side: links inside folders, zips, line endings, fields, encodings, separators, titles.
READER_CASES = [
    Hostile(
        "link out of the export folder",
        lambda u, o, c: link(
            export_copy(u, "linked-out") / "ratings.csv", shutil.copy(upload_path("afelka") / "ratings.csv", o)
        ),
        Fails("linked-out", "LinkOutsideExport", "linked-out/ratings.csv", "{outside}/ratings.csv"),
    ),
    Hostile(
        "link to /etc/passwd",
        lambda u, o, c: link(export_copy(u, "passwd") / "lists" / "passwd.csv", "/etc/passwd"),
        Fails("passwd", "LinkOutsideExport", "passwd/lists/passwd.csv", "/etc/passwd"),
    ),
    Hostile(
        "dangling link inside a folder",
        lambda u, o, c: link(export_copy(u, "dangling") / "diary.csv", "gone.csv"),
        Fails("dangling", "UnreadableFile", "dangling/diary.csv"),
    ),
    Hostile("link inside the export", lambda u, o, c: link_inside(u), ReadsLikeExport("linked-in", "melvincarvalho")),
    Hostile(
        "zip bomb by compression ratio",
        lambda u, o, c: zip_of(u / "bomb.zip", {"diary.csv": diary_text([ROWS[0]] * 40_000)}),
        Fails("bomb", "ZipOverLimit", "bomb.zip/diary.csv", "to 1"),
    ),
    Hostile(
        "zip with too many members",
        lambda u, o, c: too_many_members(u),
        Fails("many", "ZipOverLimit", "many.zip", "limit"),
    ),
    Hostile(
        "zip inside a zip",
        lambda u, o, c: zip_of(
            u / "outer.zip", {"letterboxd-choicehoney-2026-01-02.zip": upload_path("choicehoney-zip").read_bytes()}
        ),
        Fails("outer", "ZipInsideZip", "outer.zip", "unzip"),
    ),
    Hostile(
        "two exports in one zip",
        lambda u, o, c: zip_of(
            u / "both.zip", {"letterboxd-a/diary.csv": diary_text(ROWS), "letterboxd-b/diary.csv": diary_text(ROWS)}
        ),
        Fails("both", "SeveralExports", "both.zip", "letterboxd-b"),
    ),
    Hostile("encrypted zip", lambda u, o, c: encrypted(u), Fails("secret", "EncryptedZip", "secret.zip", "password")),
    Hostile(
        "broken zip",
        lambda u, o, c: write(u / "broken.zip", b"PK\x03\x04 this is not really a zip"),
        Fails("broken", "BrokenZip", "broken.zip"),
    ),
    Hostile(
        "zip slip",
        lambda u, o, c: zip_of(u / "slip.zip", {"diary.csv": diary_text(ROWS), "../../etc/cron.d/evil.csv": "x"}),
        Fails("slip", "UnsafeZipEntry", "slip.zip", "../../etc/cron.d/evil.csv"),
    ),
    Hostile(
        "zip member larger than declared",
        lambda u, o, c: lying_sizes(u),
        Fails("liar", "BrokenZip", "liar.zip/diary.csv"),
    ),
    Hostile(
        "zip renamed to .csv",
        lambda u, o, c: shutil.copy(upload_path("choicehoney-zip"), u / "diary-zip.csv"),
        Fails("diary-zip", "BinaryContent", "diary-zip.csv"),
    ),
    Hostile(
        "NUL bytes",
        lambda u, o, c: write(u / "nul.csv", diary_text(ROWS).replace("Arrival", "Arr\x00ival")),
        Fails("nul", "BinaryContent", "nul.csv", "NUL"),
    ),
    Hostile(
        "csv over the size limit", lambda u, o, c: oversized_csv(u), Fails("huge", "UploadTooLarge", "huge.csv", "MiB")
    ),
    Hostile(
        "a watchlist",
        lambda u, o, c: write(u / "watchlist.csv", diary_text(ROWS)),
        Fails("watchlist", "NotALetterboxdExport", "watchlist.csv", "watchlist"),
    ),
    Hostile(
        "csv of something else",
        lambda u, o, c: write(u / "books.csv", "title,author\nDune,Herbert\n"),
        Fails("books", "NotALetterboxdExport", "books.csv", "'Name'"),
    ),
    Hostile(
        "lone CR line endings",
        lambda u, o, c: write(u / "old-mac.csv", diary_text(ROWS, "\r")),
        Reads("old-mac", 4, 4, 4),
    ),
    Hostile(
        "mixed line endings", lambda u, o, c: write(u / "mixed.csv", mixed_endings_text()), Reads("mixed", 4, 4, 4)
    ),
    Hostile(
        "field over 128 KiB",
        lambda u, o, c: write(u / "long-tags.csv", diary_text(huge_field_rows(), "\n")),
        Reads("long-tags", 4, 4, 4),
    ),
    Hostile(
        "unclosed quote",
        lambda u, o, c: write(u / "unclosed.csv", unclosed_quote_text([ROWS[3], ROWS[3]])),
        Reads("unclosed", diary_rows=3, entries=2, films=2, reason="a quote opened on line 4 is not closed"),
    ),
    Hostile(
        "quote closed by a later line",
        lambda u, o, c: write(u / "runaway.csv", unclosed_quote_text(ROWS[2:])),  # Say "Anything" closes it
        Reads("runaway", diary_rows=4, entries=3, films=3, reason="runs over 1 more line(s), to line 5"),
    ),
    Hostile(
        "UTF-16 and tabs",
        lambda u, o, c: write(u / "excel.csv", diary_text(ROWS, "\r\n", "\t").encode("utf-16")),
        Reads("excel", 4, 4, 4, warning="UTF-16"),
    ),
    Hostile(
        "UTF-16 without a BOM",
        lambda u, o, c: write(u / "excel-le.csv", diary_text(ROWS, "\r\n", "\t").encode("utf-16-le")),
        Reads("excel-le", 4, 4, 4, warning="UTF-16"),
    ),
    Hostile(
        "blank titles",
        lambda u, o, c: write(
            u / "blank.csv",
            diary_text(
                [
                    *ROWS,
                    ["2024-02-01", " ", "2016", "", "", "", "", ""],
                    ["2024-02-02", "\t", "2016", "", "", "", "", ""],
                ]
            ),
        ),
        Reads("blank", diary_rows=6, entries=4, films=4, reason="blank"),
    ),
    Hostile(
        "wrong field count",
        lambda u, o, c: write(u / "ragged.csv", diary_text(ROWS) + "2024-02-01,Heat,1995\r\n"),
        Reads("ragged", diary_rows=5, entries=4, films=4, reason="3 fields where the header has 8"),
    ),
    Hostile(
        "semicolons",
        lambda u, o, c: write(u / "semicolons.csv", diary_text(ROWS, "\r\n", ";")),
        Reads("semicolons", 4, 4, 4, warning="';'"),
    ),
    Hostile(
        "byte order mark",
        lambda u, o, c: write(u / "bom.csv", codecs.BOM_UTF8 + diary_text(ROWS).encode()),
        Reads("bom", 4, 4, 4, warning="BOM"),
    ),
    Hostile(
        "Windows-1252 text",
        lambda u, o, c: write(u / "cp1252.csv", diary_text(ROWS).encode("cp1252")),
        Reads("cp1252", 4, 4, 4, warning="cp1252"),
    ),
    Hostile("header only", lambda u, o, c: write(u / "no-rows.csv", diary_text([])), Reads("no-rows", 0, 0, 0)),
]

CASES = SENSOR_CASES + READER_CASES


def test_the_matrix_has_at_least_40_classes():
    assert len({case.name for case in CASES}) == len(CASES) >= 40


# --- the test ------------------------------------------------------------------------------


def materialize(ticks: Ticks, assets: list, key: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets, partition_key=key, instance=ticks.instance, resources={"storage": ticks.storage}, raise_on_error=False
    )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    raised = failure.step_failure_data.user_failure_data
    assert raised is not None and raised.description is not None, "the step raised no dg.Failure with a description"
    return raised.description


def warnings_of(ticks: Ticks, result: dg.ExecuteInProcessResult) -> list[str]:
    return [entry.user_message for entry in ticks.instance.all_logs(result.run_id) if entry.level == logging.WARNING]


def assert_reads(ticks: Ticks, key: str, diary_rows: int, entries: int, films: int) -> dg.ExecuteInProcessResult:
    result = materialize(ticks, [raw_diary, parsed_movies], key)
    assert result.success
    raw, parsed = metadata_of(result, "raw_diary"), metadata_of(result, "parsed_movies")
    assert raw["dagster/row_count"] == diary_rows
    assert parsed["dagster/row_count"] == entries
    assert parsed["quarantined_rows"] == diary_rows - entries
    assert parsed["films"] == films
    return result


def registered(ticks: Ticks) -> dict[str, str]:
    return {
        key.rpartition("-")[0]: key
        for key in uploads_partitions.get_partition_keys(dynamic_partitions_store=ticks.instance)
    }


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_hostile_upload_beside_a_good_export(case, storage, data_dir, tmp_path):
    uploads, outside = data_dir / "uploads", tmp_path / "outside"
    outside.mkdir()
    shutil.copytree(upload_path(GOOD_EXPORT), uploads / GOOD_NAME)
    ticks = Ticks(storage)
    with ExitStack() as cleanups:
        case.build(uploads, outside, cleanups)
        for _ in range(3):
            ticks.tick()
            if case.between_ticks:
                case.between_ticks(uploads)

    keys = registered(ticks)
    good = root_files(GOOD_EXPORT)["diary.csv"].records
    assert_reads(ticks, keys[GOOD_NAME], diary_rows=len(good), entries=len(good), films=len(film_pairs(GOOD_EXPORT)))
    outcome = case.outcome
    skip_lines = [line for line in ticks.log.lines if "new upload partition" not in line]

    if isinstance(outcome, (Skipped, Ignored, NotRegistered, SameAsGood)):
        assert list(keys) == [GOOD_NAME]
    if isinstance(outcome, Skipped):
        (line,) = skip_lines  # once, although three ticks saw it
        assert line.startswith(f"uploads/{outcome.logged_name}: ")
        assert outcome.phrase.format(outside=outside) in line
        assert "remove it" in line or "rename it" in line
    elif isinstance(outcome, Ignored):
        assert skip_lines == []
    elif isinstance(outcome, SameAsGood):
        assert any("same bytes as the existing upload partition" in line for line in skip_lines)
    elif isinstance(outcome, RegisteredOnly):
        assert sorted(keys) == sorted([GOOD_NAME, outcome.key_name])
    elif isinstance(outcome, Fails):
        result = materialize(ticks, [raw_diary], keys[outcome.key_name])
        assert not result.success
        message = failure_message(result)
        assert message.startswith(outcome.label + ":")
        assert getattr(errors, outcome.error).advice in message
        assert outcome.phrase.format(outside=outside) in message
    elif isinstance(outcome, ReadsLikeExport):
        records = root_files(outcome.export)["diary.csv"].records
        result = materialize(ticks, [raw_diary, parsed_movies], keys[outcome.key_name])
        assert result.success
        raw, parsed = metadata_of(result, "raw_diary"), metadata_of(result, "parsed_movies")
        assert raw["dagster/row_count"] == len(records) == parsed["dagster/row_count"] + parsed["quarantined_rows"]
        assert parsed["films"] == len(film_pairs(outcome.export))
    elif isinstance(outcome, Reads):
        result = assert_reads(ticks, keys[outcome.key_name], outcome.diary_rows, outcome.entries, outcome.films)
        with ticks.storage.engine().connect() as conn:
            reasons = conn.scalars(
                select(db.quarantine.c.reason).where(db.quarantine.c.upload == keys[outcome.key_name])
            ).all()
        assert len(reasons) == outcome.diary_rows - outcome.entries
        assert all(outcome.reason in reason for reason in reasons) if outcome.reason else reasons == []
        if outcome.warning:
            assert any(outcome.warning in warning for warning in warnings_of(ticks, result))

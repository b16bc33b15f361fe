"""Open an upload (export zip, unzipped folder or lone csv) and read its CSV records as written.

Whole-file problems raise the errors of `errors.py` before anything is read; problems a reader
can recover from (';' or tab separators, a BOM, UTF-16 or non-UTF-8 text) become warnings, and a
record that cannot be split into the header's fields is kept with its `problem` set, never dropped.

Reading is bounded: a zip is judged by its directory before anything is inflated, a member never
inflates past its declared size, no csv is read past MAX_CSV_BYTES, and a folder's links must stay
inside it, so pipes and devices are never opened for reading.
"""

import codecs
import csv
import io
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from movie_pipeline.letterboxd.errors import (
    BinaryContent,
    BrokenZip,
    EmptyUpload,
    EncryptedZip,
    LinkOutsideExport,
    NotAFile,
    NotALetterboxdExport,
    SeveralExports,
    UnreadableFile,
    UnsafeZipEntry,
    UploadError,
    UploadNotFound,
    UploadTooLarge,
    ZipInsideZip,
    ZipOverLimit,
)
from movie_pipeline.letterboxd.uploads import printable_name, special_file_kind, visible_files

# Real exports are far below these (largest measured: a 0.84 MiB folder, a 17-entry zip of
# 0.22 MiB compressed 3.2 to 1 at most), yet a zip bomb of a few MB trips them before inflating.
MAX_ZIP_MEMBERS = 10_000  # a heavy list-maker's few hundred lists/*.csv, twenty times over
MAX_ZIP_UNCOMPRESSED_BYTES = 128 << 20  # all members together, as the zip's directory declares them
MAX_COMPRESSION_RATIO = 100  # csv text deflates 3 to 10 to 1; a bomb several hundred to 1
RATIO_CHECKED_FROM_BYTES = 1 << 20  # smaller members cannot hurt, and tiny files compress oddly
MAX_CSV_BYTES = 64 << 20  # one diary/watched/ratings/reviews csv: about 700,000 diary rows

ROW_FILES = ("diary.csv", "watched.csv", "ratings.csv", "reviews.csv")
FILM_LIST_FILES = ("diary.csv", "watched.csv", "ratings.csv")  # an export has at least one of these
PROFILE_FILE = "profile.csv"
REQUIRED_COLUMNS = ("Name", "Year", "Date")

HEADER_COLUMNS = {
    "Date": "date",
    "Name": "name",
    "Year": "year",
    "Letterboxd URI": "letterboxd_uri",
    "Rating": "rating",
    "Rewatch": "rewatch",
    "Tags": "tags",
    "Watched Date": "watched_date",
    "Review": "review",
}
VALUE_COLUMNS = tuple(HEADER_COLUMNS.values())
RAW_ROWS_SCHEMA = {
    "source_file": pl.String,
    "line": pl.Int64,
    **{column: pl.String for column in VALUE_COLUMNS},
    "problem": pl.String,
    "raw": pl.String,
}

# letterboxd-USER-2026-01-21-11-21-utc.zip, or the date-only form; browsers may add " (1)".
_EXPORT_NAME = re.compile(
    r"letterboxd-(?P<person>.+?)-(?P<date>\d{4}-\d{2}-\d{2})(?:-(?P<hour>\d{2})-(?P<minute>\d{2})-utc)?(?: \(\d+\))?",
    re.IGNORECASE,
)
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the line endings of universal newlines, and no others


@dataclass(frozen=True)
class LetterboxdExport:
    source_name: str  # the file or folder name as dropped
    files: Mapping[str, bytes]  # root file name (diary.csv, watched.csv, ...) -> bytes
    person: str | None  # Letterboxd username
    exported_at: str | None  # ISO date or date-time from the zip name

    def label(self, file_name: str) -> str:
        """How messages name one of the export's files."""
        if self.source_name.lower().endswith(".csv"):
            return self.source_name
        return f"{self.source_name}/{file_name}"


@dataclass(frozen=True)
class RawRead:
    rows: pl.DataFrame  # RAW_ROWS_SCHEMA
    warnings: list[str]


def open_upload(path: Path) -> LetterboxdExport:
    """Read the files the pipeline needs from a dropped zip, folder or csv."""
    name = printable_name(path.name)
    try:
        status = path.stat()
    except FileNotFoundError:
        raise UploadNotFound(printable_name(str(path)), "no such file or folder") from None
    except OSError as error:
        raise UnreadableFile(name, f"it cannot be opened ({error.strerror})") from error
    mode = status.st_mode
    if stat.S_ISDIR(mode):
        files = _folder_files(path, name)
    elif not stat.S_ISREG(mode):
        raise NotAFile(name, f"it is {special_file_kind(mode)}, not a regular file")
    elif status.st_size == 0:
        raise EmptyUpload(name, "the file is empty (0 bytes)")
    elif path.suffix.lower() == ".zip":
        files = _zip_files(path, name)
    else:
        return LetterboxdExport(name, _lone_csv_files(path, name), None, None)
    person, exported_at = _names_from_export_name(name if stat.S_ISDIR(mode) else name.rpartition(".")[0])
    return LetterboxdExport(name, files, _profile_username(files.get(PROFILE_FILE)) or person, exported_at)


def read_raw_rows(export: LetterboxdExport) -> RawRead:
    """One row per CSV record of the root diary, watched, ratings and reviews csv."""
    frames: list[pl.DataFrame] = []
    warnings: list[str] = []
    for file_name in ROW_FILES:
        if file_name in export.files:
            frame, file_warnings = _read_records(file_name, export.files[file_name], export.label(file_name))
            frames.append(frame)
            warnings.extend(file_warnings)
    rows = pl.concat(frames) if frames else pl.DataFrame(schema=RAW_ROWS_SCHEMA)
    return RawRead(rows, warnings)


# --- finding the export's files ------------------------------------------------------------


def _folder_files(folder: Path, name: str) -> dict[str, bytes]:
    members = visible_files(folder)
    inside = os.path.realpath(folder)
    for member in members:
        target = os.path.realpath(folder / member)
        if os.path.commonpath([inside, target]) != inside:
            raise LinkOutsideExport(
                f"{name}/{printable_name(member)}",
                f"it is a link to {printable_name(target)}, outside the export folder",
            )
    selected = _select_export_files(members, name)
    return _checked_files(
        {root_name: (f"{name}/{printable_name(member)}", folder / member) for root_name, member in selected.items()},
        _read_regular_file,
    )


def _zip_files(path: Path, name: str) -> dict[str, bytes]:
    with _open_regular_file(path, name) as stream:
        try:
            with zipfile.ZipFile(stream) as archive:
                infos = archive.infolist()
                _check_zip_directory(infos, name)
                selected = _select_export_files([info.filename for info in infos if not info.is_dir()], name)
                return _checked_files(
                    {
                        root_name: (f"{name}/{member}", archive.getinfo(member))
                        for root_name, member in selected.items()
                    },
                    lambda info, label: _read_member(archive, info, label),
                )
        except zipfile.BadZipFile as error:
            raise BrokenZip(name, f"not a readable zip file ({error})") from error


def _check_zip_directory(infos: list[zipfile.ZipInfo], name: str) -> None:
    """Refuse a zip by what its directory declares, before inflating any of it."""
    for info in infos:
        _reject_unsafe_entry(name, info.filename)
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ZipOverLimit(name, f"it holds {len(infos):,} entries, over the limit of {MAX_ZIP_MEMBERS:,}")
    if any(info.flag_bits & _ENCRYPTED_FLAG for info in infos):
        raise EncryptedZip(name, "it is a password-protected (encrypted) zip")
    total = sum(info.file_size for info in infos)
    if total > MAX_ZIP_UNCOMPRESSED_BYTES:
        raise ZipOverLimit(
            name, f"it would unpack to {_size(total)}, over the limit of {_size(MAX_ZIP_UNCOMPRESSED_BYTES)} in all"
        )
    for info in infos:
        if info.file_size >= RATIO_CHECKED_FROM_BYTES and info.file_size > MAX_COMPRESSION_RATIO * info.compress_size:
            ratio = info.file_size / max(info.compress_size, 1)
            raise ZipOverLimit(
                f"{name}/{info.filename}",
                f"it is compressed {ratio:,.0f} to 1, over the limit of {MAX_COMPRESSION_RATIO} to 1 (a zip bomb?)",
            )


_ENCRYPTED_FLAG = 0x1  # bit 0 of a zip entry's general purpose flags


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> bytes:
    _reject_oversized(info.file_size, label)
    try:
        with archive.open(info) as member:
            # Never trust the declared size: read one byte past it at most.
            data = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        # zipfile reports an unsupported compression method as NotImplementedError.
        raise BrokenZip(label, f"the entry cannot be unpacked ({error})") from error
    if len(data) != info.file_size:
        raise BrokenZip(label, f"the entry unpacks to other than its declared {info.file_size:,} bytes")
    return data


def _open_regular_file(path: Path, label: str) -> BinaryIO:
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFile(label, f"it is {special_file_kind(mode)}, not a regular file")
        # Should a pipe be swapped in after the check, opening it still cannot block.
        stream = open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb")  # noqa: SIM115 (the caller closes it)
    except OSError as error:
        raise UnreadableFile(label, f"it cannot be opened ({error.strerror})") from error
    mode = os.fstat(stream.fileno()).st_mode
    if not stat.S_ISREG(mode):
        stream.close()
        raise NotAFile(label, f"it is {special_file_kind(mode)}, not a regular file")
    return stream


def _read_regular_file(path: Path, label: str) -> bytes:
    with _open_regular_file(path, label) as stream:
        _reject_oversized(os.fstat(stream.fileno()).st_size, label)
        try:
            data = stream.read(MAX_CSV_BYTES + 1)  # bounded even if the file grows meanwhile
        except OSError as error:
            raise UnreadableFile(label, f"it cannot be read ({error.strerror})") from error
    _reject_oversized(len(data), label)
    return data


def _reject_oversized(size: int, label: str) -> None:
    if size > MAX_CSV_BYTES:
        raise UploadTooLarge(label, f"it is {_size(size)}, over the limit of {_size(MAX_CSV_BYTES)} for one csv file")


def _size(size: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):,.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def _reject_unsafe_entry(zip_name: str, member: str) -> None:
    parts = member.replace("\\", "/").split("/")
    if member.startswith(("/", "\\")) or _WINDOWS_DRIVE.match(member) or ".." in parts:
        raise UnsafeZipEntry(zip_name, f"the entry {member!r} points outside the zip's folder")


def _select_export_files(members: list[str], upload_name: str) -> dict[str, str]:
    """Root file name -> path inside the upload, at its top level or inside its single top folder."""
    visible = [member for member in members if not _is_hidden(member)]
    for prefix in ("", _single_top_folder(visible)):
        if prefix is None:
            continue
        at_root = {
            member[len(prefix) :].lower(): member
            for member in visible
            if member.startswith(prefix) and "/" not in member[len(prefix) :]
        }
        if any(name in at_root for name in FILM_LIST_FILES):
            return {name: at_root[name] for name in (*ROW_FILES, PROFILE_FILE) if name in at_root}
    raise _why_not_an_export(visible, upload_name)


def _why_not_an_export(visible: list[str], upload_name: str) -> UploadError:
    exports = sorted(
        {folder for folder, _, file in (m.partition("/") for m in visible) if file.lower() in FILM_LIST_FILES}
    )
    if len(exports) > 1:
        shown = ", ".join(f"{printable_name(folder)}/" for folder in exports)
        return SeveralExports(upload_name, f"it holds {len(exports)} exports ({shown}), not one")
    inner_zip = next((member for member in visible if member.lower().endswith(".zip")), None)
    if inner_zip is not None:
        return ZipInsideZip(
            upload_name, f"it holds a zip ({printable_name(inner_zip)}) instead of the export's csv files"
        )
    if not any(member.lower().endswith(".csv") for member in visible):
        return EmptyUpload(upload_name, "there is no csv file in it")
    return NotALetterboxdExport(upload_name, "there is no diary.csv, watched.csv or ratings.csv at its top level")


def _is_hidden(member: str) -> bool:
    # Finder's zips add __MACOSX/ and ._ files beside the real ones.
    return any(part.startswith(".") or part == "__MACOSX" for part in member.split("/"))


def _single_top_folder(members: list[str]) -> str | None:
    top_folders = {member.split("/", 1)[0] for member in members if "/" in member}
    return f"{top_folders.pop()}/" if len(top_folders) == 1 else None


def _lone_csv_files(path: Path, name: str) -> dict[str, bytes]:
    if path.stem.lower() == "watchlist":
        raise NotALetterboxdExport(name, "a watchlist holds films to see, not films seen")
    data = _read_regular_file(path, name)
    header = _checked_header(name, data)
    return {path.name.lower() if path.name.lower() in ROW_FILES else _kind_from_header(header): data}


def _kind_from_header(header: list[str]) -> str:
    if "Review" in header:
        return "reviews.csv"
    if "Watched Date" in header:
        return "diary.csv"
    if "Rating" in header:
        return "ratings.csv"
    return "watched.csv"


def _checked_files(sources: dict[str, tuple[str, Any]], read: Callable[[Any, str], bytes]) -> dict[str, bytes]:
    """Root file name -> bytes, each read and, but for profile.csv (only needed for a name), checked."""
    files = {}
    for root_name, (label, source) in sources.items():
        files[root_name] = read(source, label)
        if root_name != PROFILE_FILE:
            _checked_header(label, files[root_name])
    return files


def _checked_header(label: str, data: bytes) -> list[str]:
    """The header of an export csv, once sure the file is csv text with the columns needed."""
    if not data:
        raise EmptyUpload(label, "the file is empty (0 bytes)")
    text, _ = _decode(data, label)
    nul = text.find("\x00")
    if nul >= 0:
        raise BinaryContent(label, "it contains a NUL byte", line=_line_at(text, nul))
    header = _header_fields(_LINE_BREAK.split(text, maxsplit=1)[0])
    missing = next((column for column in REQUIRED_COLUMNS if column not in header), None)
    if missing is not None:
        raise NotALetterboxdExport(label, f"no {missing!r} column", line=1)
    return header


def _header_fields(first_line: str) -> list[str]:
    return [name.strip() for name in next(csv.reader([first_line], delimiter=_delimiter(first_line)), [])]


def _delimiter(header_line: str) -> str:
    counts = {delimiter: header_line.count(delimiter) for delimiter in (",", ";", "\t")}
    return max(counts, key=counts.__getitem__)  # on a tie the first, ','


def _names_from_export_name(stem: str) -> tuple[str | None, str | None]:
    match = _EXPORT_NAME.fullmatch(stem)
    if match is None:
        return None, None
    exported_at = match["date"] if match["hour"] is None else f"{match['date']}T{match['hour']}:{match['minute']}Z"
    return match["person"], exported_at


def _profile_username(data: bytes | None) -> str | None:
    if not data:
        return None
    text = data.decode("utf-8-sig", errors="replace")
    try:
        profile = next(csv.DictReader(io.StringIO(text, newline="")), None) or {}
    except csv.Error:
        return None
    return (profile.get("Username") or "").strip() or None


# --- reading records -----------------------------------------------------------------------


def _read_records(file_name: str, data: bytes, label: str) -> tuple[pl.DataFrame, list[str]]:
    text, warnings = _decode(data, label)
    # Split at "\r\n", "\r" and "\n" alike, keeping each ending, so line numbers and raw text are the file's own.
    lines = io.StringIO(text, newline="").readlines() or [""]
    delimiter = _delimiter(lines[0])
    if delimiter != ",":
        shown = "tabs" if delimiter == "\t" else repr(delimiter)
        warnings.append(
            f"{label}: the columns are separated by {shown} instead of ',' "
            f"(the file was probably re-saved by a spreadsheet), so it was read with {shown}."
        )
    _allow_fields_up_to(len(text))
    header, starts, records, problems, raws = _split_records(lines, delimiter)
    index_of: dict[str, int] = {}
    for index, name in enumerate(header):
        if name in HEADER_COLUMNS:
            index_of.setdefault(HEADER_COLUMNS[name], index)
    fields_by_index = list(zip(*records, strict=True)) if records else [()] * len(header)
    values = {
        column: fields_by_index[index_of[column]] if column in index_of else [None] * len(records)
        for column in VALUE_COLUMNS
    }
    frame = pl.DataFrame(
        {"source_file": [file_name] * len(records), "line": starts, **values, "problem": problems, "raw": raws},
        schema=RAW_ROWS_SCHEMA,
    ).with_columns(
        *(pl.when(pl.col(column) != "").then(pl.col(column)).alias(column) for column in VALUE_COLUMNS),
        pl.col("raw").str.strip_suffix("\n").str.strip_suffix("\r"),
    )
    return frame, warnings


def _decode(data: bytes, label: str) -> tuple[str, list[str]]:
    if data.startswith(codecs.BOM_UTF8):
        text, warnings = _decode(data[len(codecs.BOM_UTF8) :], label)
        return text, [f"{label}: the file starts with a UTF-8 byte order mark (BOM), which was skipped.", *warnings]
    utf16 = _utf16_encoding(data)
    if utf16 is not None:
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError as error:
            raise BinaryContent(
                label, f"it looks like UTF-16 text but is not ({error.reason} at byte {error.start})"
            ) from None
        warning = (
            f"{label}: the text is UTF-16 (as Excel saves 'Unicode Text'), not UTF-8, so it was read as UTF-16; "
            "dropping the file as Letterboxd exported it avoids this."
        )
        return text, [warning]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as error:
        line = _line_at(data[: error.start].decode("utf-8"), error.start)
        warning = (
            f"{label}: line {line}: the text is not UTF-8, so the file was read as Windows-1252 (cp1252); "
            "if titles look wrong, drop the file as Letterboxd exported it rather than a re-saved copy."
        )
        return data.decode("cp1252", errors="replace"), [warning]


def _utf16_encoding(data: bytes) -> str | None:
    """The codec of UTF-16 text, told by its byte order mark or, without one, by the ASCII header's
    zero high bytes."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = data[:64]
    if len(head) < 4:
        return None
    if all(head[0::2]) and not any(head[1::2]):
        return "utf-16-le"
    if not any(head[0::2]) and all(head[1::2]):
        return "utf-16-be"
    return None


def _line_at(text: str, index: int) -> int:
    return len(_LINE_BREAK.findall(text, 0, index)) + 1


def _allow_fields_up_to(size: int) -> None:
    # The csv module's field limit (128 KiB unless raised) is process-wide; a field over it makes the
    # reader fail midway and resume inside the quoted text. No field is longer than its file.
    if csv.field_size_limit() <= size:
        csv.field_size_limit(size + 1)


def _split_records(
    lines: list[str], delimiter: str
) -> tuple[list[str], list[int], list[list[str]], list[str | None], list[str]]:
    """The header, then per record: first line, fields padded to the header's width, problem, text
    (with its final line ending)."""
    reader = csv.reader(lines, delimiter=delimiter)
    header = [name.strip() for name in next(reader, [])]
    width = len(header)
    starts: list[int] = []
    records: list[list[str]] = []
    problems: list[str | None] = []
    raws: list[str] = []
    consumed = reader.line_num
    while True:
        problem = None
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            fields, problem = [], f"unreadable CSV record ({error})"
        end = reader.line_num
        if fields or problem:
            raw = lines[consumed] if end - consumed == 1 else "".join(lines[consumed:end])
            if end - consumed > 1 or end == len(lines):  # only there can a quote have run away
                problem = _runaway_quote(raw, consumed + 1, delimiter) or problem
            if problem is None and len(fields) != width:
                problem = f"{len(fields)} fields where the header has {width}"
            starts.append(consumed + 1)
            records.append(fields if problem is None else (fields + [""] * width)[:width])
            problems.append(problem)
            raws.append(raw)
        consumed = end
    return header, starts, records, problems, raws


def _runaway_quote(record: str, first_line: int, delimiter: str) -> str | None:
    """Why the record is unreadable if a quote in it never closes, or closes lines later with text
    right after it (not where a field ends): the csv module then swallows the lines in between."""
    field = _field_pattern(delimiter)
    position = 0
    while True:
        match = field.match(record, position)
        assert match is not None  # the empty field always matches
        body = match["body"]
        if body is not None and (match["close"] == "" or (match["tail"] and _LINE_BREAK.search(body))):
            quote_line = first_line + _line_at(record, match.start()) - 1
            last_line = first_line + len(_LINE_BREAK.findall(record.rstrip("\r\n")))
            return (
                f"a quote opened on line {quote_line} is not closed where its field ends, so the record "
                f"runs over {last_line - quote_line} more line(s), to line {last_line}; no record was read from them"
            )
        position = match.end()
        if not record.startswith(delimiter, position):
            return None
        position += len(delimiter)


@cache
def _field_pattern(delimiter: str) -> re.Pattern[str]:
    """One field as the csv module reads it: a quote opens a field only at its start, `""` inside is a
    quote character, and text after the closing quote is kept (`tail`)."""
    d = re.escape(delimiter)
    return re.compile(rf'"(?P<body>(?:[^"]|"")*+)(?P<close>"?)(?P<tail>[^{d}\r\n]*+)|[^"{d}\r\n][^{d}\r\n]*+|')

"""Open an upload (export zip, unzipped folder or lone csv) and read its CSV records as written.

Whole-file problems raise the errors of `errors.py` before anything is read; problems a reader
can recover from (';' separators, a BOM, non-UTF-8 text) become warnings, and a record that cannot
be split into the header's fields is kept with its `problem` set, never dropped.
"""

import codecs
import csv
import io
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from movie_pipeline.letterboxd.errors import (
    BinaryContent,
    BrokenZip,
    EmptyUpload,
    NotALetterboxdExport,
    UnsafeZipEntry,
    UploadNotFound,
)
from movie_pipeline.letterboxd.uploads import visible_files

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
    if not path.exists():
        raise UploadNotFound(str(path), "no such file or folder")
    if path.is_file() and path.stat().st_size == 0:
        raise EmptyUpload(path.name, "the file is empty (0 bytes)")
    if path.is_dir():
        files = _folder_files(path)
    elif path.suffix.lower() == ".zip":
        files = _zip_files(path)
    else:
        return LetterboxdExport(path.name, _lone_csv_files(path), None, None)
    person, exported_at = _names_from_export_name(path)
    return LetterboxdExport(path.name, files, _profile_username(files.get(PROFILE_FILE)) or person, exported_at)


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


def _folder_files(folder: Path) -> dict[str, bytes]:
    selected = _select_export_files(visible_files(folder), folder.name)
    return {
        root_name: _checked_csv(f"{folder.name}/{member}", (folder / member).read_bytes(), root_name)
        for root_name, member in selected.items()
    }


def _zip_files(path: Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                _reject_unsafe_entry(path.name, info.filename)
            members = [info.filename for info in archive.infolist() if not info.is_dir()]
            selected = _select_export_files(members, path.name)
            return {
                root_name: _checked_csv(f"{path.name}/{member}", _read_member(archive, member, path.name), root_name)
                for root_name, member in selected.items()
            }
    except zipfile.BadZipFile as error:
        raise BrokenZip(path.name, f"not a readable zip file ({error})") from error


def _read_member(archive: zipfile.ZipFile, member: str, zip_name: str) -> bytes:
    try:
        return archive.read(member)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
        # zipfile reports an unsupported compression method as NotImplementedError, an encrypted entry as RuntimeError.
        raise BrokenZip(f"{zip_name}/{member}", f"the entry cannot be unpacked ({error})") from error


def _reject_unsafe_entry(zip_name: str, member: str) -> None:
    parts = member.replace("\\", "/").split("/")
    if member.startswith(("/", "\\")) or _WINDOWS_DRIVE.match(member) or ".." in parts:
        raise UnsafeZipEntry(zip_name, f"the entry {member!r} points outside the zip's folder")


def _select_export_files(members: list[str], upload_name: str) -> dict[str, str]:
    """Root file name -> path inside the upload, at its top level or inside its single top folder."""
    visible = [member for member in members if not _is_hidden(member)]
    if not any(member.lower().endswith(".csv") for member in visible):
        raise EmptyUpload(upload_name, "there is no csv file in it")
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
    raise NotALetterboxdExport(upload_name, "there is no diary.csv, watched.csv or ratings.csv at its top level")


def _is_hidden(member: str) -> bool:
    # Finder's zips add __MACOSX/ and ._ files beside the real ones.
    return any(part.startswith(".") or part == "__MACOSX" for part in member.split("/"))


def _single_top_folder(members: list[str]) -> str | None:
    top_folders = {member.split("/", 1)[0] for member in members if "/" in member}
    return f"{top_folders.pop()}/" if len(top_folders) == 1 else None


def _lone_csv_files(path: Path) -> dict[str, bytes]:
    if path.stem.lower() == "watchlist":
        raise NotALetterboxdExport(path.name, "a watchlist holds films to see, not films seen")
    data = path.read_bytes()
    root_name = path.name.lower() if path.name.lower() in ROW_FILES else None
    return {root_name or _kind_from_header(_header_fields(data)): _checked_csv(path.name, data, root_name)}


def _kind_from_header(header: list[str]) -> str:
    if "Review" in header:
        return "reviews.csv"
    if "Watched Date" in header:
        return "diary.csv"
    if "Rating" in header:
        return "ratings.csv"
    return "watched.csv"


def _checked_csv(label: str, data: bytes, root_name: str | None) -> bytes:
    """The bytes, once sure they are a readable export csv (profile.csv is only needed for a name)."""
    if root_name == PROFILE_FILE:
        return data
    if not data:
        raise EmptyUpload(label, "the file is empty (0 bytes)")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise BinaryContent(label, "it contains a NUL byte", line=data.count(b"\n", 0, nul) + 1)
    header = _header_fields(data)
    missing = next((column for column in REQUIRED_COLUMNS if column not in header), None)
    if missing is not None:
        raise NotALetterboxdExport(label, f"no {missing!r} column", line=1)
    return data


def _header_fields(data: bytes) -> list[str]:
    first_line = data.split(b"\n", 1)[0].removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="replace")
    return [name.strip() for name in next(csv.reader([first_line], delimiter=_delimiter(first_line)), [])]


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _names_from_export_name(path: Path) -> tuple[str | None, str | None]:
    match = _EXPORT_NAME.fullmatch(path.name if path.is_dir() else path.stem)
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
    # Split on "\n" only, keeping the ending, so line numbers and raw text are the file's own.
    lines = io.StringIO(text, newline="\n").readlines() or [""]
    delimiter = _delimiter(lines[0])
    if delimiter != ",":
        warnings.append(
            f"{label}: the columns are separated by {delimiter!r} instead of ',' "
            f"(the file was probably re-saved by a spreadsheet), so it was read with {delimiter!r}."
        )
    header, starts, records, problems, raws = _split_records(lines, delimiter)
    index_of: dict[str, int] = {}
    for index, name in enumerate(header):
        if name in HEADER_COLUMNS:
            index_of.setdefault(HEADER_COLUMNS[name], index)
    fields_by_index = list(zip(*records)) if records else [()] * len(header)
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
    warnings = []
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
        warnings.append(f"{label}: the file starts with a UTF-8 byte order mark (BOM), which was skipped.")
    try:
        return data.decode("utf-8"), warnings
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        warnings.append(
            f"{label}: line {line}: the text is not UTF-8, so the file was read as Windows-1252 (cp1252); "
            "if titles look wrong, drop the file as Letterboxd exported it rather than a re-saved copy."
        )
        return data.decode("cp1252", errors="replace"), warnings


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
            if problem is None and len(fields) != width:
                problem = f"{len(fields)} fields where the header has {width}"
            starts.append(consumed + 1)
            records.append(fields if problem is None else (fields + [""] * width)[:width])
            problems.append(problem)
            raws.append(lines[consumed] if end - consumed == 1 else "".join(lines[consumed:end]))
        consumed = end
    return header, starts, records, problems, raws

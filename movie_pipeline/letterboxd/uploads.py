"""Upload identity: one dropped zip, folder or csv is one Dagster partition.

The key is a readable name plus a content hash, so the same bytes dropped twice (under any name
that gives the same safe name) map to the same partition, and an edited file gets a new one.

Anything can sit in the uploads folder, so nothing here follows a link, opens a file that is not a
regular one, or reads more than a bounded chunk at a time.
"""

import errno
import hashlib
import os
import re
import stat
import struct
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from movie_pipeline.letterboxd.errors import NotAFileOrFolder, UndecodableName, UnusableEntry, UploadNotFound

UPLOAD_SUFFIXES = (".zip", ".csv")
PARTIAL_DOWNLOAD_SUFFIXES = (".part", ".crdownload", ".tmp", ".download")
SAFE_NAME_MAX_CHARS = 60
HASH_CHARS = 12
HASH_CHUNK_BYTES = 1024 * 1024

# O_NONBLOCK: a FIFO swapped in after the lstat must not block the open; fstat then refuses it.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# No file is this long, so a link's record in a folder hash never reads like a file's.
_LINK_LENGTH_MARKER = (2**64 - 1).to_bytes(8, "big")

# A zip ends in its end-of-central-directory record (22 bytes, then a comment of up to 64 KiB), written last.
_END_RECORD = struct.Struct("<4s4x2xHIIH")  # signature, entries, directory size, directory offset, comment length
_END_RECORD_SIGNATURE = b"PK\x05\x06"
_DIRECTORY_ENTRY_SIGNATURE = b"PK\x01\x02"
_MAX_ZIP_COMMENT = 0xFFFF

_UNSAFE_RUN = re.compile(r"[^a-z0-9_]+")
_SEPARATOR_RUN = re.compile(r"[-_]{2,}")


@dataclass(frozen=True)
class UploadEntry:
    """A regular file or a link of an upload, as lstat saw it: links are never followed."""

    relative: bytes  # path inside a folder upload; the file's own name for a lone file
    path: Path
    size: int  # a link's size is the length of its target text
    mtime_ns: int
    is_link: bool


def is_candidate(path: Path) -> bool:
    """Whether the upload sensor should consider this entry of the uploads folder.

    Links and special files are candidates, so that they are reported rather than silently ignored."""
    name = path.name.lower()
    if name.startswith(".") or name.endswith(PARTIAL_DOWNLOAD_SUFFIXES):
        return False
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    return not stat.S_ISREG(mode) or name.endswith(UPLOAD_SUFFIXES)


def safe_name(path: Path) -> str:
    """The readable half of a key: the name without extension, reduced to [a-z0-9_-]."""
    stem = path.name if path.is_dir() else path.stem
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    name = _UNSAFE_RUN.sub("-", ascii_stem.lower())
    name = _SEPARATOR_RUN.sub("-", name)
    return name[:SAFE_NAME_MAX_CHARS].strip("-_") or "upload"


def printable_name(name: str | bytes) -> str:
    """A file name safe to show in a log line: undecodable bytes and control characters escaped."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)


def special_file_kind(mode: int) -> str:
    """What a message calls an entry that is not a regular file, by its mode."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def upload_entries(path: Path) -> list[UploadEntry]:
    """The files and links an upload is made of, sorted; raises UnusableEntry for anything else."""
    status = _upload_status(path)
    if stat.S_ISREG(status.st_mode):
        return [UploadEntry(os.fsencode(path.name), path, status.st_size, status.st_mtime_ns, is_link=False)]
    return _folder_entries(path)


def content_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes; of a folder, of its files' relative paths and bytes.

    Hidden files (.DS_Store and the like) are left out, so a file manager touching the folder does
    not turn it into a new upload. A link inside a folder counts by its target text, unread."""
    digest = hashlib.sha256()
    if stat.S_ISREG(_upload_status(path).st_mode):
        _hash_file(digest, path, printable_name(path.name), framed=False)
        return digest.hexdigest()
    for entry in _folder_entries(path):
        # Lengths make the stream unambiguous: no two different folders hash the same bytes.
        digest.update(_framed(entry.relative))
        if entry.is_link:
            digest.update(_LINK_LENGTH_MARKER + _framed(os.readlink(os.fsencode(entry.path))))
        else:
            _hash_file(digest, entry.path, _label(path, entry.relative), framed=True)
    return digest.hexdigest()


def upload_key(path: Path) -> str:
    """The dynamic partition key of an upload: `<safe name>-<first 12 hex of its SHA-256>`."""
    return f"{safe_name(path)}-{content_sha256(path)[:HASH_CHARS]}"


def zip_directory_is_whole(path: Path) -> bool:
    """Whether a zip file ends in its end record and the central directory that record describes lies whole
    right before it: what a zip written front to back has only once its last byte is there.

    Reads only the tail and the directory's first bytes. A zip64 or self-extracting zip (whose offsets are
    not plain) counts as not whole, so it waits for the sensor's stability rule like any other file."""
    descriptor = os.open(path, _OPEN_FLAGS)
    try:
        status = os.fstat(descriptor)
        size = status.st_size
        if not stat.S_ISREG(status.st_mode) or size < _END_RECORD.size:
            return False
        tail_start = max(0, size - _END_RECORD.size - _MAX_ZIP_COMMENT)
        tail = os.pread(descriptor, size - tail_start, tail_start)
        end = _end_record_at(tail)
        if end is None:
            return False
        entries, directory_size, directory_offset = (int(field) for field in _END_RECORD.unpack_from(tail, end)[1:4])
        if directory_offset + directory_size != tail_start + end:
            return False
        if entries == 0:
            return directory_size == 0
        return os.pread(descriptor, 4, directory_offset) == _DIRECTORY_ENTRY_SIGNATURE
    finally:
        os.close(descriptor)


def _end_record_at(tail: bytes) -> int | None:
    """Where in `tail` the end record starts whose comment runs exactly to the end, if any."""
    start = tail.rfind(_END_RECORD_SIGNATURE)
    while start >= 0:
        if start + _END_RECORD.size <= len(tail):
            comment_length = _END_RECORD.unpack_from(tail, start)[4]
            if start + _END_RECORD.size + comment_length == len(tail):
                return start
        start = tail.rfind(_END_RECORD_SIGNATURE, 0, start)
    return None


def find_upload(uploads_dir: Path, key: str) -> Path:
    """The top-level entry of `uploads_dir` whose key is `key`."""
    name_part = key.rpartition("-")[0]
    entries = sorted(uploads_dir.iterdir()) if uploads_dir.is_dir() else []
    for path in entries:
        # Hashing is the costly part, so only entries with the right name are hashed.
        if not (is_candidate(path) and safe_name(path) == name_part):
            continue
        try:
            if upload_key(path) == key:
                return path
        except (UnusableEntry, FileNotFoundError):
            continue  # not an upload, or gone: it cannot be the one with this key
    raise UploadNotFound(str(uploads_dir), f"no upload there has the key {key!r}")


def visible_files(folder: Path) -> list[str]:
    """Relative POSIX paths of the files under `folder`, sorted, hidden files and folders left out.

    Links (never followed, so a linked folder is one entry) and special files are listed too, so
    that a reader can refuse them by name."""
    return [os.fsdecode(relative) for relative in sorted(relative for relative, _ in _walk(folder))]


def require_utf8_name(path: Path) -> None:
    """Raise UndecodableName unless the entry's own name is valid UTF-8."""
    try:
        os.fsencode(path.name).decode("utf-8")
    except UnicodeDecodeError:
        raise UndecodableName(printable_name(path.name), "its name is not valid UTF-8") from None


def _upload_status(path: Path) -> os.stat_result:
    """lstat of a top-level entry, once sure it is a regular file or a folder."""
    status = os.lstat(path)
    if not (stat.S_ISREG(status.st_mode) or stat.S_ISDIR(status.st_mode)):
        raise NotAFileOrFolder(printable_name(path.name), f"it is {_kind(path, status)}, not a file or folder")
    return status


def _folder_entries(folder: Path) -> list[UploadEntry]:
    entries = []
    for relative, status in _walk(folder):
        is_link = stat.S_ISLNK(status.st_mode)
        path = folder / os.fsdecode(relative)
        if not (is_link or stat.S_ISREG(status.st_mode)):
            raise NotAFileOrFolder(_label(folder, relative), f"it is {_kind(path, status)}, not a file or folder")
        entries.append(UploadEntry(relative, path, status.st_size, status.st_mtime_ns, is_link))
    return sorted(entries, key=lambda entry: entry.relative)


def _walk(folder: Path) -> Iterator[tuple[bytes, os.stat_result]]:
    """Relative path (bytes, so any name works) and lstat of every visible non-folder entry under
    `folder`. Folder links are not entered; a stack instead of recursion, so any depth works."""
    root = os.fsencode(folder)
    pending = [b""]
    while pending:
        relative_dir = pending.pop()
        with os.scandir(os.path.join(root, relative_dir)) as scan:
            for item in scan:
                if item.name.startswith(b"."):
                    continue
                relative = os.path.join(relative_dir, item.name)
                status = item.stat(follow_symlinks=False)
                if stat.S_ISDIR(status.st_mode):
                    pending.append(relative)
                else:
                    yield relative, status


def _hash_file(digest: "hashlib._Hash", path: Path, label: str, framed: bool) -> None:
    """Feed a regular file's bytes to `digest` in bounded chunks, preceded by its length if `framed`."""
    descriptor = os.open(path, _OPEN_FLAGS)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise NotAFileOrFolder(label, f"it is {_kind(path, status)}, not a file or folder")
        if framed:
            digest.update(status.st_size.to_bytes(8, "big"))
        remaining = status.st_size
        while remaining:
            chunk = os.read(descriptor, min(HASH_CHUNK_BYTES, remaining))
            if not chunk:
                raise OSError(errno.EAGAIN, "it shrank while it was being read", str(path))
            digest.update(chunk)
            remaining -= len(chunk)
    finally:
        os.close(descriptor)


def _framed(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def _label(folder: Path, relative: bytes) -> str:
    return printable_name(os.fsencode(folder.name) + b"/" + relative)


def _kind(path: Path, status: os.stat_result) -> str:
    if stat.S_ISLNK(status.st_mode):
        return f"a symbolic link to '{printable_name(os.readlink(os.fsencode(path)))}'"
    return special_file_kind(status.st_mode)

"""Upload identity: one dropped zip, folder or csv is one Dagster partition.

The key is a readable name plus a content hash, so the same bytes dropped twice (under any name
that gives the same safe name) map to the same partition, and an edited file gets a new one.
"""

import hashlib
import os
import re
import unicodedata
from pathlib import Path

from movie_pipeline.letterboxd.errors import UploadNotFound

UPLOAD_SUFFIXES = (".zip", ".csv")
PARTIAL_DOWNLOAD_SUFFIXES = (".part", ".crdownload", ".tmp", ".download")
SAFE_NAME_MAX_CHARS = 60
HASH_CHARS = 12

_UNSAFE_RUN = re.compile(r"[^a-z0-9_]+")
_SEPARATOR_RUN = re.compile(r"[-_]{2,}")


def is_candidate(path: Path) -> bool:
    """Whether the upload sensor should consider this entry of the uploads folder."""
    name = path.name.lower()
    if name.startswith(".") or name.endswith(PARTIAL_DOWNLOAD_SUFFIXES):
        return False
    return path.is_dir() or name.endswith(UPLOAD_SUFFIXES)


def safe_name(path: Path) -> str:
    """The readable half of a key: the name without extension, reduced to [a-z0-9_-]."""
    stem = path.name if path.is_dir() else path.stem
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    name = _UNSAFE_RUN.sub("-", ascii_stem.lower())
    name = _SEPARATOR_RUN.sub("-", name)
    return name[:SAFE_NAME_MAX_CHARS].strip("-_") or "upload"


def content_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes; of a folder, of its files' relative paths and bytes.

    Hidden files (.DS_Store and the like) are left out, so a file manager touching the folder does
    not turn it into a new upload."""
    if not path.is_dir():
        with path.open("rb") as stream:
            return hashlib.file_digest(stream, "sha256").hexdigest()
    digest = hashlib.sha256()
    for relative in visible_files(path):
        data = (path / relative).read_bytes()
        # Lengths make the stream unambiguous: no two different folders hash the same bytes.
        encoded_name = relative.encode("utf-8")
        digest.update(len(encoded_name).to_bytes(8, "big") + encoded_name)
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def upload_key(path: Path) -> str:
    """The dynamic partition key of an upload: `<safe name>-<first 12 hex of its SHA-256>`."""
    return f"{safe_name(path)}-{content_sha256(path)[:HASH_CHARS]}"


def find_upload(uploads_dir: Path, key: str) -> Path:
    """The top-level entry of `uploads_dir` whose key is `key`."""
    name_part = key.rpartition("-")[0]
    entries = sorted(uploads_dir.iterdir()) if uploads_dir.is_dir() else []
    for path in entries:
        # Hashing is the costly part, so only entries with the right name are hashed.
        if is_candidate(path) and safe_name(path) == name_part and upload_key(path) == key:
            return path
    raise UploadNotFound(str(uploads_dir), f"no upload there has the key {key!r}")


def visible_files(folder: Path) -> list[str]:
    """Relative POSIX paths of the files under `folder`, sorted, hidden files and folders left out."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        relative_root = Path(root).relative_to(folder)
        found.extend((relative_root / name).as_posix() for name in files if not name.startswith("."))
    return sorted(found)

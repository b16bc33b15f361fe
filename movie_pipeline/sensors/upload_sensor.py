"""upload_sensor: a file or folder dropped into uploads/ becomes a partition and a run of the whole chain."""

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.jobs import upload_job
from movie_pipeline.letterboxd.errors import UnusableEntry
from movie_pipeline.letterboxd.uploads import (
    is_candidate,
    printable_name,
    require_utf8_name,
    upload_entries,
    upload_key,
    zip_directory_is_whole,
)
from movie_pipeline.resources import PipelineStorage

Signature = tuple[int, int, int]  # bytes, newest mtime_ns, files

# A whole zip nobody has written for this long is complete at first sight. Downloads, copies and zip tools write the
# end record last; the quiet time covers a tool that fills a file out of order (a preallocated download).
ZIP_QUIET_NS = 2_000_000_000


@dataclass
class UploadCursor:
    """What the last tick saw of each path, and which paths were already turned into partitions."""

    seen: dict[str, Signature] = field(default_factory=dict)
    registered: dict[str, Signature] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> "UploadCursor":
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            seen={k: tuple(v) for k, v in data["seen"].items()},
            registered={k: tuple(v) for k, v in data["registered"].items()},
        )

    def dumps(self) -> str:
        return json.dumps({"seen": self.seen, "registered": self.registered}, sort_keys=True)


def path_signature(path: Path) -> Signature:
    entries = upload_entries(path)
    return (sum(e.size for e in entries), max((e.mtime_ns for e in entries), default=0), len(entries))


def complete_at_first_sight(path: Path, signature: Signature, now_ns: int) -> bool:
    """Whether an upload is surely whole without waiting a tick: a zip whose central directory is whole, untouched for
    ZIP_QUIET_NS, and unchanged while it was looked at. Anything else waits for the stability rule."""
    _, newest_mtime_ns, files = signature
    if files != 1 or not path.name.lower().endswith(".zip") or now_ns - newest_mtime_ns < ZIP_QUIET_NS:
        return False
    try:
        return zip_directory_is_whole(path) and path_signature(path) == signature
    except (UnusableEntry, OSError):
        return False  # gone or swapped meanwhile: the next tick looks again


def settled_uploads(
    cursor: UploadCursor, observed: dict[str, Signature], complete: set[str]
) -> tuple[list[str], UploadCursor]:
    """Paths not registered yet that are no longer being written: `complete` ones, or ones that look the same as on
    the previous tick (the stability rule).

    A path whose bytes change after registration is a new upload and is picked up again."""
    settled = [
        path
        for path, signature in sorted(observed.items())
        if (path in complete or cursor.seen.get(path) == signature) and cursor.registered.get(path) != signature
    ]
    registered = {p: s for p, s in cursor.registered.items() if p in observed}
    return settled, UploadCursor(seen=dict(observed), registered=registered)


def content_hash_of(key: str) -> str:
    return key.rpartition("-")[2]


def observe_uploads(uploads_dir: Path) -> tuple[dict[str, Signature], dict[str, str]]:
    """The signature of each candidate entry, and why each entry that cannot be looked at is skipped.

    Each entry is judged alone, so one that vanishes, is no file or folder, or has an undecodable
    name never hides the others."""
    observed: dict[str, Signature] = {}
    skipped: dict[str, str] = {}
    if not uploads_dir.is_dir():
        return observed, skipped
    with os.scandir(uploads_dir) as entries:
        for entry in entries:
            path = Path(entry.path)
            if not is_candidate(path):
                continue
            try:
                # The reader copes with such a name, but the user should see it is not text.
                require_utf8_name(path)
                observed[entry.name] = path_signature(path)
            except (UnusableEntry, OSError) as error:
                skipped[entry.name] = skip_message(entry.name, error)
    return observed, skipped


def skip_message(name: str, error: UnusableEntry | OSError) -> str:
    if isinstance(error, UnusableEntry):
        return f"uploads/{error}"
    return (
        f"uploads/{printable_name(name)}: could not be read ({error.strerror or error}); it is looked at again "
        "on the next tick; if this stays, copy the export into the uploads folder again"
    )


class SkipLog:
    """Says why an entry is skipped once per entry and process, not on every tick. Entries no longer
    skipped are forgotten, so a folder of short-lived files does not grow it."""

    def __init__(self) -> None:
        self._said: set[tuple[Path, str]] = set()

    def warn_new(self, log: logging.Logger, skipped: dict[Path, str]) -> None:
        current = set(skipped.items())
        for _, message in sorted(current - self._said):
            log.warning(message)
        self._said = current


# The sensor is evaluated in the long-lived code-server process, so this remembers across ticks.
skip_log = SkipLog()


@dg.sensor(
    name="upload_sensor",
    job=upload_job,
    # Below the daemon's 5-second sensor loop, so every loop evaluates it: at 5, a loop that comes round a little early
    # finds the interval not yet over and skips it, leaving 10 s between ticks.
    minimum_interval_seconds=1,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Registers each settled upload in data/uploads/ as an `uploads` partition and runs all four assets: "
    "a whole zip at first sight, anything else once unchanged between two ticks.",
)
def upload_sensor(context: dg.SensorEvaluationContext, storage: PipelineStorage) -> dg.SensorResult:
    uploads_dir = storage.settings.uploads_dir
    cursor = UploadCursor.parse(context.cursor)
    observed, skipped = observe_uploads(uploads_dir)
    now_ns = time.time_ns()
    complete = {
        name
        for name, signature in observed.items()
        if cursor.registered.get(name) != signature and complete_at_first_sight(uploads_dir / name, signature, now_ns)
    }
    settled, next_cursor = settled_uploads(cursor, observed, complete)

    # The key ends in the content hash: the same bytes under another name are the same upload.
    known = {
        content_hash_of(key): key
        for key in uploads_partitions.get_partition_keys(dynamic_partitions_store=context.instance)
    }
    new_keys: list[str] = []
    for name in settled:
        try:
            key = upload_key(uploads_dir / name)
        except (UnusableEntry, OSError) as error:
            skipped[name] = skip_message(name, error)
            continue
        next_cursor.registered[name] = next_cursor.seen[name]
        same = known.get(content_hash_of(key))
        if same:
            context.log.info(
                f"uploads/{printable_name(name)}: same bytes as the existing upload partition {same}; nothing to do"
            )
            continue
        context.log.info(f"uploads/{printable_name(name)}: new upload partition {key}")
        known[content_hash_of(key)] = key
        new_keys.append(key)
    skip_log.warn_new(context.log, {uploads_dir / name: message for name, message in skipped.items()})

    if not new_keys:
        waiting = len(next_cursor.seen) - len(next_cursor.registered)
        return dg.SensorResult(
            cursor=next_cursor.dumps(),
            skip_reason=f"no new upload ({waiting} waiting to settle)" if waiting else "no new upload",
        )
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=key, run_key=f"upload:{key}") for key in new_keys],
        dynamic_partitions_requests=[uploads_partitions.build_add_request(new_keys)],
        cursor=next_cursor.dumps(),
    )

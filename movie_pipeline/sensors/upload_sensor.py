"""upload_sensor: a file or folder dropped into uploads/ becomes a partition and a run of the whole chain."""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.jobs import upload_job
from movie_pipeline.letterboxd.uploads import is_candidate, upload_key
from movie_pipeline.resources import PipelineStorage

Signature = tuple[int, int, int]  # bytes, newest mtime_ns, files


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
    if path.is_file():
        stat = path.stat()
        return (stat.st_size, stat.st_mtime_ns, 1)
    files = [p.stat() for p in path.rglob("*") if p.is_file()]
    return (sum(s.st_size for s in files), max((s.st_mtime_ns for s in files), default=0), len(files))


def settled_uploads(cursor: UploadCursor, observed: dict[str, Signature]) -> tuple[list[str], UploadCursor]:
    """Paths that look the same as on the previous tick (so no longer being written) and are not registered yet.

    A path whose bytes change after registration is a new upload and is picked up again."""
    settled = [
        path
        for path, signature in sorted(observed.items())
        if cursor.seen.get(path) == signature and cursor.registered.get(path) != signature
    ]
    registered = {p: s for p, s in cursor.registered.items() if p in observed}
    return settled, UploadCursor(seen=dict(observed), registered=registered)


def content_hash_of(key: str) -> str:
    return key.rpartition("-")[2]


def observe_uploads(uploads_dir: Path) -> dict[str, Signature]:
    if not uploads_dir.is_dir():
        return {}
    observed = {}
    for entry in os.scandir(uploads_dir):
        path = Path(entry.path)
        if is_candidate(path):
            try:
                observed[path.name] = path_signature(path)
            except OSError:
                continue  # vanished or unreadable mid-scan: look again next tick
    return observed


@dg.sensor(
    name="upload_sensor",
    job=upload_job,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Registers each settled upload in data/uploads/ as an `uploads` partition and runs all four assets.",
)
def upload_sensor(context: dg.SensorEvaluationContext, storage: PipelineStorage) -> dg.SensorResult | dg.SkipReason:
    uploads_dir = storage.settings.uploads_dir
    cursor = UploadCursor.parse(context.cursor)
    settled, next_cursor = settled_uploads(cursor, observe_uploads(uploads_dir))

    # The key ends in the content hash: the same bytes under another name are the same upload.
    known = {content_hash_of(key): key for key in context.instance.get_dynamic_partitions(uploads_partitions.name)}
    new_keys: list[str] = []
    for name in settled:
        try:
            key = upload_key(uploads_dir / name)
        except OSError as error:
            context.log.warning(f"uploads/{name}: could not be read ({error.strerror}); will try again")
            continue
        next_cursor.registered[name] = next_cursor.seen[name]
        same = known.get(content_hash_of(key))
        if same:
            context.log.info(f"uploads/{name}: same bytes as the existing upload partition {same}; nothing to do")
            continue
        context.log.info(f"uploads/{name}: new upload partition {key}")
        known[content_hash_of(key)] = key
        new_keys.append(key)

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

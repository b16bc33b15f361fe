"""overrides_sensor: an edit to overrides.csv re-enriches just the films it changes, within one 10-second tick.

Each tick reads the file (it is small) when its bytes changed, and compares what each line pins with the last
reading, kept in the cursor: a film whose pin was added, changed or removed is a changed film. Each upload holding
a changed film gets one run of enriched_movies + movie_stats (enrichment_sweep_job); its other films settle from
the film database without a request, a pinned film costs at most its details, and a film whose line is gone goes
back to matching. all_uploads_stats follows by its automation condition.

The uploads wait in the cursor and start one at a time, only while no other enrichment runs (as the sweep does):
two uploads holding the same film never both ask TMDB for it, and runs of one upload never overlap. A line that
cannot be used is logged with its line number and left out, like enriched_movies does; it never fails a run. A
file with no usable header changes nothing until it is fixed. The first tick takes the file as it is: runs before
it read the same file.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from sqlalchemy import select

from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.database import film_matches
from movie_pipeline.jobs import enrichment_sweep_job
from movie_pipeline.resources import PipelineStorage, TmdbResource
from movie_pipeline.runs import enriching_runs_in_flight
from movie_pipeline.tmdb.overrides import film_keys, read_overrides

NO_FILE = "none"  # the cursor's digest while there is no overrides.csv


@dataclass
class OverridesCursor:
    """The last reading of overrides.csv (its digest and pins), and the uploads still to re-enrich for it."""

    digest: str | None = None
    pins: dict[str, str] = field(default_factory=dict)  # Override.film -> Override.pin
    waiting: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str | None) -> "OverridesCursor":
        return cls(**json.loads(text)) if text else cls()

    def dumps(self) -> str:
        return json.dumps({"digest": self.digest, "pins": self.pins, "waiting": self.waiting}, sort_keys=True)


def file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return NO_FILE


def changed_films(before: dict[str, str], after: dict[str, str]) -> set[str]:
    """The Override.film values whose pin differs between two readings (added, changed or removed)."""
    return {film for film in before.keys() | after.keys() if before.get(film) != after.get(film)}


def uploads_holding(storage: PipelineStorage, films: set[str]) -> list[str]:
    """The uploads with a film that a line for one of `films` pins (or pinned), in upload order."""
    if not films:
        return []
    matches = film_matches.c
    query = select(matches.upload, matches.name, matches.year, matches.letterboxd_uri).order_by(matches.upload)
    holding: dict[str, None] = {}
    with storage.engine().connect() as conn:
        for upload, name, year, uri in conn.execute(query):
            if upload not in holding and films.intersection(film_keys(name, year, uri)):
                holding[upload] = None
    return list(holding)


def read_edit(
    context: dg.SensorEvaluationContext, storage: PipelineStorage, cursor: OverridesCursor
) -> OverridesCursor:
    """The cursor after this tick's look at overrides.csv: unchanged bytes cost one read and no query."""
    path = storage.settings.overrides_path
    digest = file_digest(path)
    if digest == cursor.digest:
        return cursor
    overrides = read_overrides(path)
    for problem in overrides.problems:
        context.log.warning(f"overrides.csv line left out: {problem}")
    if not overrides.readable:
        # A broken header (or a file being rewritten) would unpin every film at once: wait for a usable version.
        return OverridesCursor(digest, cursor.pins, cursor.waiting)
    pins = overrides.pins()
    if cursor.digest is None:
        return OverridesCursor(digest, pins)
    changed = changed_films(cursor.pins, pins)
    new = [upload for upload in uploads_holding(storage, changed) if upload not in cursor.waiting]
    if changed:
        context.log.info(f"overrides.csv changed the pins of {len(changed)} film(s), held by {len(new)} upload(s)")
    return OverridesCursor(digest, pins, cursor.waiting + new)


@dg.sensor(
    name="overrides_sensor",
    jobs=[enrichment_sweep_job],
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-runs enriched_movies + movie_stats for each upload holding a film whose overrides.csv line was "
    "added, changed or removed; one run at a time.",
)
def overrides_sensor(
    context: dg.SensorEvaluationContext, storage: PipelineStorage, tmdb: TmdbResource
) -> dg.SensorResult:
    cursor = read_edit(context, storage, OverridesCursor.parse(context.cursor))
    known = set(uploads_partitions.get_partition_keys(dynamic_partitions_store=context.instance))
    cursor.waiting = [upload for upload in cursor.waiting if upload in known]
    if not cursor.waiting:
        return dg.SensorResult(skip_reason="no upload waits for an overrides.csv edit", cursor=cursor.dumps())
    missing = tmdb.config().missing_credentials_reason()
    if missing:
        return dg.SensorResult(skip_reason=missing, cursor=cursor.dumps())
    in_flight = enriching_runs_in_flight(context.instance)
    if in_flight:
        run = in_flight[0]
        return dg.SensorResult(
            skip_reason=f"{len(cursor.waiting)} upload(s) wait for an overrides.csv edit while {run.job_name} run "
            f"{run.run_id} is in flight",
            cursor=cursor.dumps(),
        )
    upload, *rest = cursor.waiting
    cursor.waiting = rest
    context.log.info(f"re-enriching {upload} for an overrides.csv edit; {len(rest)} more upload(s) wait")
    request = dg.RunRequest(
        job_name=enrichment_sweep_job.name, partition_key=upload, tags={"movie_pipeline/trigger": "overrides"}
    )
    return dg.SensorResult(run_requests=[request], cursor=cursor.dumps())

"""`make demo` and `make dev`: run against real TMDB when credentials are set, else the bundled stand-in.

python -m movie_pipeline.launch demo   # the whole chain on the bundled sample, then a summary
python -m movie_pipeline.launch dev    # dagster dev (webserver + daemon) on this code location
"""

import argparse
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from movie_pipeline.settings import REPO_ROOT, load_settings
from movie_pipeline.tmdb.config import TmdbConfig

SAMPLE = REPO_ROOT / "data" / "sample" / "letterboxd-choicehoney-2026-01-02.zip"


@contextlib.contextmanager
def tmdb_or_standin() -> Iterator[None]:
    """With credentials in the environment, use them; without, serve the offline stand-in and point TMDB_* at it."""
    config = TmdbConfig.from_env(os.environ)
    if config.missing_credentials_reason() is None:
        print(f"TMDB: using {config.base_url} with your credentials")
        yield
        return
    from movie_pipeline.tmdb.standin import StandinOptions, StandinThread

    token = secrets.token_urlsafe(24)
    with StandinThread(StandinOptions(accepted_credentials=frozenset({token}))) as standin:
        os.environ["TMDB_BASE_URL"] = standin.base_url
        os.environ["TMDB_READ_ACCESS_TOKEN"] = token
        print(
            f"TMDB: no TMDB_API_KEY or TMDB_READ_ACCESS_TOKEN set, so using the bundled offline stand-in at "
            f"{standin.base_url} (about 12k real films released up to 2017; newer films come back not_found)"
        )
        yield


# Dagster's own recovery, which the repo-local instance turns on: run monitoring notices a run stuck starting or
# cancelling within seconds; run retries re-launch a run whose process died, not one whose asset failed (a bad
# upload fails the same way again); a finished or dead run's pool slots are freed. The sweep's own guard
# (movie_pipeline/runs.py) holds without any of this.
RECOVERY_SETTINGS = {
    "run_monitoring": {
        "enabled": True,
        "poll_interval_seconds": 5,
        "start_timeout_seconds": 120,
        "cancel_timeout_seconds": 120,
        "free_slots_after_run_end_seconds": 10,
    },
    "run_retries": {"enabled": True, "max_retries": 2, "retry_on_asset_or_op_failure": False},
}
# Drop to stats in `make dev` (benchmarks/bench_latency.py): the daemon looks at the run queue every second, not every
# 5, and evaluates sensors on threads, so the upload sensor's tick never waits behind the sweep sensor's.
LATENCY_SETTINGS: dict[str, dict[str, Any]] = {
    "run_queue": {"dequeue_interval_seconds": 1, "dequeue_use_threads": True},
    "sensors": {"use_threads": True},
}
NEW_INSTANCE_SETTINGS = {"telemetry": {"enabled": False}}  # quiet: no missing-file warning, no telemetry


def default_dagster_home() -> Path:
    """The operator's DAGSTER_HOME, untouched, when set; else a repo-local one, so demo runs show up in `make dev`."""
    if os.environ.get("DAGSTER_HOME"):
        home = Path(os.environ["DAGSTER_HOME"])
        home.mkdir(parents=True, exist_ok=True)
        return home
    home = REPO_ROOT / ".dagster_home"
    home.mkdir(exist_ok=True)
    bring_instance_config_up_to_date(home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def bring_instance_config_up_to_date(path: Path) -> None:
    """Write RECOVERY_SETTINGS and LATENCY_SETTINGS into the instance's dagster.yaml, keeping every other setting it
    has. An instance that names its own run coordinator keeps it: Dagster refuses `run_queue` beside one."""
    config = (yaml.safe_load(path.read_text()) or {}) if path.exists() else dict(NEW_INSTANCE_SETTINGS)
    settings: dict[str, dict[str, Any]] = {**RECOVERY_SETTINGS, **LATENCY_SETTINGS}
    if "run_coordinator" in config:
        del settings["run_queue"]
    updated = {**config, **{key: {**(config.get(key) or {}), **values} for key, values in settings.items()}}
    if updated != config or not path.exists():
        path.write_text(yaml.safe_dump(updated, sort_keys=False))


def run_demo() -> int:
    import dagster as dg

    from movie_pipeline.assets.partitions import uploads_partitions
    from movie_pipeline.letterboxd.uploads import upload_key

    settings = load_settings()
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    upload = settings.uploads_dir / SAMPLE.name
    if not upload.exists():
        shutil.copyfile(SAMPLE, upload)
    key = upload_key(upload)
    print(f"Sample: {upload} -> partition {key}")

    from movie_pipeline.definitions import defs

    with dg.DagsterInstance.get() as instance:
        added = uploads_partitions.build_add_request([key])  # what the upload sensor asks of Dagster
        instance.add_dynamic_partitions(added.partitions_def_name, added.partition_keys)
        result = defs.resolve_job_def("upload_job").execute_in_process(
            instance=instance,
            partition_key=key,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
    print_summary(result)
    return 0 if result.success else 1


SHOWN_METADATA = (
    "dagster/row_count",
    "quarantined_rows",
    "films",
    "found",
    "not_found",
    "pending",
    "overrides",
    "tmdb_requests",
    "cache_hits",
    "retries",
    "duration_s",
    "report_path",
)


def print_summary(result) -> None:
    print("\n=== Summary ===")
    for event in result.all_events:
        if event.is_step_failure:
            print(f"FAILED {event.step_key}: {event.step_failure_data.error.message.strip()}")
        if event.event_type_value != "ASSET_MATERIALIZATION":
            continue
        materialization = event.event_specific_data.materialization
        metadata = materialization.metadata
        shown = ", ".join(f"{k.removeprefix('dagster/')}={metadata[k].value}" for k in SHOWN_METADATA if k in metadata)
        print(f"{materialization.asset_key.to_user_string()}: {shown}")
        if "summary" in metadata:
            print(metadata["summary"].value)


def run_dev() -> int:
    command = [str(Path(sys.executable).parent / "dagster"), "dev", "-w", str(REPO_ROOT / "workspace.yaml")]
    return subprocess.call(command, cwd=REPO_ROOT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["demo", "dev"])
    args = parser.parse_args()
    home = default_dagster_home()
    print(f"DAGSTER_HOME: {home}")
    with tmdb_or_standin():
        return run_demo() if args.command == "demo" else run_dev()


if __name__ == "__main__":
    sys.exit(main())

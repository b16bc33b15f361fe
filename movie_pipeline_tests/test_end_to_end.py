"""A file drop against a real `dagster dev` (webserver + daemon), on loopback, with the TMDB stand-in."""

import csv
import os
import shutil
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from movie_pipeline import database as db
from movie_pipeline.assets.stats import ALL_UPLOADS
from movie_pipeline.tmdb.standin import StandinOptions, StandinThread
from movie_pipeline_tests.conftest import LETTERBOXD
from movie_pipeline_tests.dagster_dev import RUNS, SWEEP_TICKS, DagsterDev, failure_messages, partition_of, wait_for

pytestmark = pytest.mark.e2e
TOKEN = "end-to-end-token"


def distinct_films(export: Path) -> int:
    pairs = set()
    for name in ("diary.csv", "watched.csv", "ratings.csv", "reviews.csv"):
        with (export / name).open(encoding="utf-8", newline="") as stream:
            pairs |= {(row["Name"], row["Year"]) for row in csv.DictReader(stream)}
    return len(pairs)


def all_uploads_entries(engine) -> int | None:
    stats = db.movie_stats.c
    query = select(stats.count).where(
        stats.upload == ALL_UPLOADS, stats.period == "all", stats.section == "headline", stats.item == "entries"
    )
    with engine.connect() as conn:
        return conn.scalar(query)


def test_a_dropped_export_runs_the_whole_chain(tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "uploads").mkdir(parents=True)
    home = tmp_path / "dagster_home"
    home.mkdir()
    with StandinThread(StandinOptions(accepted_credentials=frozenset({TOKEN}))) as standin:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "MOVIE_PIPELINE_DATA_DIR": str(data_dir),
            "TMDB_BASE_URL": standin.base_url,
            "TMDB_READ_ACCESS_TOKEN": TOKEN,
            "TMDB_MAX_RATE": "200",
        }
        env.pop("MOVIE_PIPELINE_DATABASE_URL", None)
        dev = DagsterDev(env, tmp_path / "dagster_dev.log")
        try:
            dev.wait_until_up()
            shutil.copytree(LETTERBOXD / "melvincarvalho", data_dir / "uploads" / "melvincarvalho")
            (data_dir / "uploads" / "broken.zip").write_bytes(b"PK\x03\x04 half a zip")

            def finished_upload_runs():
                runs = {
                    partition_of(r): r
                    for r in dev.graphql(RUNS)["runsOrError"]["results"]
                    if r["jobName"] == "upload_job"
                }
                done = len(runs) == 2 and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs.values())
                return runs if done else None

            runs_by_upload = wait_for(finished_upload_runs, 240, "both upload runs to finish")
            partition = next(key for key in runs_by_upload if key.startswith("melvincarvalho-"))
            broken = next(key for key in runs_by_upload if key.startswith("broken-"))
            assert runs_by_upload[partition]["status"] == "SUCCESS", (tmp_path / "dagster_dev.log").read_text()[-5000:]
            # The bad upload fails its own run, with a message naming the file, and stops nothing else.
            assert runs_by_upload[broken]["status"] == "FAILURE"
            assert "broken.zip" in failure_messages(dev, runs_by_upload[broken]["runId"])

            # Meanwhile the sweep sensor ticks (>= 10 s apart, never overlapping runs), and the automation sensor
            # brings all_uploads_stats up to date.
            engine = create_engine(f"sqlite:///{data_dir / 'movie_pipeline.db'}")
            wait_for(lambda: all_uploads_entries(engine), 150, "all_uploads_stats to materialize")
            ticks = dev.graphql(SWEEP_TICKS)["sensorOrError"]["sensorState"]["ticks"]
            runs = dev.graphql(RUNS)["runsOrError"]["results"]
        finally:
            dev.stop()

    with engine.connect() as conn:
        films = conn.scalar(select(func.count()).select_from(db.films).where(db.films.c.upload == partition))
        matched = conn.scalar(
            select(func.count()).select_from(db.film_matches).where(db.film_matches.c.upload == partition)
        )
        entries = conn.scalar(select(func.count()).select_from(db.entries).where(db.entries.c.upload == partition))
    assert (entries, films, matched) == (59, *[distinct_films(LETTERBOXD / "melvincarvalho")] * 2)
    assert all_uploads_entries(engine) == entries
    assert (data_dir / "reports" / partition / "index.html").is_file()

    timestamps = sorted(t["timestamp"] for t in ticks)
    assert len(timestamps) >= 2
    assert all(later - earlier >= 9.5 for earlier, later in pairwise(timestamps))
    in_flight_together = [r for r in runs if r["status"] in ("STARTED", "STARTING", "QUEUED")]
    assert len(in_flight_together) <= 1

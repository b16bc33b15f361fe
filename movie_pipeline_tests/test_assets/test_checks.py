"""The checks of parsed_movies run in upload_job, read the film database, and the blocking ones stop enrichment.

A lost or doubled write is played by a SQLite trigger on the stored rows: parsed_movies runs unchanged, and what
the database keeps is no longer what it wrote, which is what the checks exist to catch.
"""

import shutil

import dagster as dg
import pytest
from sqlalchemy import func, select, text

from movie_pipeline import database as db
from movie_pipeline.assets.ingest import parsed_movies
from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.definitions import defs
from movie_pipeline.jobs import upload_job
from movie_pipeline.letterboxd.uploads import upload_key
from movie_pipeline.resources import TmdbResource
from movie_pipeline.stats.markdown import escape_markdown
from movie_pipeline.tmdb.standin import StandinOptions, StandinThread
from movie_pipeline_tests.conftest import LETTERBOXD

TOKEN = "checks-test-token-3f8a2d"
BLOCKING = {"entries_plus_quarantined_equal_diary_rows", "no_duplicate_entries"}
# melvincarvalho's first diary record (Iron Man, after the header on line 1) is a good entry.
FIRST_ENTRY_LINE, FIRST_ENTRY_URI = 2, "https://boxd.it/Thifn"


@pytest.fixture(scope="module")
def standin():
    with StandinThread(StandinOptions(accepted_credentials=frozenset({TOKEN}))) as standin:
        yield standin


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def run_upload_job(standin, storage, data_dir, instance):
    """Runs the code location's upload_job on melvincarvalho's export, with the test's storage and the stand-in."""
    key = upload_key(shutil.copytree(LETTERBOXD / "melvincarvalho", data_dir / "uploads" / "melvincarvalho"))
    storage.engine()  # the film database exists, so a test can install its tampering trigger before the run
    instance.add_dynamic_partitions(uploads_partitions.name, [key])
    tmdb = TmdbResource(base_url=standin.base_url, read_access_token=TOKEN, max_rate=200)
    location = dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=[upload_job],
        resources={"storage": storage, "tmdb": tmdb},
    )
    job = location.resolve_job_def(upload_job.name)
    return key, lambda: job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False)


def checks_of(result: dg.ExecuteInProcessResult) -> dict[str, tuple[bool, dict]]:
    """parsed_movies' check results: passed, and their metadata."""
    return {
        e.check_name: (e.passed, {k: v.value for k, v in e.metadata.items()})
        for e in result.get_asset_check_evaluations()
        if e.asset_key == parsed_movies.key
    }


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.materialization.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def stored_count(storage, table, key: str) -> int:
    with storage.engine().connect() as conn:
        return conn.scalar(select(func.count()).select_from(table).where(table.c.upload == key))


def tamper(storage, trigger: str) -> None:
    with storage.engine().begin() as conn:
        conn.execute(text(trigger))


def test_passing_checks_let_the_chain_run(run_upload_job, storage):
    key, run = run_upload_job
    result = run()
    assert result.success
    assert {name: passed for name, (passed, _) in checks_of(result).items()} == {
        "entries_plus_quarantined_equal_diary_rows": True,
        "ratings_in_half_steps": True,
        "no_duplicate_entries": True,
    }
    assert materialized(result) == {"raw_diary", "parsed_movies", "enriched_movies", "movie_stats"}
    assert stored_count(storage, db.film_matches, key) > 0


def test_a_lost_entry_write_fails_the_count_check_and_enrichment_does_not_run(run_upload_job, storage, standin):
    key, run = run_upload_job
    tamper(
        storage,
        f"CREATE TRIGGER lose_an_entry AFTER INSERT ON entries WHEN NEW.line = {FIRST_ENTRY_LINE} "
        "BEGIN DELETE FROM entries WHERE upload = NEW.upload AND line = NEW.line; END",
    )
    requests_before = standin.stats.request_count

    result = run()

    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "parsed_movies_entries_plus_quarantined_equal_diary_rows"
    (parsed,) = result.asset_materializations_for_node("parsed_movies")
    checks = checks_of(result)
    passed, counts = checks["entries_plus_quarantined_equal_diary_rows"]
    assert not passed
    assert counts["entries"] == parsed.metadata["dagster/row_count"].value - 1 and counts["unaccounted"] == 1
    assert counts["entries"] + counts["quarantined"] + counts["unaccounted"] == counts["diary_rows"]
    assert checks["no_duplicate_entries"][0] and checks["ratings_in_half_steps"][0]
    assert materialized(result) == {"raw_diary", "parsed_movies"}
    assert "enriched_movies" not in {e.step_key for e in result.all_events if e.is_step_start}
    assert stored_count(storage, db.film_matches, key) == stored_count(storage, db.movie_stats, key) == 0
    assert standin.stats.request_count == requests_before


def test_a_doubled_entry_write_fails_both_blocking_checks_naming_the_uri(run_upload_job, storage):
    _, run = run_upload_job
    columns = [c.name for c in db.entries.columns]
    copied = ["line + 100000" if name == "line" else name for name in columns]
    tamper(
        storage,
        f"CREATE TRIGGER double_an_entry AFTER INSERT ON entries WHEN NEW.line = {FIRST_ENTRY_LINE} "
        f"BEGIN INSERT INTO entries ({', '.join(columns)}) SELECT {', '.join(copied)} FROM entries "
        "WHERE upload = NEW.upload AND line = NEW.line; END",
    )

    result = run()

    assert not result.success
    checks = checks_of(result)
    assert {name for name, (passed, _) in checks.items() if not passed} == BLOCKING
    duplicates = checks["no_duplicate_entries"][1]
    assert duplicates["duplicated_entry_uris"] == 1 and escape_markdown(FIRST_ENTRY_URI) in duplicates["examples"]
    assert checks["entries_plus_quarantined_equal_diary_rows"][1]["unaccounted"] == -1
    assert materialized(result) == {"raw_diary", "parsed_movies"}

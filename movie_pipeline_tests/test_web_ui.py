"""The Dagster web UI in Debian's Chromium (Playwright), against a real `dagster dev` with the TMDB stand-in.

Two real exports are dropped, so upload_sensor registers them and runs the chain; then the test does what a user
does in the UI: reads the asset graph, materializes one partition from an asset page, backfills enrichment and
stats over both uploads, and reads the enrichment progress in a run's logs. Screenshots go to artifacts/web_ui/."""

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FloatRect, Locator, Page, expect, sync_playwright

from movie_pipeline.definitions import defs
from movie_pipeline.settings import REPO_ROOT
from movie_pipeline.tmdb.standin import StandinOptions, StandinThread
from movie_pipeline_tests.conftest import LETTERBOXD
from movie_pipeline_tests.dagster_dev import RUNS, DagsterDev, partition_of, wait_for
from movie_pipeline_tests.test_end_to_end import distinct_films

pytestmark = pytest.mark.e2e
TOKEN = "web-ui-token"
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = REPO_ROOT / "artifacts" / "web_ui"
UPLOADS = ("melvincarvalho", "quetzle-2016")
ASSET_SPECS = defs.resolve_all_asset_specs()
# The UI updates over its websocket; on a loaded machine a run can take a minute to start and finish.
UI_TIMEOUT_MS = 150_000


@contextmanager
def running_dagster_dev(tmp_path: Path) -> Iterator[tuple[DagsterDev, Path]]:
    """`dagster dev` on a temp DAGSTER_HOME and data folder, enriching from the stand-in; the whole tree stops after."""
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
        }
        env.pop("MOVIE_PIPELINE_DATABASE_URL", None)
        dev = DagsterDev(env, tmp_path / "dagster_dev.log")
        try:
            dev.wait_until_up()
            yield dev, data_dir
        finally:
            dev.stop()


@contextmanager
def browser_page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A page of the UI; a failure leaves a screenshot of what the page showed."""
    page = browser.new_page(base_url=base_url, viewport={"width": 1600, "height": 900})
    try:
        yield page
    except BaseException:
        page.screenshot(path=SCREENSHOTS / "failure.png")
        raise
    finally:
        page.close()


def skip_community_invitation(page: Page) -> None:
    """Dismiss the invitation a fresh DAGSTER_HOME shows once, shortly after the first page loads.

    Dismissed up front, it cannot pop up over a later dialog and swallow its clicks."""
    page.goto("/")
    page.get_by_role("button", name="Skip").click()
    expect(page.get_by_text("Join the Dagster community")).to_be_hidden()


def upload_runs_succeeded(dev: DagsterDev) -> dict[str, str] | None:
    """Partition key by upload name, once upload_sensor's run of each dropped export has succeeded."""
    runs = [r for r in dev.graphql(RUNS)["runsOrError"]["results"] if r["jobName"] == "upload_job"]
    finished = [r for r in runs if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
    if len(finished) < len(UPLOADS):
        return None
    assert all(r["status"] == "SUCCESS" for r in finished), finished
    keys = [partition_of(r) or "" for r in finished]
    return {name: next(key for key in keys if key.startswith(f"{name}-")) for name in UPLOADS}


def run_status(dev: DagsterDev, run_id: str) -> str:
    query = f'{{ runOrError(runId: "{run_id}") {{ ... on Run {{ status }} }} }}'
    return dev.graphql(query)["runOrError"]["status"]


def finished_backfill_runs(dev: DagsterDev, backfill_id: str, partitions: list[str]) -> dict[str, dict] | None:
    """The backfill's runs by partition, once there is a finished one for each partition."""
    runs = dev.graphql(RUNS)["runsOrError"]["results"]
    tagged = [r for r in runs if {"key": "dagster/backfill", "value": backfill_id} in r["tags"]]
    finished = {partition_of(r) or "": r for r in tagged if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")}
    return finished if sorted(finished) == sorted(partitions) else None


def encloses(outer: FloatRect, inner: FloatRect | None) -> bool:
    if inner is None:
        return False
    horizontally = outer["x"] <= inner["x"] and inner["x"] + inner["width"] <= outer["x"] + outer["width"]
    vertically = outer["y"] <= inner["y"] and inner["y"] + inner["height"] <= outer["y"] + outer["height"]
    return horizontally and vertically


def around(boxes: list[FloatRect], margin: float) -> FloatRect:
    left, top = min(b["x"] for b in boxes) - margin, min(b["y"] for b in boxes) - margin
    right = max(b["x"] + b["width"] for b in boxes) + margin
    bottom = max(b["y"] + b["height"] for b in boxes) + margin
    return {"x": left, "y": top, "width": right - left, "height": bottom - top}


def check_asset_graph(page: Page) -> FloatRect:
    """Every asset is drawn inside the box of its group; the area of the groups."""
    groups = {spec.key.to_user_string(): spec.group_name or "default" for spec in ASSET_SPECS}
    expanded = ",".join(f"global@global:{group}" for group in sorted(set(groups.values())))
    page.goto(f"/asset-groups?expanded={expanded}")
    group_boxes: list[FloatRect] = []
    for asset, group in groups.items():
        name = page.get_by_text(asset, exact=True)
        expect(name).to_be_visible()
        group_box = page.locator("foreignObject.group").filter(has_text=re.compile(rf"^{group}$")).bounding_box()
        assert group_box and encloses(group_box, name.bounding_box()), f"{asset} is not drawn inside group {group}"
        group_boxes.append(group_box)
    return around(group_boxes, margin=24)


def choose_partitions(page: Page, dialog: Locator, keys: list[str]) -> None:
    dialog.get_by_text("Select a partition or create one").click()
    for key in keys:
        page.get_by_role("menuitem", name=key).click()
    page.keyboard.press("Escape")
    expect(dialog.get_by_text(f"{len(keys)} partition")).to_be_visible()


def materialize_from_asset_page(page: Page, asset: str, partition: str) -> str:
    """Launch one run of `asset` for `partition` from its asset page; the run id, from the toast's link."""
    page.goto(f"/assets/{asset}")
    page.get_by_role("button", name="Materialize…").click()
    dialog = page.get_by_role("dialog").filter(has_text=f"Launch runs to materialize {asset}")
    choose_partitions(page, dialog, [partition])
    dialog.get_by_role("button", name="Launch 1 run").click()
    view = page.get_by_role("link", name="View", exact=True)
    expect(view).to_be_visible()
    return (view.get_attribute("href") or "").rpartition("/")[2]


def backfill_from_catalog(page: Page, assets: list[str], partitions: list[str]) -> str:
    """Tick `assets` in the catalog and backfill them over `partitions`; the backfill id, from the toast."""
    page.goto("/assets")
    for asset in assets:
        page.locator("label").filter(has=page.get_by_test_id(f"checkbox-{asset}")).click()
    page.get_by_role("button", name="Materialize selected").click()
    dialog = page.get_by_role("dialog").filter(has_text=f"Launch runs to materialize {len(assets)} assets")
    choose_partitions(page, dialog, partitions)
    dialog.get_by_role("button", name="Launch backfill").click()
    toast = page.get_by_text(re.compile(r"^Created backfill \w+$"))
    expect(toast).to_be_visible()
    return (toast.text_content() or "").split()[-1]


def test_the_ui_shows_the_graph_materializes_backfills_and_shows_enrichment_logs(tmp_path):
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    with running_dagster_dev(tmp_path) as (dev, data_dir), sync_playwright() as playwright:
        for name in UPLOADS:
            shutil.copytree(LETTERBOXD / name, data_dir / "uploads" / name)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            with browser_page(browser, f"http://127.0.0.1:{dev.port}") as page:
                page.set_default_timeout(30_000)
                skip_community_invitation(page)
                page.screenshot(path=SCREENSHOTS / "asset_graph.png", clip=check_asset_graph(page))
                keys = wait_for(lambda: upload_runs_succeeded(dev), 180, "upload_sensor's runs of both exports")

                run_id = materialize_from_asset_page(page, "raw_diary", keys["quetzle-2016"])
                page.goto(f"/runs/{run_id}")
                expect(page.get_by_text("Success", exact=True)).to_be_visible(timeout=UI_TIMEOUT_MS)
                assert run_status(dev, run_id) == "SUCCESS"
                page.screenshot(path=SCREENSHOTS / "asset_page_run.png")

                partitions = [keys[name] for name in UPLOADS]
                backfill_id = backfill_from_catalog(page, ["enriched_movies", "movie_stats"], partitions)
                page.goto(f"/runs/b/{backfill_id}")
                # One progress row per asset; "Succeeded" alone would also match a column header.
                done = page.get_by_text("100% completed", exact=True)
                expect(done).to_have_count(2, timeout=UI_TIMEOUT_MS)
                page.screenshot(path=SCREENSHOTS / "backfill.png")
                runs = wait_for(lambda: finished_backfill_runs(dev, backfill_id, partitions), 60, "the backfill's runs")
                assert {r["status"] for r in runs.values()} == {"SUCCESS"}

                # The upload runs enriched every film already, so the backfill finds them all in the database.
                films = distinct_films(LETTERBOXD / "melvincarvalho")
                page.goto(f"/runs/{runs[keys['melvincarvalho']]['runId']}")
                page.get_by_placeholder("Filter…").fill("films")
                progress = f"{films} films: {films} known from the database, 0 to look up on TMDB"
                expect(page.get_by_text(progress, exact=True)).to_be_visible()
                summary = rf"^{films} films in [0-9.]+ s: .*; 0 TMDB requests, 0 retries, {films} from the database$"
                expect(page.get_by_text(re.compile(summary))).to_be_visible()
                page.get_by_text(progress, exact=True).scroll_into_view_if_needed()
                page.screenshot(path=SCREENSHOTS / "run_logs.png")

                # Wide enough for the graph to draw each asset's details, such as how full its partitions are.
                page.set_viewport_size({"width": 2200, "height": 700})
                groups_area = check_asset_graph(page)
                partitioned = sum(spec.partitions_def is not None for spec in ASSET_SPECS)
                expect(page.get_by_text("100% filled", exact=True)).to_have_count(partitioned)
                page.screenshot(path=SCREENSHOTS / "asset_graph_materialized.png", clip=groups_area)
        finally:
            browser.close()

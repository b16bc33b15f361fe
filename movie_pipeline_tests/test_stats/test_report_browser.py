"""The written report as real headless Chromium renders it."""

import csv
import re
import struct
from html import escape, unescape
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from playwright.sync_api import sync_playwright

from movie_pipeline.letterboxd.parse import ENTRIES_SCHEMA
from movie_pipeline.stats.card import COLUMN_GAP, MARGIN, WIDTH, card_file_name
from movie_pipeline.stats.compute import ViewingStats, compute_stats
from movie_pipeline.stats.report import write_reports
from movie_pipeline_tests.browser import CHROMIUM, dump_dom, page_url, screenshot
from movie_pipeline_tests.conftest import LETTERBOXD
from movie_pipeline_tests.test_stats.frames import DETAIL_SCHEMA, details_frame, diary, entries_frame, film, tmdb

pytestmark = pytest.mark.browser

TITLE = '<script>document.title="pwned"</script> & "Co"'


def texts(dom: str, css_class: str) -> list[str]:
    return [unescape(t) for t in re.findall(rf'<div class="{css_class}">([^<]*)</div>', dom)]


def test_rendered_report_shows_the_numbers_and_runs_nothing(tmp_path: Path) -> None:
    index = write_reports(compute_stats(*diary()), tmp_path, "upload-1", TITLE)
    dom = dump_dom(index)
    # The title arrives as text: the DOM re-escapes it, and no script element exists.
    heading = re.search(r"<h1>(.*?)</h1>", dom)
    assert heading is not None
    assert heading.group(1) == '&lt;script&gt;document.title="pwned"&lt;/script&gt; &amp; "Co"'
    assert "<script" not in dom
    assert f"<title>{escape(TITLE, quote=False)} · All time</title>" in dom
    assert texts(dom, "value")[:3] == ["12", "6", "12"]  # entries, films, hours (see test_compute)
    assert re.findall(r'<nav class="periods">(.*?)</nav>', dom)[0].count("<a ") == 3  # all, 2021, 2022
    assert dom.count("<svg") >= 6
    assert "This product uses the TMDB API but is not endorsed or certified by TMDB" in dom


def read_diary(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def unenriched_stats_of_real_export(rows: list[dict[str, str]]) -> ViewingStats:
    """Entries straight from the CSV; film_details with every TMDB column null (enrichment not run)."""
    entries = pl.DataFrame(
        {
            "line": list(range(2, len(rows) + 2)),
            "film_key": [f"{r['Name']}\x1f{r['Year']}" for r in rows],
            "name": [r["Name"] for r in rows],
            "year": [int(r["Year"]) if r["Year"] else None for r in rows],
            "letterboxd_uri": [r["Letterboxd URI"] for r in rows],
            "logged_date": [r["Date"] for r in rows],
            "watched_date": [r["Watched Date"] or r["Date"] for r in rows],
            "rating": [float(r["Rating"]) if r["Rating"] else None for r in rows],
            "rewatch": [r["Rewatch"] == "Yes" for r in rows],
            "tags": [[t for t in r["Tags"].split(", ") if t] for r in rows],
            "has_review": [False] * len(rows),
        }
    ).with_columns(pl.col("logged_date", "watched_date").str.to_date())
    films = entries.unique("film_key").select("film_key", "name", "year", "letterboxd_uri")
    details = films.with_columns(
        [pl.lit(None, dtype).alias(c) for c, dtype in DETAIL_SCHEMA.items() if c not in films.columns]
    )
    return compute_stats(
        entries.cast(pl.Schema(ENTRIES_SCHEMA)), details.select(DETAIL_SCHEMA.keys()).cast(pl.Schema(DETAIL_SCHEMA))
    )


def test_real_export_report_renders_and_screenshots(tmp_path: Path) -> None:
    rows = read_diary(LETTERBOXD / "extratone" / "diary.csv")
    years = sorted({(r["Watched Date"] or r["Date"])[:4] for r in rows})
    films = {(r["Name"], r["Year"]) for r in rows}
    index = write_reports(unenriched_stats_of_real_export(rows), tmp_path, "extratone", "extratone")
    dom = dump_dom(index)
    assert texts(dom, "value")[:2] == [f"{len(rows):,}", f"{len(films):,}"]
    nav = re.findall(r'<nav class="periods">(.*?)</nav>', dom)[0]
    assert re.findall(r'href="(\d{4})\.html"', nav) == years
    assert f"TMDB details for 0 of {len(films):,} films ({len(films):,} not looked up yet)." in unescape(dom)
    png = screenshot(index, tmp_path / "extratone.png", height=3000)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 50_000


# Every <text> of the page as laid out: its words, its x and y attributes and its box on the card.
TEXT_BOXES = """() => [...document.querySelectorAll("text")].map(t => {
    const box = t.getBoundingClientRect();
    return {text: t.textContent, x: t.getAttribute("x"), y: t.getAttribute("y"),
            left: box.left, right: box.right, top: box.top, bottom: box.bottom};
})"""


def text_boxes(svg: Path) -> list[dict[str, Any]]:
    """The boxes Chromium gives an SVG's texts with the fonts installed here (Debian's DejaVu)."""
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(page_url(svg))
            boxes: list[dict[str, Any]] = page.evaluate(TEXT_BOXES)
            return boxes
        finally:
            browser.close()


def png_size(png: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", png.read_bytes()[16:24])  # the IHDR chunk
    return width, height


def test_year_card_text_stays_inside_the_card_with_the_widest_names(tmp_path: Path) -> None:
    wide = ["W" * 60, "七人の侍" * 12, "m" * 70, "Ωμέγα " * 15]
    films = [
        film(f"f{i}", name, 1954 + i, "found", **tmdb([], [], [f"{name} genre"], [], "en", 100, 7.0, 10, 1.0))
        for i, name in enumerate(wide)
    ]
    rows = [(2 + i, f"f{i}", f"2020-03-{i + 1:02d}", 5.0, False, False) for i in range(len(films))]
    stats = compute_stats(entries_frame(films, rows), details_frame(films))
    write_reports(stats, tmp_path, "wide", "W" * 90)
    card = tmp_path / "wide" / card_file_name("2020")
    boxes = text_boxes(card)
    for box in boxes:
        assert box["left"] >= MARGIN - 10 and box["right"] <= WIDTH - MARGIN + 1, box
    # A genre's name ends before its count, right-aligned at the end of the left column on the same line.
    counts = [box for box in boxes if box["x"] == str(MARGIN + (WIDTH - 2 * MARGIN - COLUMN_GAP) // 2)]
    names = {box["y"]: box for box in boxes if box["x"] == str(MARGIN)}
    assert [names[count["y"]]["text"][:4] for count in counts] == ["WWWW", "mmmm", "Ωμέγ", "七人の侍"]
    for count in counts:
        assert names[count["y"]]["right"] < count["left"], (names[count["y"]], count)
    png = screenshot(card, tmp_path / "card.png", width=1080, height=1350)
    assert png_size(png) == (1080, 1350)
    assert png.stat().st_size > 50_000


def test_year_page_calendar_renders_a_square_per_day(tmp_path: Path) -> None:
    index = write_reports(compute_stats(*diary()), tmp_path, "upload-1", "Diary")
    dom = dump_dom(index.parent / "2021.html")
    assert len(re.findall(r'<rect class="day l\d"', dom)) == 365
    assert '<a href="card-2021.svg">2021</a>' in dom and '<a href="matches.html">' in dom
    png = screenshot(index.parent / card_file_name("2021"), tmp_path / "card-2021.png", width=1080, height=1350)
    assert png_size(png) == (1080, 1350)

"""The year-in-review page: one self-contained HTML file per period.

Everything is inline (CSS, SVG charts); a Content-Security-Policy forbids any load, so the page
works offline and leaks nothing. No poster is shown: TMDB images may not be hot-linked.
Every piece of user text (titles, names, tags) goes through `escape`.
"""

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from functools import cache
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any

import polars as pl

from movie_pipeline.stats.card import card_file_name, render_year_card
from movie_pipeline.stats.charts import (
    CALENDAR_LEVELS,
    MONTHS,
    Bar,
    area_chart,
    bar_rows,
    calendar_heatmap,
    column_chart,
    share_strip,
)
from movie_pipeline.stats.compute import ALL_TIME, WEEKDAYS, ViewingStats, split_film_date
from movie_pipeline.stats.matches_page import PAGE_NAME
from movie_pipeline.stats.wording import (
    coverage_sentence,
    enriched_films,
    headline_count,
    lag_text,
    percent,
    period_title,
    plural,
    stars,
    whole,
)

ATTRIBUTION = "This product uses the TMDB API but is not endorsed or certified by TMDB."
FULL_WIDTH = 1000
HALF_WIDTH = 470
MAX_YEAR_TICKS = 12
MAX_DECADE_TICKS = 12
RATING_TICKS = ("½", "1", "1½", "2", "2½", "3", "3½", "4", "4½", "5")
RECENCY_LEGEND = (
    '<div class="legend"><i class="orange"></i>same year <i class="blue"></i>older '
    '<i class="green"></i>later <i class="grey"></i>unknown</div>'
)
PEOPLE_PANELS = (
    ("Directors", ("directors",)),
    ("Actors", ("actors",)),
    ("Genres", ("genres",)),
    ("Countries and languages", ("countries", "languages")),
)

ALL_TIME_CALENDARS = 10  # the all-time page draws the newest years' calendars; each is ~40 kB
CALENDAR_NOTE = "a square per day, shaded by the films watched that day; placeholder dates are left out"
# The films the release-to-watch lag leaves out, as its note words them.
LAG_LEFT_OUT = {
    "before": "seen before release (listed apart)",
    "no_release_date": "without a TMDB release date",
    "no_watch_date": "only on placeholder dates",
}
Row = dict[str, Any]


class UnknownPeriodError(ValueError):
    """A report was asked for a period that has no entries."""


def report_file_name(period: str) -> str:
    return "index.html" if period == ALL_TIME else f"{period}.html"


def write_reports(stats: ViewingStats, reports_dir: Path, upload: str, title: str) -> Path:
    """Write index.html (all time), one page and one shareable card per watch year into reports_dir/upload;
    return the index."""
    if upload in ("", ".", "..") or Path(upload).name != upload:
        raise ValueError(f"Upload key {upload!r} is not a plain folder name; pass the partition key of the upload.")
    folder = (reports_dir / upload).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for period in (ALL_TIME, *stats.years):
        page = render_report(stats, title=title, period=period)
        (folder / report_file_name(period)).write_text(page, encoding="utf-8")
    for year in stats.years:
        (folder / card_file_name(year)).write_text(render_year_card(stats, year, title=title), encoding="utf-8")
    return folder / report_file_name(ALL_TIME)


def render_report(stats: ViewingStats, *, title: str, period: str = ALL_TIME) -> str:
    if period != ALL_TIME and period not in stats.years:
        raise UnknownPeriodError(
            f"No diary entry was watched in {period!r}; choose 'all' or one of: {', '.join(stats.years) or 'none'}."
        )
    parts = [_masthead(stats, title, period)]
    if headline_count(stats, "entries", period):
        parts += [
            _cards(stats, period),
            _when(stats, period),
            _ratings(stats, period),
            _favourites(stats, period),
            _release(stats, period),
            *(
                [_people(stats, period), _films(stats, period)]
                if enriched_films(stats, period)
                else [_chapter("People, places and popularity", [_panel("Waiting for TMDB", _no_details(), wide=True)])]
            ),
            _milestones(stats, period),
        ]
    else:
        parts.append(
            '<section class="panel empty"><h2>Nothing here yet</h2><p>This upload has no diary entries.</p></section>'
        )
    parts += [_notes(stats, period), _footer()]
    return _page(f"{title} · {period_title(period)}", "\n".join(parts))


# --- page sections ---------------------------------------------------------------------------


def _masthead(stats: ViewingStats, title: str, period: str) -> str:
    links = "".join(
        f'<a href="{report_file_name(p)}"{" class=current" if p == period else ""}>{escape(period_title(p))}</a>'
        for p in (ALL_TIME, *stats.years)
    )
    kicker = "All-time review" if period == ALL_TIME else f"Year in review · {period}"
    first, last = stats.get("first_last", "first", period), stats.get("first_last", "last", period)
    span = ""
    if first and last:
        dates = f"{split_film_date(first['label'])[1]} to {split_film_date(last['label'])[1]}"
        entries = whole(headline_count(stats, "entries", period))
        span = f'<p class="lede"><b>{entries}</b> diary entries, watched <b>{escape(dates)}</b></p>'
    return (
        f'<header class="masthead"><nav class="periods">{links}</nav>'
        f'<p class="kicker">{escape(kicker)}</p><h1>{escape(title)}</h1>{span}{_extras(stats, period)}</header>'
    )


def _extras(stats: ViewingStats, period: str) -> str:
    """Links to the shareable year cards and to the page of film matches."""
    years = stats.years if period == ALL_TIME else [period]
    cards = " ".join(f'<a href="{card_file_name(year)}">{escape(year)}</a>' for year in years)
    shared = f"<span>Year card{'s' if len(years) > 1 else ''}: {cards}</span>" if years else ""
    return f'<nav class="extras">{shared}<a href="{PAGE_NAME}">How films were matched on TMDB</a></nav>'


def _cards(stats: ViewingStats, period: str) -> str:
    headline = {row["item"]: row for row in stats.section("headline", period).iter_rows(named=True)}
    mean = stats.get("ratings", "mean", period) or {}
    streak = stats.get("streak", "longest", period)
    cards = [
        _card(whole(headline["entries"]["count"]), "diary entries"),
        _card(whole(headline["films"]["count"]), "films", f"{whole(headline['rewatches']['count'])} rewatches"),
        _card(whole(headline["hours"]["value"]), "hours watched", _covered_text(headline["hours"], "with a runtime")),
        _card(stars(mean.get("value")), "mean rating", f"over {whole(mean.get('count'))} rated entries"),
        _card(
            percent(headline["rated_share"]["value"]),
            "films rated",
            f"{percent(headline['reviewed_share']['value'])} reviewed",
        ),
        _card(whole(headline["directors"]["count"]), "directors", _covered_text(headline["directors"], "with credits")),
        _card(
            whole(headline["countries"]["count"]), "countries", _covered_text(headline["countries"], "with countries")
        ),
        _card(
            whole(streak["count"]) if streak else "0", "days in a row", streak["label"] if streak else "no dated streak"
        ),
    ]
    for item, caption in (("longest_film", "longest film"), ("shortest_film", "shortest film")):
        if item in headline:
            film = headline[item]
            cards.append(_card(film["label"], caption, f"{whole(film['value'])} min", wide=True))
    return f'<section class="cards">{"".join(cards)}</section>'


def _when(stats: ViewingStats, period: str) -> str:
    if period == ALL_TIME:
        per_year = [
            Bar(y, headline_count(stats, "entries", y), f"{y}: {whole(headline_count(stats, 'entries', y))} entries")
            for y in stats.years
        ]
        first_chart = _panel(
            "Entries per year",
            column_chart(per_year, width=FULL_WIDTH, height=170, show_values=len(per_year) <= 40),
            wide=True,
        )
        month_title = "By month of the year"
    else:
        first_chart = ""
        month_title = f"Entries per month, {period}"
    months = _panel(month_title, column_chart(_month_bars(stats, period), width=HALF_WIDTH))
    weekdays = _panel("By day of the week", column_chart(_weekday_bars(stats, period), width=HALF_WIDTH, tone="blue"))
    weekly = _panel("Week by week", _week_chart(stats, period), wide=True)
    calendar = _panel("Viewing days", _calendars(stats, period), note=CALENDAR_NOTE, wide=True)
    return _chapter("When you watched", [first_chart, calendar, months, weekdays, weekly, _highlights(stats, period)])


def _calendars(stats: ViewingStats, period: str) -> str:
    """The year's calendar; on the all-time page, the newest ALL_TIME_CALENDARS years', newest first."""
    years = list(reversed(stats.years))[:ALL_TIME_CALENDARS] if period == ALL_TIME else [period]
    older = len(stats.years) - len(years) if period == ALL_TIME else 0
    parts = []
    for year in years:
        days = stats.films_per_day(year)
        heading = f"{year} · " if period == ALL_TIME else ""
        parts.append(
            f"<h3>{escape(heading)}{whole(len(days))} day{'' if len(days) == 1 else 's'} with a film</h3>"
            + calendar_heatmap(int(year), days, width=FULL_WIDTH)
        )
    shades = "".join(
        f'<i class="day l{level}"></i>{level}{"+" if level == CALENDAR_LEVELS else ""} '
        for level in range(1, CALENDAR_LEVELS + 1)
    )
    more = f'<p class="muted">{whole(older)} older years have their calendars on their own pages.</p>' if older else ""
    return "".join(parts) + more + f'<div class="legend calendar-legend">films a day: {shades}</div>'


def _month_bars(stats: ViewingStats, period: str) -> list[Bar]:
    counts = {row["item"]: row["count"] for row in stats.section("per_month", period).iter_rows(named=True)}
    if period == ALL_TIME:
        by_month = [sum(n for key, n in counts.items() if key.endswith(f"-{m:02d}")) for m in range(1, 13)]
    else:
        by_month = [counts.get(f"{period}-{m:02d}", 0) for m in range(1, 13)]
    return [Bar(name, n, f"{name}: {whole(n)} entries") for name, n in zip(MONTHS, by_month, strict=True)]


def _weekday_bars(stats: ViewingStats, period: str) -> list[Bar]:
    counts = {row["item"]: row["count"] for row in stats.section("per_weekday", period).iter_rows(named=True)}
    return [Bar(day, counts.get(day, 0), f"{day}: {whole(counts.get(day, 0))} entries") for day in WEEKDAYS]


def _week_chart(stats: ViewingStats, period: str) -> str:
    counts = {row["item"]: row["count"] for row in stats.section("per_week", period).iter_rows(named=True)}
    if period == ALL_TIME:
        if not counts:
            return '<p class="muted">No dated entries.</p>'
        mondays = [date.fromisoformat(key + "-1") for key in counts]  # "2021-W05-1" is ISO week-date text
        weeks = _mondays(min(mondays), max(mondays))
    else:
        year = int(period)
        weeks = _mondays(date(year, 1, 1), date(year, 12, 31))
    keys = [monday.strftime("%G-W%V") for monday in weeks]
    bars = [
        Bar(key, counts.get(key, 0), f"week of {monday.isoformat()}: {whole(counts.get(key, 0))} entries")
        for key, monday in zip(keys, weeks, strict=True)
    ]
    if period == ALL_TIME:
        return area_chart(bars, width=FULL_WIDTH, ticks=_year_ticks(weeks))
    month_starts = {date(int(period), m, 1).strftime("%G-W%V"): MONTHS[m - 1] for m in range(1, 13)}
    ticks = {i: month_starts[key] for i, key in enumerate(keys) if key in month_starts}
    return column_chart(bars, width=FULL_WIDTH, height=170, ticks=ticks, show_values=False, tone="green")


def _mondays(first: date, last: date) -> list[date]:
    monday = first - timedelta(days=first.weekday())
    return [monday + timedelta(weeks=i) for i in range((last - monday).days // 7 + 1)]


def _year_ticks(weeks: list[date]) -> dict[int, str]:
    starts: dict[int, int] = {}  # ISO year -> index of its first week
    for i, monday in enumerate(weeks):
        starts.setdefault(monday.isocalendar().year, i)
    every = -(-len(starts) // MAX_YEAR_TICKS)
    return {i: str(year) for n, (year, i) in enumerate(sorted(starts.items())) if n % every == 0}


def _highlights(stats: ViewingStats, period: str) -> str:
    tiles = []
    streak = stats.get("streak", "longest", period)
    if streak:
        tiles.append(_tile("Longest streak", f"{whole(streak['count'])} days", streak["label"]))
    busiest_days = stats.section("busiest_day", period)
    if busiest_days.height:
        busiest = busiest_days.row(0, named=True)
        tiles.append(
            _tile(
                "Busiest day",
                f"{busiest['item']} · {whole(busiest['count'])} films",
                busiest["label"].replace("; ", " · "),
            )
        )
    for item, caption in (("first", "First film"), ("last", "Last film")):
        row = stats.get("first_last", item, period)
        if row:
            film, when = split_film_date(row["label"])
            tiles.append(_tile(caption if period != ALL_TIME else f"{caption} ever", film, when))
    return f'<div class="tiles wide">{"".join(tiles)}</div>' if tiles else ""


def _ratings(stats: ViewingStats, period: str) -> str:
    spread = stats.section("rating_spread", period)
    mean = stats.get("ratings", "mean", period) or {}
    if not mean.get("count"):
        return _chapter("Ratings", [_panel("Ratings", '<p class="muted">No rated entries.</p>', wide=True)])
    bars = [
        Bar(tick, row["count"], f"{row['item']}★: {whole(row['count'])} entries")
        for tick, row in zip(RATING_TICKS, spread.iter_rows(named=True), strict=True)
    ]
    chart = column_chart(bars, width=HALF_WIDTH, tone="green")
    spread_panel = _panel(
        "How you rated",
        chart,
        note=f"mean {stars(mean['value'])} over {whole(mean['count'])} rated entries; unrated entries are left out",
    )
    versus = stats.get("ratings", "user_vs_tmdb", period) or {}
    if versus.get("value") is None:
        compare = '<p class="muted">No rated film has TMDB votes yet.</p>'
    else:
        direction = "above" if versus["value"] >= 0 else "below"
        compare = (
            f'<p class="big-line"><b>{abs(versus["value"]):.1f}</b> points {direction} TMDB on average '
            f'<span class="muted">(your stars × 2 vs TMDB’s 0–10 vote average)</span></p>'
            + _gap_list("You liked more", stats.section("rating_gap_above_tmdb", period))
            + _gap_list("You liked less", stats.section("rating_gap_below_tmdb", period))
        )
    compare_panel = _panel("You vs TMDB", compare, note=_covered_text(versus, "compared (rated, with TMDB votes)"))
    return _chapter("Ratings", [spread_panel, compare_panel])


def _gap_list(caption: str, rows: pl.DataFrame) -> str:
    if rows.is_empty():
        return ""
    items = "".join(
        f'<li><span class="name">{escape(row["item"])}</span><span class="num">{row["value"]:+.1f}</span>'
        f'<span class="aside">{escape(row["label"])}</span></li>'
        for row in rows.iter_rows(named=True)
    )
    return f'<h3>{escape(caption)}</h3><ol class="gaps">{items}</ol>'


def _release(stats: ViewingStats, period: str) -> str:
    decades = stats.section("release_decade", period).sort("item")
    bars = [
        Bar(row["item"], row["count"], f"{row['item']}: {whole(row['count'])} films")
        for row in decades.iter_rows(named=True)
    ]
    every = 1 if len(bars) <= MAX_DECADE_TICKS else 2
    ticks = {i: bar.label for i, bar in enumerate(bars) if i % every == 0}
    chart = column_chart(bars, width=HALF_WIDTH, ticks=ticks, tone="blue")
    decade_panel = _panel("Films by release decade", chart, note=_section_coverage(decades, "with a release year"))
    recency = {row["item"]: row["count"] for row in stats.section("release_recency", period).iter_rows(named=True)}
    total = sum(recency.values())
    fresh = recency.get("same_year", 0)
    when = f"in {period}" if period != ALL_TIME else "the year you first watched them"
    strip = share_strip(
        [
            ("orange", fresh, f"released {when}: {whole(fresh)}"),
            ("blue", recency.get("earlier", 0), f"older: {whole(recency.get('earlier', 0))}"),
            ("green", recency.get("later", 0), f"watched before release year: {whole(recency.get('later', 0))}"),
            ("grey", recency.get("unknown", 0), f"release year unknown: {whole(recency.get('unknown', 0))}"),
        ],
        width=HALF_WIDTH,
    )
    best = _rating_list(stats.section("decade_highest_rated", period))
    fresh_panel = _panel(
        "New releases vs older films",
        f'<p class="big-line"><b>{percent(fresh / total if total else None)}</b> '
        f"of films were released {escape(when)}</p>{strip}{RECENCY_LEGEND}"
        f"<h3>Highest-rated decades</h3>{best or _threshold_empty(stats, 'decades')}",
        note=f"decades need at least {stats.min_count} rated films",
    )
    return _chapter("By release", [decade_panel, fresh_panel, _release_lag(stats, period)])


def _favourites(stats: ViewingStats, period: str) -> str:
    highest = stats.section("films_highest_rated", period)
    rated = _ranked_list(
        (row["item"], row["value"] / 5, stars(row["value"]), plural(row["count"], "rating"))
        for row in highest.iter_rows(named=True)
    )
    rewatched = _count_list(stats.section("most_rewatched", period), unit=("entry", "entries"))
    return _chapter(
        "Your films",
        [
            _panel(
                "Highest rated",
                rated or '<p class="muted">No rated entries.</p>',
                note="mean of the film’s rated entries",
            ),
            _panel(
                "Most rewatched",
                rewatched or '<p class="muted">No film has two diary entries here.</p>',
                note="films with the most diary entries, at least two",
            ),
        ],
    )


def _release_lag(stats: ViewingStats, period: str) -> str:
    median = stats.get("release_lag", "median", period) or {}
    left_out = {item: (stats.get("release_lag", item, period) or {}).get("count") or 0 for item in LAG_LEFT_OUT}
    first_seen = "first watched" if period == ALL_TIME else f"first watched in {period}"
    missing = ", ".join(f"{whole(n)} {LAG_LEFT_OUT[item]}" for item, n in left_out.items() if n)
    note = (
        f"one per film, from its TMDB release date to its first viewing, over "
        f"{plural(median.get('films_total') or 0, 'film')} {first_seen}" + (f"; left out: {missing}" if missing else "")
    )
    if not median.get("films_covered"):
        body = '<p class="muted">No film has a TMDB release date and a real watch date yet.</p>'
        return _panel("From release to your first watch", body, note=note, wide=True)
    spread = stats.section("release_lag_spread", period)
    bars = [
        Bar(row["item"], row["count"], f"{row['item']} after release: {whole(row['count'])} films")
        for row in spread.iter_rows(named=True)
    ]
    headline = (
        f'<p class="big-line"><b>{escape(lag_text(median["value"]))}</b> median, over '
        f"{plural(median['count'], 'film')} seen on or after release</p>"
        if median.get("value") is not None
        else '<p class="muted">Every dated film was seen before its release.</p>'
    )
    early = stats.section("before_release", period)
    items = "".join(
        f'<li><span class="name">{escape(row["item"])}</span>'
        f'<span class="num">{plural(row["value"], "day")} early</span>'
        f'<span class="aside">{escape(row["label"])}</span></li>'
        for row in early.iter_rows(named=True)
    )
    before = (
        f'<h3>Seen before release ({whole(left_out["before"])})</h3><ol class="gaps early">{items}</ol>'
        if items
        else ""
    )
    chart = column_chart(bars, width=FULL_WIDTH, height=170, tone="orange")
    return _panel("From release to your first watch", headline + chart + before, note=note, wide=True)


def _people(stats: ViewingStats, period: str) -> str:
    genres = stats.section("genres_most_watched", period)
    genre_bars = [
        Bar(row["item"], row["count"], f"{row['item']}: {whole(row['count'])} films")
        for row in genres.iter_rows(named=True)
    ]
    most = [_panel("Genres", bar_rows(genre_bars, width=HALF_WIDTH) or _no_details(), note=_section_coverage(genres))]
    best = []
    for caption, prefixes in PEOPLE_PANELS:
        most_rows = [(prefix, stats.section(f"{prefix}_most_watched", period)) for prefix in prefixes]
        if caption != "Genres":
            body = _sub_lists(most_rows, _count_list) or _no_details()
            most.append(_panel(caption, body, note=_section_coverage(most_rows[0][1])))
        best_rows = [(prefix, stats.section(f"{prefix}_highest_rated", period)) for prefix in prefixes]
        body = _sub_lists(best_rows, _rating_list) or _threshold_empty(stats, caption.lower())
        best.append(_panel(caption, body, note=f"mean of your ratings, at least {stats.min_count} rated films each"))
    return _chapter("Most watched", most) + _chapter("Highest rated", best)


def _sub_lists(sections: list[tuple[str, pl.DataFrame]], render: Callable[[pl.DataFrame], str]) -> str:
    """One list, or a titled list per section when a panel holds several (countries and languages)."""
    if len(sections) == 1:
        return render(sections[0][1])
    return "".join(f"<h3>{escape(prefix.title())}</h3>{render(rows) or _no_details()}" for prefix, rows in sections)


def _films(stats: ViewingStats, period: str) -> str:
    panels = []
    for section, caption in (("most_popular", "Most popular on TMDB"), ("most_obscure", "Most obscure")):
        rows = stats.section(section, period)
        body = _popularity_list(rows)
        panels.append(_panel(caption, body or _no_details(), note=_section_coverage(rows)))
    return _chapter("Popular and obscure", panels)


def _milestones(stats: ViewingStats, period: str) -> str:
    rows = stats.section("milestones", period).sort("count")
    if rows.is_empty():
        return ""
    items = []
    for row in rows.iter_rows(named=True):
        film, when = split_film_date(row["label"])
        items.append(
            f'<li><span class="ordinal">{escape(_ordinal(row["count"]))}</span>'
            f'<span class="name">{escape(film)}</span><span class="aside">{escape(when)}</span></li>'
        )
    caption = "Milestones" if period == ALL_TIME else f"Milestones reached in {period}"
    return _chapter(caption, [f'<ol class="milestones wide">{"".join(items)}</ol>'])


def _notes(stats: ViewingStats, period: str) -> str:
    notes = [f"<p>{escape(coverage_sentence(stats, period))} Figures that need TMDB say how many films they cover.</p>"]
    placeholder = stats.get("notes", "placeholder_entries", period)
    if placeholder:
        chips = "".join(
            f'<span class="chip" title="{escape(row["label"])}">{escape(row["item"])} · {whole(row["count"])}</span>'
            for row in stats.section("placeholder_dates", period).iter_rows(named=True)
        )
        notes.append(f'<p>{escape(placeholder["label"])}.</p><p class="chips">{chips}</p>')
    notes.append(
        f"<p>Dates are watched dates. Rewatches count as entries, not as further films. A film’s rating is the mean of "
        f"its rated diary entries; “highest rated” needs at least {stats.min_count} rated films.</p>"
    )
    return f'<section class="notes"><h2>About these numbers</h2>{"".join(notes)}</section>'


def _footer() -> str:
    made_by = '<p class="muted">Made by movie_pipeline from a Letterboxd export.</p>'
    return f"<footer><p>{escape(ATTRIBUTION)}</p>{made_by}</footer>"


# --- building blocks -------------------------------------------------------------------------


def _chapter(title: str, panels: Iterable[str]) -> str:
    body = "".join(p for p in panels if p)
    return f'<section class="chapter"><h2>{escape(title)}</h2><div class="grid">{body}</div></section>'


def _panel(title: str, body: str, *, note: str | None = None, wide: bool = False) -> str:
    footnote = f'<p class="note">{escape(note)}</p>' if note else ""
    heading = f'<h3 class="panel-title">{escape(title)}</h3>'
    return f'<article class="panel{" wide" if wide else ""}">{heading}{body}{footnote}</article>'


def _card(value: str, caption: str, aside: str = "", *, wide: bool = False) -> str:
    return (
        f'<div class="card{" wide" if wide else ""}"><div class="value">{escape(value)}</div>'
        f'<div class="caption">{escape(caption)}</div><div class="aside">{escape(aside)}</div></div>'
    )


def _tile(caption: str, headline: str, aside: str) -> str:
    return (
        f'<div class="tile"><div class="caption">{escape(caption)}</div>'
        f'<div class="headline">{escape(headline)}</div><div class="aside">{escape(aside)}</div></div>'
    )


def _count_list(rows: pl.DataFrame, unit: tuple[str, str] = ("film", "films")) -> str:
    peak = (rows["count"].max() if rows.height else None) or 1
    return _ranked_list(
        (row["item"], row["count"] / peak, whole(row["count"]), unit[row["count"] != 1])
        for row in rows.iter_rows(named=True)
    )


def _rating_list(rows: pl.DataFrame) -> str:
    return _ranked_list(
        (row["item"], row["value"] / 5, stars(row["value"]), f"{whole(row['count'])} rated")
        for row in rows.iter_rows(named=True)
    )


def _popularity_list(rows: pl.DataFrame) -> str:
    peak = (rows["value"].max() if rows.height else None) or 1  # the obscure end can be all zeros
    return _ranked_list(
        (row["item"], row["value"] / peak, f"{row['value']:.1f}", "popularity") for row in rows.iter_rows(named=True)
    )


def _ranked_list(lines: Iterable[tuple[str, float, str, str]]) -> str:
    """A numbered list of (name, bar as a share of full width, value, unit)."""
    items = "".join(
        f'<li><span class="name" title="{escape(name)}">{escape(name)}</span>'
        f'<span class="meter"><i style="width:{100 * share:.0f}%"></i></span>'
        f'<span class="num">{escape(value)}</span><span class="unit">{escape(unit)}</span></li>'
        for name, share, value, unit in lines
    )
    return f'<ol class="ranked">{items}</ol>' if items else ""


def _covered_text(row: Row, what: str) -> str:
    if row.get("films_total") is None:
        return ""
    return f"{whole(row.get('films_covered'))} of {whole(row['films_total'])} films {what}"


def _section_coverage(rows: pl.DataFrame, what: str = "with TMDB details") -> str:
    return _covered_text(rows.row(0, named=True), what) if rows.height else ""


def _no_details() -> str:
    return (
        '<p class="muted">No TMDB details for these films yet. Directors, actors, genres, countries, '
        "languages and popularity appear here once films are matched on TMDB.</p>"
    )


def _threshold_empty(stats: ViewingStats, what: str) -> str:
    return f'<p class="muted">No {escape(what)} with {stats.min_count} rated films yet.</p>'


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number:,}{suffix}"


def _page(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="color-scheme" content="dark">
<title>{escape(title)}</title>
<style>{_style()}</style>
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"""


@cache
def _style() -> str:
    return files("movie_pipeline.stats").joinpath("templates/report.css").read_text(encoding="utf-8")

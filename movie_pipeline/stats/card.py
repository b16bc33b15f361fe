"""The shareable year card: one self-contained SVG (1080×1350, a portrait social post) per watch year.

It holds the year's headline numbers, its calendar, its top genres and its highest-rated films.
Nothing is loaded: the style is inline and fonts are the viewer's own. SVG does not wrap or clip
text, so names are cut to what fits their column. Every piece of user text goes through `escape`.
"""

import re
import unicodedata
from html import escape

from movie_pipeline.stats.charts import CALENDAR_LEVELS, calendar_shapes
from movie_pipeline.stats.compute import ViewingStats
from movie_pipeline.stats.wording import headline_count, plural, stars, whole

WIDTH = 1080
HEIGHT = 1350
MARGIN = 72
COLUMN_GAP = 56
CARD_TOP_ITEMS = 5
TITLE_SIZE = 34
NAME_SIZE = 26
COUNT_ROOM = 60  # right of a genre, for its count
ROW_TOP = 50  # from a list's label to its first line
ROW = 54
# Advance widths in em, on the generous side of common sans and serif faces (DejaVu is among the
# widest), so a name cut to its estimated width fits the viewer's font; the browser test measures.
NARROW = frozenset(" !'(),-./:;I[]fijlrt|")
WIDE = frozenset("MWmw@%")
FILM_YEAR = re.compile(r"(.*)( \(\d{4}\))")  # the "Name (Year)" of a film label
ATTRIBUTION = "This product uses the TMDB API but is not endorsed or certified by TMDB."
SHADES = ("#26313c", "#1d6e47", "#239a5f", "#29bd72", "#2fd480")  # no film, then 1 .. CALENDAR_LEVELS+

STYLE = (
    "text{font-family:system-ui,'DejaVu Sans',sans-serif;fill:#e9edf1}"
    ".serif{font-family:Georgia,'DejaVu Serif',serif}"
    ".muted{fill:#8e9bab}.orange{fill:#ff8a1f}.green{fill:#2fd480}.blue{fill:#4cb9f2}"
    ".label{font-size:20px;font-weight:700;letter-spacing:3px;fill:#ff8a1f}"
    ".tick{font-size:13px;fill:#8e9bab}.weekday{text-anchor:end}"
    ".panel{fill:#182029;stroke:#2a3440}" + "".join(f".l{level}{{fill:{shade}}}" for level, shade in enumerate(SHADES))
)


def card_file_name(year: str) -> str:
    return f"card-{year}.svg"


def render_year_card(stats: ViewingStats, year: str, *, title: str) -> str:
    if year not in stats.years:
        raise ValueError(
            f"No diary entry was watched in {year!r}; cards exist for: {', '.join(stats.years) or 'none'}."
        )
    half = (WIDTH - 2 * MARGIN - COLUMN_GAP) // 2
    body = [
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="url(#background)"/>',
        *(
            f'<circle class="{tone}" cx="{MARGIN + 10 + 30 * i}" cy="92" r="10"/>'
            for i, tone in enumerate(("orange", "green", "blue"))
        ),
        f'<text class="label" x="{MARGIN + 92}" y="99">YEAR IN FILM</text>',
        f'<text class="serif" x="{MARGIN - 6}" y="255" font-size="170">{escape(year)}</text>',
        f'<text class="muted" x="{MARGIN}" y="314" font-size="{TITLE_SIZE}">'
        f"{escape(_fit(title, WIDTH - 2 * MARGIN, TITLE_SIZE))}</text>",
        _numbers(stats, year, top=362),
        _calendar(stats, year, top=714),
        _genres(stats, year, x=MARGIN, top=908, width=half),
        _highest_rated(stats, year, x=MARGIN + half + COLUMN_GAP, top=908, width=half),
        f'<line x1="{MARGIN}" x2="{WIDTH - MARGIN}" y1="1250" y2="1250" stroke="#2a3440"/>',
        f'<text x="{MARGIN}" y="1290" font-size="20">Made by movie_pipeline from a Letterboxd export</text>',
        f'<text class="muted" x="{MARGIN}" y="1320" font-size="16">{escape(ATTRIBUTION)}</text>',
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img">'
        f"<title>{escape(f'{title} · {year}')}</title>"
        '<defs><linearGradient id="background" x1="0" y1="0" x2="0.4" y2="1">'
        '<stop offset="0" stop-color="#22303d"/><stop offset="0.55" stop-color="#0f1317"/></linearGradient></defs>'
        f"<style>{STYLE}</style>{''.join(body)}</svg>\n"
    )


def text_width(text: str, size: float) -> float:
    """An estimate of the width of `text` at font size `size`, never much below the real one."""
    return size * sum(_advance(char) for char in text)


def _advance(char: str) -> float:
    if unicodedata.combining(char):
        return 0.0
    if char in WIDE or unicodedata.east_asian_width(char) in ("W", "F"):
        return 1.05
    if char in NARROW:
        return 0.4
    return 0.75 if char.isupper() or char.isdigit() else 0.62


def _fit(text: str, width: float, size: float) -> str:
    """`text`, cut with an ellipsis where it would run past `width`."""
    if text_width(text, size) <= width:
        return text
    kept = text
    while kept and text_width(kept.rstrip() + "…", size) > width:
        kept = kept[:-1]
    return kept.rstrip() + "…"


def _fit_film(label: str, width: float, size: float) -> str:
    """A film label cut in its title, so "(year)" stays."""
    match = FILM_YEAR.fullmatch(label)
    if match is None:
        return _fit(label, width, size)
    return _fit(match[1], width - text_width(match[2], size), size) + match[2]


def _numbers(stats: ViewingStats, year: str, *, top: int) -> str:
    hours = stats.get("headline", "hours", year) or {}
    mean = stats.get("ratings", "mean", year) or {}
    streak = stats.get("streak", "longest", year) or {}
    numbers = [
        (whole(headline_count(stats, "entries", year)), "DIARY ENTRIES"),
        (whole(headline_count(stats, "films", year)), "FILMS"),
        (whole(hours["value"]) if hours.get("films_covered") else "–", "HOURS"),
        (stars(mean.get("value")), "MEAN RATING"),
        (whole(stats.section("per_day", year).height), "DAYS WITH A FILM"),
        (whole(streak.get("count")), "DAYS IN A ROW"),
    ]
    gap = 16
    width = (WIDTH - 2 * MARGIN - 2 * gap) // 3
    height = 130
    parts = []
    for i, (value, caption) in enumerate(numbers):
        x = MARGIN + (i % 3) * (width + gap)
        y = top + (i // 3) * (height + gap)
        parts.append(
            f'<rect class="panel" x="{x}" y="{y}" width="{width}" height="{height}" rx="18"/>'
            f'<text class="serif" x="{x + 24}" y="{y + 74}" font-size="60">{escape(value)}</text>'
            f'<text class="label" x="{x + 24}" y="{y + 110}" font-size="18">{caption}</text>'
        )
    return "".join(parts)


def _calendar(stats: ViewingStats, year: str, *, top: int) -> str:
    shapes = calendar_shapes(int(year), stats.films_per_day(year), width=WIDTH - 2 * MARGIN)
    legend_x = WIDTH - MARGIN - 24 * CALENDAR_LEVELS
    legend = "".join(
        f'<rect class="l{level}" x="{legend_x + 24 * (level - 1)}" y="{top - 44}" width="18" height="18" rx="3"/>'
        for level in range(1, CALENDAR_LEVELS + 1)
    )
    return (
        f'<text class="label" x="{MARGIN}" y="{top - 28}">VIEWING DAYS</text>'
        f'<text class="tick weekday" x="{legend_x - 10}" y="{top - 30}">1 to {CALENDAR_LEVELS}+ films a day</text>'
        f'{legend}<g transform="translate({MARGIN} {top})">{shapes.body}</g>'
    )


def _genres(stats: ViewingStats, year: str, *, x: int, top: int, width: int) -> str:
    rows = stats.section("genres_most_watched", year).head(CARD_TOP_ITEMS)
    parts = [f'<text class="label" x="{x}" y="{top}">TOP GENRES</text>']
    if rows.is_empty():
        parts.append(f'<text class="muted" x="{x}" y="{top + 56}" font-size="22">Genres appear once films</text>')
        parts.append(f'<text class="muted" x="{x}" y="{top + 86}" font-size="22">are matched on TMDB.</text>')
        return "".join(parts)
    peak = rows["count"].max() or 1
    for i, row in enumerate(rows.iter_rows(named=True)):
        y = top + ROW_TOP + ROW * i
        parts.append(
            f'<text x="{x}" y="{y}" font-size="{NAME_SIZE}">'
            f"{escape(_fit(row['item'], width - COUNT_ROOM, NAME_SIZE))}</text>"
            f'<text class="muted" x="{x + width}" y="{y}" font-size="22" text-anchor="end">{whole(row["count"])}</text>'
            f'<rect class="blue" x="{x}" y="{y + 10}" width="{max(width * row["count"] / peak, 4):.1f}" '
            f'height="8" rx="4"/>'
        )
    first = rows.row(0, named=True)
    parts.append(
        f'<text class="muted" x="{x}" y="{top + ROW_TOP + ROW * (rows.height - 1) + 48}" font-size="17">'
        f"films per genre, {whole(first['films_covered'])} of {whole(first['films_total'])} films with genres</text>"
    )
    return "".join(parts)


def _highest_rated(stats: ViewingStats, year: str, *, x: int, top: int, width: int) -> str:
    rows = stats.section("films_highest_rated", year).head(CARD_TOP_ITEMS)
    parts = [f'<text class="label" x="{x}" y="{top}">HIGHEST RATED</text>']
    if rows.is_empty():
        parts.append(f'<text class="muted" x="{x}" y="{top + 56}" font-size="22">No rated entries this year.</text>')
    for i, row in enumerate(rows.iter_rows(named=True)):
        y = top + ROW_TOP + ROW * i
        ratings = plural(row["count"], "rating")
        parts.append(
            f'<text class="serif" x="{x}" y="{y}" font-size="{NAME_SIZE}">'
            f"{escape(_fit_film(row['item'], width, NAME_SIZE))}</text>"
            f'<text x="{x}" y="{y + 24}" font-size="17"><tspan class="orange">{escape(stars(row["value"]))}</tspan>'
            f'<tspan class="muted"> · {escape(ratings)}</tspan></text>'
        )
    return "".join(parts)

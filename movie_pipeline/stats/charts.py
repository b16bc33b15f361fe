"""Inline SVG charts for the report: no script, no external resource, every text escaped here.

Charts are drawn in a viewBox the width they are laid out at, so text keeps its size; colours
come from the page's CSS classes.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

VALUE_SPACE = 18  # above the columns, for value labels
TICK_SPACE = 22  # below the columns, for tick labels
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    tooltip: str


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def column_chart(
    bars: Sequence[Bar],
    *,
    width: int,
    height: int = 190,
    ticks: Mapping[int, str] | None = None,
    show_values: bool = True,
    tone: str = "orange",
) -> str:
    """Vertical columns; `ticks` (index -> text) replaces the per-column labels when given."""
    if not bars:
        return ""
    ticks = {i: bar.label for i, bar in enumerate(bars)} if ticks is None else ticks
    plot = height - VALUE_SPACE - TICK_SPACE
    slot = width / len(bars)
    column = max(slot * 0.72, 1.0)
    peak = max(bar.value for bar in bars) or 1
    parts = [
        _svg_open(width, height, "column-chart"),
        f'<line class="axis" x1="0" x2="{width}" y1="{VALUE_SPACE + plot}" y2="{VALUE_SPACE + plot}"/>',
    ]
    for i, bar in enumerate(bars):
        tall = plot * bar.value / peak
        x = i * slot + (slot - column) / 2
        y = VALUE_SPACE + plot - tall
        centre = i * slot + slot / 2
        parts.append(
            f"<g><title>{escape(bar.tooltip)}</title>"
            f'<rect class="bar {tone}" x="{x:.1f}" y="{y:.1f}" width="{column:.1f}" height="{tall:.1f}" '
            f'rx="{min(3.0, column / 3):.1f}"/>'
            f'<rect class="hit" x="{i * slot:.1f}" y="0" width="{slot:.1f}" height="{VALUE_SPACE + plot}"/></g>'
        )
        if show_values and bar.value:
            parts.append(f'<text class="value" x="{centre:.1f}" y="{y - 5:.1f}">{escape(_number(bar.value))}</text>')
        if i in ticks:
            parts.append(f'<text class="tick" x="{centre:.1f}" y="{height - 6}">{escape(ticks[i])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def area_chart(points: Sequence[Bar], *, width: int, height: int = 150, ticks: Mapping[int, str]) -> str:
    """A filled line for long series (a week per point over many years)."""
    if not points:
        return ""
    plot = height - VALUE_SPACE - TICK_SPACE
    base = VALUE_SPACE + plot
    step = width / max(len(points) - 1, 1)
    peak = max(point.value for point in points) or 1
    coords = [(i * step, base - plot * point.value / peak) for i, point in enumerate(points)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts = [
        _svg_open(width, height, "area-chart"),
        f'<polygon class="area" points="0,{base} {line} {width},{base}"/>',
        f'<polyline class="area-line" points="{line}"/>',
        f'<line class="axis" x1="0" x2="{width}" y1="{base}" y2="{base}"/>',
        f'<text class="value corner" x="2" y="{VALUE_SPACE - 6}">peak {escape(_number(peak))} a week</text>',
    ]
    for i, text in ticks.items():
        x = i * step
        parts.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{VALUE_SPACE}" y2="{base}"/>')
        parts.append(f'<text class="tick" x="{x:.1f}" y="{height - 6}">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_rows(bars: Sequence[Bar], *, width: int, label_width: int = 130, row: int = 26, tone: str = "blue") -> str:
    """Horizontal bars with the label on the left and the value at the bar's end."""
    if not bars:
        return ""
    height = row * len(bars)
    room = width - label_width - 46
    peak = max(bar.value for bar in bars) or 1
    parts = [_svg_open(width, height, "bar-rows")]
    for i, bar in enumerate(bars):
        y = i * row
        length = max(room * bar.value / peak, 2)
        parts.append(
            f"<g><title>{escape(bar.tooltip)}</title>"
            f'<text class="row-label" x="{label_width - 10}" y="{y + row / 2 + 4:.1f}">{escape(bar.label)}</text>'
            f'<rect class="bar {tone}" x="{label_width}" y="{y + 5}" width="{length:.1f}" height="{row - 10}" rx="3"/>'
            f'<text class="row-value" x="{label_width + length + 6:.1f}" y="{y + row / 2 + 4:.1f}">'
            f"{escape(_number(bar.value))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def share_strip(parts: Sequence[tuple[str, float, str]], *, width: int, height: int = 16) -> str:
    """One stacked bar of shares: (css tone, count, tooltip) per part."""
    total = sum(count for _, count, _ in parts) or 1
    x = 0.0
    shapes = [_svg_open(width, height, "share-strip")]
    for tone, count, tooltip in parts:
        length = width * count / total
        shapes.append(
            f'<rect class="bar {tone}" x="{x:.1f}" y="0" width="{length:.1f}" height="{height}">'
            f"<title>{escape(tooltip)}</title></rect>"
        )
        x += length
    shapes.append("</svg>")
    return "".join(shapes)


def _svg_open(width: int, height: int, kind: str) -> str:
    return (
        f'<svg class="chart {kind}" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" role="img">'
    )


CALENDAR_LEFT = 30  # weekday labels
CALENDAR_TOP = 18  # month labels
CALENDAR_WEEKS = 54  # a year touches at most 54 Monday-first weeks
CALENDAR_GAP = 3
CALENDAR_LEVELS = 4  # a day with this many films or more gets the darkest shade
CALENDAR_WEEKDAYS = {0: "Mon", 2: "Wed", 4: "Fri"}


@dataclass(frozen=True)
class Shapes:
    """SVG elements and the height they take, to wrap as a page's chart or place on a card."""

    height: float
    body: str


def calendar_shapes(year: int, films_per_day: Mapping[date, int], *, width: int) -> Shapes:
    """A year as GitHub-style day squares: a column per Monday-first week, a row per weekday,
    shaded by the number of films that day (1, 2, 3, CALENDAR_LEVELS or more)."""
    pitch = (width - CALENDAR_LEFT) / CALENDAR_WEEKS
    cell = pitch - CALENDAR_GAP
    first = date(year, 1, 1)
    first_monday = first - timedelta(days=first.weekday())
    parts = [
        f'<text class="tick weekday" x="{CALENDAR_LEFT - 6}" y="{CALENDAR_TOP + row * pitch + cell * 0.75:.1f}">'
        f"{name}</text>"
        for row, name in CALENDAR_WEEKDAYS.items()
    ]
    day = first
    while day.year == year:
        week = (day - first_monday).days // 7
        x = CALENDAR_LEFT + week * pitch
        y = CALENDAR_TOP + day.weekday() * pitch
        if day.day == 1:
            parts.append(f'<text class="tick month" x="{x:.1f}" y="{CALENDAR_TOP - 6}">{MONTHS[day.month - 1]}</text>')
        films = films_per_day.get(day, 0)
        square = (
            f'<rect class="day l{min(films, CALENDAR_LEVELS)}" x="{x:.1f}" y="{y:.1f}" '
            f'width="{cell:.1f}" height="{cell:.1f}" rx="2"'
        )
        if films:
            tooltip = f"{day.isoformat()}: {films} film{'s' if films > 1 else ''}"
            parts.append(f"{square}><title>{escape(tooltip)}</title></rect>")
        else:
            parts.append(f"{square}/>")
        day += timedelta(days=1)
    return Shapes(CALENDAR_TOP + 7 * pitch, "".join(parts))


def calendar_heatmap(year: int, films_per_day: Mapping[date, int], *, width: int) -> str:
    shapes = calendar_shapes(year, films_per_day, width=width)
    return f"{_svg_open(width, round(shapes.height), 'calendar')}{shapes.body}</svg>"

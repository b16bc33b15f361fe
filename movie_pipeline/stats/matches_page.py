"""matches.html: the films whose TMDB match is worth a look, with the candidates and ready overrides.csv lines.

A film is listed when it is not found, matched with low confidence, matched to a TV entry, or pinned by
overrides.csv. Each shows what was chosen and why, the top three search candidates (title, year, votes, runtime
where TMDB details are cached, and a link to the TMDB page), and for each candidate the overrides.csv line that pins
the film to it. Like the report, the page is self-contained: no script, no load; links are plain anchors.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from html import escape
from importlib.resources import files
from typing import Any
from urllib.parse import quote_plus

import polars as pl

from movie_pipeline.tmdb.overrides import COLUMNS, override_line
from movie_pipeline.tmdb.statuses import MatchStatus, MediaType

PAGE_NAME = "matches.html"
TMDB_SITE = "https://www.themoviedb.org"
Row = dict[str, Any]

# Why a film is listed, in the order the page shows them.
NOT_FOUND = "not found"
LOW_CONFIDENCE = "low confidence"
TV = "TV"
OVERRIDDEN = "overridden"
FLAGS = (NOT_FOUND, LOW_CONFIDENCE, TV, OVERRIDDEN)
NOTHING_TO_CHECK = "Every film is matched with confidence: nothing to check."

# Columns of the frames render_matches_page takes.
FILM_COLUMNS = {
    "name": pl.String,
    "year": pl.Int32,
    "letterboxd_uri": pl.String,
    "status": pl.String,
    "media_type": pl.String,
    "tmdb_id": pl.Int64,
    "confidence": pl.Float64,
    "reason": pl.String,
    "chosen_title": pl.String,  # the chosen TMDB entry's title, when its details are stored
    "chosen_year": pl.Int32,
    "query_key": pl.String,  # the film's search key, as in tmdb_search_candidates
}
CANDIDATE_COLUMNS = {
    "query_key": pl.String,
    "rank": pl.Int64,
    "media_type": pl.String,
    "tmdb_id": pl.Int64,
    "title": pl.String,
    "year": pl.Int64,
    "vote_count": pl.Int64,
    "score": pl.Float64,
    "reason": pl.String,
    "runtime": pl.Int64,  # minutes, from the stored TMDB details: null when not fetched
}


@dataclass(frozen=True)
class OverridesFile:
    """What the page says about overrides.csv: where it is, its header, and the lines left out."""

    path: str
    columns: Sequence[str] = COLUMNS
    problems: Sequence[str] = ()


def with_flags(matches: pl.DataFrame, low_confidence: float) -> pl.DataFrame:
    """The matches worth a look, each with `flags`: why it is listed (see FLAGS), most urgent first."""
    status = pl.col("status")
    flags = pl.concat_list(
        pl.when(status == MatchStatus.NOT_FOUND).then(pl.lit(NOT_FOUND)),
        pl.when((status == MatchStatus.FOUND) & (pl.col("confidence") < low_confidence)).then(pl.lit(LOW_CONFIDENCE)),
        pl.when(pl.col("media_type") == MediaType.TV).then(pl.lit(TV)),
        pl.when(status == MatchStatus.OVERRIDE).then(pl.lit(OVERRIDDEN)),
    ).list.drop_nulls()
    urgency = pl.col("flags").list.first().replace_strict(FLAGS, range(len(FLAGS)), default=len(FLAGS))
    return (
        matches.with_columns(flags=flags)
        .filter(pl.col("flags").list.len() > 0)
        .sort(urgency, pl.col("name"), pl.col("year"), nulls_last=True)
    )


def render_matches_page(
    films: pl.DataFrame, candidates: pl.DataFrame, *, title: str, overrides: OverridesFile, pending: int = 0
) -> str:
    """The page for `films` (FILM_COLUMNS + flags, from with_flags) and their `candidates` (CANDIDATE_COLUMNS)."""
    by_query = {
        key: rows.sort("rank").to_dicts()
        for (key,), rows in candidates.partition_by("query_key", as_dict=True, maintain_order=True).items()
    }
    counts = {flag: films.filter(pl.col("flags").list.contains(flag)).height for flag in FLAGS}
    sections = [
        _masthead(title, counts, pending),
        _how_to(overrides),
        _problems(overrides),
        *(_film(film, by_query.get(film["query_key"], []), overrides.columns) for film in films.iter_rows(named=True)),
    ]
    if films.is_empty():
        sections.append(
            '<section class="panel empty"><p>Every film is matched with confidence: nothing to check.</p></section>'
        )
    return _page(f"{title} · matches to check", "\n".join(sections))


def _masthead(title: str, counts: dict[str, int], pending: int) -> str:
    tally = " · ".join(f"<b>{count:,}</b> {escape(flag)}" for flag, count in counts.items())
    waiting = f" · <b>{pending:,}</b> still waiting for TMDB (not listed yet)" if pending else ""
    return (
        '<header class="masthead"><nav class="periods"><a href="index.html">← Back to the report</a></nav>'
        f'<p class="kicker">Matches to check</p><h1>{escape(title)}</h1>'
        f'<p class="lede">{tally}{waiting}</p></header>'
    )


def _how_to(overrides: OverridesFile) -> str:
    header = ",".join(overrides.columns)
    advice = ""
    if tuple(overrides.columns) != COLUMNS:
        advice = (
            f" Your file’s header is <code>{escape(header)}</code>, so the lines below follow it; a header of "
            f"<code>{escape(','.join(COLUMNS))}</code> can say everything (media_type tells TV from movies)."
        )
    return (
        '<section class="panel how"><h2>Fixing a match</h2>'
        f"<p>Copy the line of the right candidate into <code>{escape(overrides.path)}</code> (a new file starts "
        f"with the header <code>{escape(','.join(COLUMNS))}</code>).{advice} While Dagster runs, the change is "
        "picked up by itself: only the uploads holding that film are enriched again. Deleting a line sends its film "
        "back to matching.</p></section>"
    )


def _problems(overrides: OverridesFile) -> str:
    if not overrides.problems:
        return ""
    items = "".join(f"<li>{escape(problem)}</li>" for problem in overrides.problems)
    return (
        '<section class="panel problems"><h2>Lines of overrides.csv left out</h2>'
        f"<p>These lines are ignored until they are fixed; every other line applies.</p><ul>{items}</ul></section>"
    )


def _film(film: Row, candidates: list[Row], columns: Sequence[str]) -> str:
    badges = "".join(f'<span class="badge">{escape(flag)}</span>' for flag in film["flags"])
    name = escape(_title_year(film["name"], film["year"]))
    uri = film["letterboxd_uri"] or ""
    heading = f'<a href="{escape(uri)}">{name}</a>' if uri.startswith("https://") else name
    rows = "".join(_candidate(film, candidate, columns) for candidate in candidates)
    table = (
        '<table class="candidates"><thead><tr><th>#</th><th>TMDB candidate</th><th>votes</th><th>runtime</th>'
        f"<th>score</th><th>why this score</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else f'<p class="muted">{_without_candidates(film, columns)}</p>'
    )
    return (
        f'<article class="panel film"><h2>{heading} {badges}</h2>'
        f'<p class="chosen">{_chosen(film)}</p><p class="why">Why: {escape(film["reason"] or "")}</p>{table}</article>'
    )


def _chosen(film: Row) -> str:
    if film["tmdb_id"] is None:
        return "Chosen: nothing."
    media_type = film["media_type"] or MediaType.MOVIE
    label = (
        _title_year(film["chosen_title"], film["chosen_year"]) if film["chosen_title"] else f"TMDB {film['tmdb_id']}"
    )
    kind = " (TV)" if media_type == MediaType.TV else ""
    confidence = f", confidence {film['confidence']:.2f}" if film["status"] == MatchStatus.FOUND else ""
    return f"Chosen: {_tmdb_link(media_type, film['tmdb_id'], label)}{kind}{confidence}."


def _candidate(film: Row, candidate: Row, columns: Sequence[str]) -> str:
    media_type = candidate["media_type"]
    label = _title_year(candidate["title"], candidate["year"]) + (" (TV)" if media_type == MediaType.TV else "")
    chosen = film["tmdb_id"] == candidate["tmdb_id"] and (film["media_type"] or MediaType.MOVIE) == media_type
    line = _line(film, columns, candidate["tmdb_id"], media_type)
    votes = "–" if candidate["vote_count"] is None else f"{candidate['vote_count']:,}"
    runtime = "–" if candidate["runtime"] is None else f"{candidate['runtime']} min"
    return (
        f"<tr{' class=chosen' if chosen else ''}><td>{candidate['rank']}</td>"
        f"<td>{_tmdb_link(media_type, candidate['tmdb_id'], label)}</td><td class=num>{votes}</td>"
        f"<td class=num>{runtime}</td><td class=num>{candidate['score']:.2f}</td><td>{escape(candidate['reason'])}</td>"
        f'</tr><tr class="line"><td></td><td colspan="5">overrides.csv line: <code>{escape(line)}</code></td></tr>'
    )


def _line(film: Row, columns: Sequence[str], tmdb_id: int | str, media_type: str) -> str:
    return override_line(
        columns,
        tmdb_id=tmdb_id,
        media_type=media_type,
        name=film["name"],
        year=film["year"],
        letterboxd_uri=film["letterboxd_uri"],
    )


def _without_candidates(film: Row, columns: Sequence[str]) -> str:
    if film["status"] == MatchStatus.OVERRIDE:
        return (
            "overrides.csv pinned this film, so TMDB was not searched and no candidates are stored. Change the "
            "tmdb_id of its line to pin another film, or delete the line to send it back to matching."
        )
    search = f"{TMDB_SITE}/search?query={quote_plus(film['name'])}"
    line = escape(_line(film, columns, "<tmdb_id>", MediaType.MOVIE))
    return (
        f'No search candidates are stored for this film. Look it up on <a href="{escape(search)}">TMDB</a> and pin it '
        f"with <code>{line}</code> (the number from the film’s TMDB address; media_type tv for a series)."
    )


def _tmdb_link(media_type: str, tmdb_id: int, label: str) -> str:
    return f'<a href="{TMDB_SITE}/{escape(media_type)}/{tmdb_id}">{escape(label)}</a>'


def _title_year(title: str, year: int | None) -> str:
    return title if year is None else f"{title} ({year})"


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
    # The report's look, plus what only this page has: badges, the candidate table and the lines to copy.
    report = files("movie_pipeline.stats").joinpath("templates/report.css").read_text(encoding="utf-8")
    return report + MATCHES_CSS


MATCHES_CSS = """
.panel.film, .panel.how, .panel.problems { margin: 0 0 16px; }
.panel.how h2, .panel.problems h2 { margin-top: 0; }
.panel.film h2 { font-size: 1.25rem; margin: 0 0 .4rem; }
.panel.film h2::before { display: none; }
.panel.film h2 a, .candidates a, .chosen a, .how a { color: var(--blue); }
.badge { font: 600 .7rem/1 system-ui, sans-serif; text-transform: uppercase; letter-spacing: .06em;
  padding: .25em .55em; border-radius: 999px; background: var(--panel-2); color: var(--orange);
  border: 1px solid var(--line); margin-left: .35em; vertical-align: .2em; }
.chosen, .why { margin: .2rem 0; }
.why { color: var(--muted); }
.candidates { width: 100%; border-collapse: collapse; margin-top: .6rem; font-size: .92rem; }
.candidates th { text-align: left; color: var(--muted); font-weight: normal; border-bottom: 1px solid var(--line); }
.candidates td, .candidates th { padding: .3rem .5rem; vertical-align: top; }
.candidates td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.candidates tr.chosen td { color: var(--green); }
.candidates tr.line td { padding-top: 0; border-bottom: 1px solid var(--line); color: var(--muted); }
code { font: .85rem/1.4 ui-monospace, "DejaVu Sans Mono", monospace; background: var(--panel-2);
  padding: .1em .4em; border-radius: 4px; user-select: all; overflow-wrap: anywhere; color: var(--text); }
.problems li { color: var(--orange); }
"""

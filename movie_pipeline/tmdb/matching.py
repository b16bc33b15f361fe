"""Which TMDB search result is the Letterboxd film: title similarity, year distance, prominence, then details.

A candidate's score is `(title part + prominence part) × year factor`. The year multiplies because a film
three years off is a different film however well the title matches (remakes share titles); prominence
(vote count, popularity) breaks near-ties, so a well-known film dated one year off — Letterboxd may date by
premiere, TMDB by release — beats an obscure same-title film from the exact year.

Search results say nothing of length, and TMDB holds a same-title short or documentary beside many features:
the best candidates are weighed again with their details (`weigh_details`, which only ever lowers a score),
best first, while the next could still win: usually only the winner's details, which it needs anyway, and a
runner-up's when the two are near (within 0.1 of a short, say).

A name's parenthetical part ("Birdman or (The Unexpected Virtue of Ignorance)", "Va Savoir (Who Knows?)") is
often missing from TMDB's title, so the name without it (`shorter_title`) is compared too.
"""

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

ACCEPT_THRESHOLD = 0.65
TITLE_WEIGHT = 0.8
PROMINENCE_WEIGHT = 0.2
YEAR_FACTOR_BY_DISTANCE = {0: 1.0, 1: 0.9, 2: 0.55}
FAR_YEAR_FACTOR = 0.3
# TMDB leaves some real films undated (and the stand-in's credits-only films have no date at all).
UNKNOWN_YEAR_FACTOR = 0.85
# Prominence saturates here: past this many votes (or this popularity) a film counts as well known.
WELL_KNOWN_VOTES = 2000
WELL_KNOWN_POPULARITY = 50.0
# The Academy's line between a short and a feature, in minutes: a short is rarely the film a diary means.
SHORT_MAX_RUNTIME = 40
SHORT_FACTOR = 0.8
DOCUMENTARY_GENRE = "Documentary"
DOCUMENTARY_FACTOR = 0.85

# Letters that NFKD leaves whole, and punctuation that varies between sources for the same title.
_CHARACTERS = str.maketrans(
    {
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ł": "l",
        "þ": "th",
        "ı": "i",
        "¢": "c",
        "&": " and ",
        "\u00a0": " ",
        "·": " ",
        "•": " ",
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "―": "-",
        "−": "-",
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "`": "'",
        "´": "'",
        "“": '"',
        "”": '"',
        "„": '"',
    }
)
_VULGAR_FRACTION = re.compile(r"[\u00bc-\u00be\u2150-\u215f]")  # "33⅓" must not read as "331/3"
_APOSTROPHES = re.compile(r"'")
_NON_WORD = re.compile(r"[\W_]+")
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_TRAILING_ARTICLE = re.compile(r",\s*(the|a|an)\s*$")
# Only English articles: "Die Hard" and "La La Land" must keep their first word.
_LEADING_ARTICLES = frozenset({"the", "a", "an"})
_PARENTHETICAL = re.compile(r"\([^()]*\)")
_DANGLING = re.compile(r"(\s+or|[\s:,;-])+$", re.IGNORECASE)  # what "Birdman or (…)" leaves: "Birdman or"


@dataclass(frozen=True)
class Match:
    tmdb_id: int
    confidence: float  # the candidate's score, 0..1
    reason: str


def normalize_title(title: str) -> str:
    """A comparison key: casefolded, accents and punctuation dropped, `&` read as "and", no leading English article.

    "Amélie" -> "amelie", "WALL·E" and "WALL-E" -> "wall e", "Alien³" -> "alien 3", "Matrix, The" -> "matrix".
    """
    text = unicodedata.normalize("NFKD", _VULGAR_FRACTION.sub(lambda m: f" {m.group()}", title.casefold()))
    text = "".join(char for char in text if not unicodedata.combining(char)).translate(_CHARACTERS)
    text = _TRAILING_ARTICLE.sub("", text)
    text = _APOSTROPHES.sub("", text)  # "Where's" -> "wheres", as people type it without the apostrophe
    text = _LETTER_DIGIT.sub(" ", _NON_WORD.sub(" ", text))
    words = text.split()
    if len(words) > 1 and words[0] in _LEADING_ARTICLES:
        words = words[1:]
    return " ".join(words)


def shorter_title(name: str) -> str | None:
    """The name without its parenthetical parts, or None when it has none (or nothing is left without them)."""
    shorter = _DANGLING.sub("", _PARENTHETICAL.sub(" ", name)).strip()
    return shorter if shorter and shorter != name.strip() else None


def score_candidate(name: str, year: int | None, candidate: Mapping[str, Any]) -> tuple[float, str]:
    """How likely the search result `candidate` is the film `name` (`year`), 0..1, and why."""
    wanted = [normalize_title(text) for text in (name, shorter_title(name)) if text]
    title = str(candidate.get("title") or "")
    original = str(candidate.get("original_title") or "")
    by_title = _similarity(wanted, title)
    by_original = _similarity(wanted, original) if original and original != title else 0.0
    similarity = max(by_title, by_original)
    candidate_year = release_year(candidate.get("release_date"))
    votes = int(candidate.get("vote_count") or 0)
    score = (TITLE_WEIGHT * similarity + PROMINENCE_WEIGHT * prominence(candidate)) * year_factor(year, candidate_year)
    via = f" (original title {original!r})" if by_original > by_title else ""
    reason = (
        f"{title!r} ({candidate_year or 'undated'}): title {similarity:.0%}{via}, "
        f"{_year_text(year, candidate_year)}, {votes} votes"
    )
    return round(score, 4), reason


def rank_candidates(name: str, year: int | None, candidates: Iterable[Mapping[str, Any]]) -> list[Match]:
    """Every candidate scored, best first; ties go to the better-known film, then the lower id."""
    scored = []
    for candidate in candidates:
        score, reason = score_candidate(name, year, candidate)
        scored.append((score, int(candidate.get("vote_count") or 0), -int(candidate["id"]), reason))
    scored.sort(reverse=True)
    return [Match(tmdb_id=-negative_id, confidence=score, reason=reason) for score, _, negative_id, reason in scored]


def choose_match(name: str, year: int | None, candidates: Iterable[Mapping[str, Any]]) -> Match | None:
    """The best candidate when it is acceptable (score >= ACCEPT_THRESHOLD), else None."""
    ranked = rank_candidates(name, year, candidates)
    return ranked[0] if ranked and ranked[0].confidence >= ACCEPT_THRESHOLD else None


def acceptable(ranked: Sequence[Match]) -> list[Match]:
    """The candidates of `ranked` (best first) that score at least ACCEPT_THRESHOLD."""
    return [match for match in ranked if match.confidence >= ACCEPT_THRESHOLD]


def weigh_details(match: Match, details: Mapping[str, Any] | None) -> Match:
    """`match` scored again with what only its details tell (`GET /movie/{id}`): a short or a documentary is
    less likely the film meant than a feature of the same title."""
    if not details:
        return match
    factor, notes = 1.0, list[str]()
    runtime = int(details.get("runtime") or 0)  # TMDB gives 0 for an unknown runtime
    if 0 < runtime <= SHORT_MAX_RUNTIME:
        factor *= SHORT_FACTOR
        notes.append(f"a {runtime}-minute short")
    if any(genre.get("name") == DOCUMENTARY_GENRE for genre in details.get("genres") or []):
        factor *= DOCUMENTARY_FACTOR
        notes.append("a documentary")
    if not notes:
        return match
    return Match(match.tmdb_id, round(match.confidence * factor, 4), f"{match.reason}; {' and '.join(notes)}")


def is_decisive(match: Match) -> bool:
    """No film dated another year could outscore `match`: its score reaches the most any such film can get
    (a perfect title and full prominence, times the one-year-off factor), so searching other years is moot."""
    return match.confidence >= YEAR_FACTOR_BY_DISTANCE[1]


def year_factor(year: int | None, candidate_year: int | None) -> float:
    if year is None or candidate_year is None:
        return UNKNOWN_YEAR_FACTOR
    return YEAR_FACTOR_BY_DISTANCE.get(abs(year - candidate_year), FAR_YEAR_FACTOR)


def prominence(candidate: Mapping[str, Any]) -> float:
    """0 for a film nobody rated, 1 for a well-known one; log-scaled, since votes span five orders of magnitude."""
    votes = max(float(candidate.get("vote_count") or 0), 0.0)
    popularity = max(float(candidate.get("popularity") or 0), 0.0)
    by_votes = math.log1p(votes) / math.log1p(WELL_KNOWN_VOTES)
    by_popularity = math.log1p(popularity) / math.log1p(WELL_KNOWN_POPULARITY)
    return min(1.0, (by_votes + by_popularity) / 2)


def release_year(release_date: object) -> int | None:
    """The year of TMDB's "YYYY-MM-DD", or None for "" / null (undated films)."""
    text = str(release_date or "")
    return int(text[:4]) if len(text) >= 4 and text[:4].isdigit() else None


def _similarity(wanted: Sequence[str], title: str) -> float:
    normalized = normalize_title(title)
    return max(fuzz.ratio(text, normalized) / 100 for text in wanted)


def _year_text(year: int | None, candidate_year: int | None) -> str:
    if year is None or candidate_year is None:
        return "year unknown"
    distance = candidate_year - year
    return "year exact" if distance == 0 else f"year {distance:+d}"

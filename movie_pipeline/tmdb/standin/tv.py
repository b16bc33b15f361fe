"""The stand-in's TV series (corpus/tmdb_tv_series.json, see corpus/SOURCES.md) as TMDB's `/search/tv` and `/tv/{id}`
bodies.

The series are the `/search/tv`-shaped results of the OpenAPI spec's examples, plus the TV entries of our Letterboxd
fixtures. A series whose `/tv/{id}` body is recorded (the spec's example) is answered as recorded; any other gets a
body of the same shape built from its search fields and its hand-filled details, if it has any. Without them it has
what TMDB shows for unknowns: no creators, no episode runtime, no episodes counted.
"""

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from movie_pipeline.tmdb.standin.corpus import CORPUS_DIR, indexed_words, title_words
from movie_pipeline.tmdb.standin.payloads import _credit_id, _person, _person_id  # ids as the movies' credits have

TV_CORPUS_JSON = CORPUS_DIR / "tmdb_tv_series.json"
PAGE_SIZE = 20

# The fields of a /search/tv result (the spec's schema and example); some example objects leave a few out.
SEARCH_RESULT_DEFAULTS: dict[str, Any] = {
    "adult": False,
    "backdrop_path": None,
    "genre_ids": [],
    "id": 0,
    "origin_country": [],
    "original_language": "",
    "original_name": "",
    "overview": "",
    "popularity": 0.0,
    "poster_path": None,
    "first_air_date": "",
    "name": "",
    "vote_average": 0.0,
    "vote_count": 0,
}


@dataclass(frozen=True)
class TvSeries:
    """One series: its search result, its details body (without credits) and its credits (treat all as read-only)."""

    result: Mapping[str, Any]
    details: Mapping[str, Any]
    credits: Mapping[str, Any]  # {cast, crew}, as append_to_response=credits adds them

    @property
    def id(self) -> int:
        return int(self.result["id"])

    @property
    def first_air_year(self) -> int | None:
        date = str(self.result["first_air_date"] or "")
        return int(date[:4]) if date[:4].isdigit() else None


class TvCorpus:
    """Series by id, and a word index over name and original name for TMDB-like search."""

    def __init__(self, series: Iterable[TvSeries]):
        by_popularity = sorted(series, key=lambda one: (-float(one.result["popularity"]), one.id))
        self._series = {one.id: one for one in by_popularity}
        self._rank = {one.id: rank for rank, one in enumerate(by_popularity)}
        self._ids_by_word: dict[str, set[int]] = defaultdict(set)
        for one in by_popularity:
            for word in indexed_words(one.result["name"]) | indexed_words(one.result["original_name"]):
                self._ids_by_word[word].add(one.id)

    def __len__(self) -> int:
        return len(self._series)

    def __iter__(self) -> Iterator[TvSeries]:
        return iter(self._series.values())

    def get(self, series_id: int) -> TvSeries | None:
        return self._series.get(series_id)

    def search(self, query: str) -> list[TvSeries]:
        """Series whose name or original name holds every word of the query, most popular first."""
        words = set(title_words(query))
        if not words:
            return []
        matching = set.intersection(*(self._ids_by_word.get(word, set()) for word in words))
        return [self._series[series_id] for series_id in sorted(matching, key=self._rank.__getitem__)]


@functools.cache
def load_tv_corpus() -> TvCorpus:
    """The bundled TV series, read once per process."""
    return read_tv_corpus(TV_CORPUS_JSON)


def read_tv_corpus(path: Path) -> TvCorpus:
    document = json.loads(path.read_text(encoding="utf-8"))
    genres = {genre["id"]: genre for genre in document["genres"]}
    recorded = {entry["details"]["id"]: entry for entry in document["recorded_details"]}
    filled = {entry["id"]: entry for entry in document["filled_details"]}
    series = []
    for listed in document["series"]:
        result = {**SEARCH_RESULT_DEFAULTS, **listed}
        if result["id"] in recorded:
            entry = recorded[result["id"]]
            details, credits = entry["details"], {"cast": entry["credits"]["cast"], "crew": entry["credits"]["crew"]}
        else:
            extra = filled.get(result["id"], {})
            details, credits = built_details(result, extra, genres), built_credits(result["id"], extra)
        series.append(TvSeries(result=result, details=details, credits=credits))
    return TvCorpus(series)


def built_details(
    result: Mapping[str, Any], extra: Mapping[str, Any], genres: Mapping[int, Mapping[str, Any]]
) -> dict[str, Any]:
    """A `/tv/{id}` body with the keys of the recorded one, from the search fields and the hand-filled details."""
    series_id = int(result["id"])
    spoken = list(extra.get("spoken_languages", []))
    return {
        "adult": result["adult"],
        "backdrop_path": result["backdrop_path"],
        "created_by": [
            {
                "id": _person_id(name),
                "credit_id": _credit_id(series_id, "creator", name),
                "name": name,
                "gender": 0,
                "profile_path": None,
            }
            for name in extra.get("created_by", [])
        ],
        "episode_run_time": list(extra.get("episode_run_time", [])),
        "first_air_date": result["first_air_date"],
        "genres": [dict(genres[genre_id]) for genre_id in result["genre_ids"] if genre_id in genres],
        "homepage": "",
        "id": series_id,
        "in_production": False,
        "languages": [language["iso_639_1"] for language in spoken],
        "last_air_date": extra.get("last_air_date", result["first_air_date"]),
        "last_episode_to_air": None,
        "name": result["name"],
        "next_episode_to_air": None,
        "networks": [],
        "number_of_episodes": extra.get("number_of_episodes", 0),
        "number_of_seasons": extra.get("number_of_seasons", 0),
        "origin_country": list(result["origin_country"]),
        "original_language": result["original_language"],
        "original_name": result["original_name"],
        "overview": result["overview"],
        "popularity": result["popularity"],
        "poster_path": result["poster_path"],
        "production_companies": [],
        "production_countries": list(extra.get("production_countries", [])),
        "seasons": [],
        "spoken_languages": spoken,
        "status": extra.get("status", "Returning Series"),
        "tagline": "",
        "type": extra.get("type", "Scripted"),
        "vote_average": result["vote_average"],
        "vote_count": result["vote_count"],
    }


def built_credits(series_id: int, extra: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "cast": [
            {
                **_person(name, "Acting"),
                "character": "",
                "credit_id": _credit_id(series_id, "cast", name),
                "order": order,
            }
            for order, name in enumerate(extra.get("cast", []))
        ],
        "crew": [],  # TV creators are the series' created_by, not a crew job
    }


def search_page(series: list[TvSeries], page: int) -> dict[str, Any]:
    start = (page - 1) * PAGE_SIZE
    return {
        "page": page,
        "results": [dict(one.result) for one in series[start : start + PAGE_SIZE]],
        "total_pages": -(-len(series) // PAGE_SIZE),
        "total_results": len(series),
    }


def details_body(series: TvSeries, *, with_credits: bool) -> dict[str, Any]:
    body = dict(series.details)
    if with_credits:
        body["credits"] = dict(series.credits)
    return body

"""The stand-in's films: the two bundled files (see corpus/SOURCES.md) merged on TMDB id, plus a title index."""

import csv
import functools
import io
import json
import re
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from movie_pipeline.tmdb.standin.reference import GENRE_IDS, LANGUAGE_ENGLISH_NAMES

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
KAGGLE_MOVIES_ZIP = CORPUS_DIR / "tmdb_5000_movies.csv.zip"
KAGGLE_MOVIES_MEMBER = "tmdb_5000_movies.csv"
UDACITY_CREDITS_CSV = CORPUS_DIR / "tmdb-movies_udacity_credits-subset.csv"

NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


@dataclass(frozen=True, slots=True)
class CorpusFilm:
    """One film, its nested lists already shaped like TMDB's objects (treat them as read-only)."""

    id: int
    title: str
    original_title: str
    original_language: str
    overview: str
    tagline: str
    homepage: str
    status: str
    release_date: str  # "YYYY-MM-DD", or "" like TMDB for undated films
    runtime: int | None
    budget: int
    revenue: int
    popularity: float
    vote_average: float
    vote_count: int
    genres: tuple[dict[str, Any], ...]
    production_companies: tuple[dict[str, Any], ...]
    production_countries: tuple[dict[str, Any], ...]
    spoken_languages: tuple[dict[str, Any], ...]
    directors: tuple[str, ...]
    cast: tuple[str, ...]  # billing order

    @property
    def release_year(self) -> int | None:
        return int(self.release_date[:4]) if self.release_date else None


class StandinCorpus:
    """Films by id, and a word index over title and original title for TMDB-like search."""

    def __init__(self, films: Iterable[CorpusFilm]):
        by_popularity = sorted(films, key=lambda film: (-film.popularity, film.id))
        self._films = {film.id: film for film in by_popularity}
        self._rank = {film.id: rank for rank, film in enumerate(by_popularity)}
        self._ids_by_word: dict[str, set[int]] = defaultdict(set)
        for film in by_popularity:
            for word in indexed_words(film.title) | indexed_words(film.original_title):
                self._ids_by_word[word].add(film.id)

    def __len__(self) -> int:
        return len(self._films)

    def __iter__(self) -> Iterator[CorpusFilm]:
        return iter(self._films.values())

    def get(self, movie_id: int) -> CorpusFilm | None:
        return self._films.get(movie_id)

    def search(self, query: str) -> list[CorpusFilm]:
        """Films whose title or original title holds every word of the query, most popular first."""
        words = title_words(query)
        if not words:
            return []
        candidates = sorted((self._ids_by_word.get(word, set()) for word in set(words)), key=len)
        matching = set.intersection(*candidates)
        return [self._films[film_id] for film_id in sorted(matching, key=self._rank.__getitem__)]


def title_words(text: str) -> list[str]:
    """Casefolded words with accents stripped and punctuation dropped, so "Amélie's" and "amelies" meet."""
    return _folded(text, punctuation="").split()


def indexed_words(title: str) -> set[str]:
    """A title's words both with punctuation dropped and read as a space: "Spider-Man" is found by
    "spiderman" and by "spider man", "Love's Kitchen" by "love"."""
    return set(title_words(title)) | set(_folded(title, punctuation=" ").split())


def _folded(text: str, punctuation: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(
        punctuation if unicodedata.category(char)[0] in "PS" else char
        for char in decomposed
        if not unicodedata.combining(char)
    )


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 that was decoded as cp1252 (`AutÃ³mata`), one non-ASCII run at a time.

    A run is replaced only when it round-trips, so correct text (`Amélie`) and runs whose bytes were lost
    in the original corruption are left as they are.
    """
    return NON_ASCII_RUN.sub(_repaired_run, text)


def _repaired_run(match: re.Match[str]) -> str:
    run = match.group()
    try:
        return run.encode("cp1252").decode("utf-8")
    except UnicodeError:
        return run


def clean_text(text: str) -> str:
    # Repair first: mojibake of "à" ends in a no-break space, which strip() would eat.
    return repair_mojibake(text).strip()


def split_names(field: str) -> tuple[str, ...]:
    return tuple(name for name in (clean_text(part) for part in field.split("|")) if name)


@functools.cache
def load_corpus() -> StandinCorpus:
    """The bundled corpus, read once per process."""
    return StandinCorpus(merge_sources(read_kaggle_films(KAGGLE_MOVIES_ZIP), read_udacity_films(UDACITY_CREDITS_CSV)))


def merge_sources(kaggle: dict[int, CorpusFilm], udacity: dict[int, CorpusFilm]) -> list[CorpusFilm]:
    """Union of ids: Kaggle's metadata where it has the film, Udacity's directors and cast where it has them."""
    merged = dict(udacity)
    for film_id, film in kaggle.items():
        credited = udacity.get(film_id)
        merged[film_id] = film if credited is None else replace(film, directors=credited.directors, cast=credited.cast)
    return list(merged.values())


def read_kaggle_films(path: Path) -> dict[int, CorpusFilm]:
    with zipfile.ZipFile(path) as archive, archive.open(KAGGLE_MOVIES_MEMBER) as raw:
        rows = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        return {int(row["id"]): kaggle_film(row) for row in rows}


def kaggle_film(row: dict[str, str]) -> CorpusFilm:
    return CorpusFilm(
        id=int(row["id"]),
        title=clean_text(row["title"]),
        original_title=clean_text(row["original_title"]),
        original_language=row["original_language"],
        overview=clean_text(row["overview"]),
        tagline=clean_text(row["tagline"]),
        homepage=row["homepage"],
        status=row["status"],
        release_date=row["release_date"],
        runtime=int(float(row["runtime"])) if row["runtime"] else None,
        budget=int(row["budget"]),
        revenue=int(row["revenue"]),
        popularity=float(row["popularity"]),
        vote_average=float(row["vote_average"]),
        vote_count=int(row["vote_count"]),
        genres=tuple({"id": genre["id"], "name": genre["name"]} for genre in json.loads(row["genres"])),
        production_companies=tuple(
            {"id": company["id"], "logo_path": None, "name": clean_text(company["name"]), "origin_country": ""}
            for company in json.loads(row["production_companies"])
        ),
        production_countries=tuple(
            {"iso_3166_1": country["iso_3166_1"], "name": country["name"]}
            for country in json.loads(row["production_countries"])
        ),
        spoken_languages=tuple(
            {
                "english_name": LANGUAGE_ENGLISH_NAMES[language["iso_639_1"]],
                "iso_639_1": language["iso_639_1"],
                "name": language["name"],
            }
            for language in json.loads(row["spoken_languages"])
        ),
        directors=(),
        cast=(),
    )


def read_udacity_films(path: Path) -> dict[int, CorpusFilm]:
    films: dict[int, CorpusFilm] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            # Id 42194 is listed twice with identical rows: keep the first.
            films.setdefault(int(row["id"]), udacity_film(row))
    return films


def udacity_film(row: dict[str, str]) -> CorpusFilm:
    """A film known only from the credits subset: no date, runtime or figures, as TMDB shows unknowns."""
    title = clean_text(row["original_title"])
    return CorpusFilm(
        id=int(row["id"]),
        title=title,
        original_title=title,
        original_language="",
        overview="",
        tagline="",
        homepage="",
        status="Released",
        release_date="",
        runtime=None,
        budget=0,
        revenue=0,
        popularity=0.0,
        vote_average=0.0,
        vote_count=0,
        genres=tuple({"id": GENRE_IDS[name], "name": name} for name in split_names(row["genres"])),
        production_companies=(),
        production_countries=(),
        spoken_languages=(),
        directors=split_names(row["director"]),
        cast=split_names(row["cast"]),
    )

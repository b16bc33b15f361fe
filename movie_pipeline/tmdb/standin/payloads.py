"""TMDB v3 JSON bodies built from corpus films (shapes: movie_pipeline_tests/fixtures/tmdb/SOURCES.md)."""

import hashlib
import math
from typing import Any

from movie_pipeline.tmdb.standin.corpus import CorpusFilm

PAGE_SIZE = 20

# Error bodies as TMDB sends them: the first three are recorded responses (fixtures/tmdb/jdrouet-tmdb-api),
# the others follow developer.themoviedb.org/docs/errors.
INVALID_API_KEY = {
    "status_message": "Invalid API key: You must be granted a valid key.",
    "success": False,
    "status_code": 7,
}
RESOURCE_NOT_FOUND = {"status_message": "The resource you requested could not be found.", "status_code": 34}
QUERY_MISSING = {"errors": ["query must be provided"]}
INVALID_PAGE = {
    "status_code": 22,
    "status_message": "Invalid page: Pages start at 1 and max at 500. They are expected to be an integer.",
    "success": False,
}
RATE_LIMITED = {
    "status_code": 25,
    "status_message": "Your request count (#) is over the allowed limit of (40).",
    "success": False,
}
INTERNAL_ERROR = {
    "status_code": 11,
    "status_message": "Internal error: Something went wrong, contact TMDB.",
    "success": False,
}
SERVICE_OFFLINE = {
    "status_code": 9,
    "status_message": "Service offline: This service is temporarily offline, try again later.",
    "success": False,
}


def invalid_parameter(name: str) -> dict[str, Any]:
    return {"errors": [f"{name} must be an integer"]}


def search_page(films: list[CorpusFilm], page: int) -> dict[str, Any]:
    start = (page - 1) * PAGE_SIZE
    return {
        "page": page,
        "results": [search_result(film) for film in films[start : start + PAGE_SIZE]],
        "total_pages": math.ceil(len(films) / PAGE_SIZE),
        "total_results": len(films),
    }


def search_result(film: CorpusFilm) -> dict[str, Any]:
    return {
        "adult": False,
        "backdrop_path": None,
        "genre_ids": [genre["id"] for genre in film.genres],
        "id": film.id,
        "original_language": film.original_language,
        "original_title": film.original_title,
        "overview": film.overview,
        "popularity": film.popularity,
        "poster_path": None,
        "release_date": film.release_date,
        "title": film.title,
        "video": False,
        "vote_average": film.vote_average,
        "vote_count": film.vote_count,
    }


def movie_details(film: CorpusFilm, *, with_credits: bool) -> dict[str, Any]:
    details: dict[str, Any] = {
        "adult": False,
        "backdrop_path": None,
        "belongs_to_collection": None,
        "budget": film.budget,
        "genres": list(film.genres),
        "homepage": film.homepage,
        "id": film.id,
        "imdb_id": None,
        "origin_country": [],
        "original_language": film.original_language,
        "original_title": film.original_title,
        "overview": film.overview,
        "popularity": film.popularity,
        "poster_path": None,
        "production_companies": list(film.production_companies),
        "production_countries": list(film.production_countries),
        "release_date": film.release_date,
        "revenue": film.revenue,
        "runtime": film.runtime,
        "spoken_languages": list(film.spoken_languages),
        "status": film.status,
        "tagline": film.tagline,
        "title": film.title,
        "video": False,
        "vote_average": film.vote_average,
        "vote_count": film.vote_count,
    }
    if with_credits:
        details["credits"] = credits(film)
    return details


def credits(film: CorpusFilm) -> dict[str, Any]:
    return {
        "cast": [
            {
                **_person(name, "Acting"),
                "cast_id": order,
                "character": "",
                "credit_id": _credit_id(film.id, "cast", name),
                "order": order,
            }
            for order, name in enumerate(film.cast)
        ],
        "crew": [
            {
                **_person(name, "Directing"),
                "credit_id": _credit_id(film.id, "Director", name),
                "department": "Directing",
                "job": "Director",
            }
            for name in film.directors
        ],
    }


def _person(name: str, department: str) -> dict[str, Any]:
    return {
        "adult": False,
        "gender": 0,
        "id": _person_id(name),
        "known_for_department": department,
        "name": name,
        "original_name": name,
        "popularity": 0.0,
        "profile_path": None,
    }


def _person_id(name: str) -> int:
    # The corpus has names, not person ids: a digest keeps one id per name across films and runs.
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=6).digest(), "big")


def _credit_id(movie_id: int, role: str, name: str) -> str:
    return hashlib.blake2b(f"{movie_id}/{role}/{name}".encode(), digest_size=12).hexdigest()

"""The values of film_matches.status and film_matches.media_type: stored as these strings, which SQL users query."""

from enum import StrEnum


class MatchStatus(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    PENDING = "pending"  # left for a later run: never cached
    OVERRIDE = "override"  # pinned in overrides.csv


# The statuses of a film that has TMDB details.
WITH_DETAILS = (MatchStatus.FOUND, MatchStatus.OVERRIDE)


class MediaType(StrEnum):
    MOVIE = "movie"
    TV = "tv"

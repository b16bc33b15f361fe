"""Plain-text phrasing shared by the markdown summary and the HTML report (no markup here)."""

from movie_pipeline.stats.compute import ALL_TIME, NOT_RUN, ViewingStats
from movie_pipeline.tmdb.statuses import WITH_DETAILS, MatchStatus


def period_title(period: str) -> str:
    return "All time" if period == ALL_TIME else period


def whole(number: float | None) -> str:
    return f"{round(number or 0):,}"


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"


def stars(rating: float | None) -> str:
    return "–" if rating is None else f"{rating:.2f}★"


def plural(count: float, unit: str) -> str:
    """ "1 film", "2 films": a whole count and its unit."""
    return f"{whole(count)} {unit}{'' if round(count) == 1 else 's'}"


def lag_text(days: float) -> str:
    """A span of days as people say it: days up to two months, then months up to two years, then years."""
    if days < 60:
        return f"{round(days):,} day{'' if round(days) == 1 else 's'}"
    if days < 730:
        return f"{days / 30.44:.0f} months"
    return f"{days / 365.25:.1f} years"


def headline_count(stats: ViewingStats, item: str, period: str) -> int:
    row = stats.get("headline", item, period)
    return (row or {}).get("count") or 0


def enriched_films(stats: ViewingStats, period: str = ALL_TIME) -> int:
    return sum(_statuses(stats, period).get(status, 0) for status in WITH_DETAILS)


def coverage_sentence(stats: ViewingStats, period: str = ALL_TIME) -> str:
    """How many of the period's films have TMDB details, and what happened to the rest."""
    statuses = _statuses(stats, period)
    total = sum(statuses.values())
    if total == 0:
        return "No films yet."
    missing = [
        f"{whole(statuses[status])} {wording}"
        for status, wording in (
            (MatchStatus.PENDING, "still pending"),
            (MatchStatus.NOT_FOUND, "not found on TMDB"),
            (NOT_RUN, "not looked up yet"),
        )
        if statuses.get(status)
    ]
    sentence = f"TMDB details for {whole(enriched_films(stats, period))} of {whole(total)} films"
    return f"{sentence} ({', '.join(missing)})." if missing else f"{sentence}."


def _statuses(stats: ViewingStats, period: str) -> dict[str, int]:
    return {row["item"]: row["count"] for row in stats.section("coverage", period).iter_rows(named=True)}

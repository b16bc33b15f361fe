"""enrich_films(): every film of an upload matched on TMDB, with details and credits, stored as results arrive.

Per film: an override beats everything; else the persistent cache (search outcomes by normalized title + year,
films by media type and TMDB id) answers without a request; else `GET /search/movie` with the year (and once more
without it when that settles nothing: see matching.is_decisive), then, when no film is acceptable, `GET /search/tv`
with the year (Letterboxd lists some miniseries and specials that TMDB files as TV), then the details with credits.
A transient failure leaves the film `pending` and is never cached, so a later run tries again; a definitive
not-found is cached for a while.

Database work runs on one writer thread, so the event loop keeps requests flowing while rows are committed;
each film's rows are committed as soon as the film is settled, so a killed run loses at most the requests in
flight, and the next run asks TMDB only for what is not stored yet.
"""

import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import polars as pl
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection, Engine

from movie_pipeline import database as db
from movie_pipeline.tmdb.client import RateLimitedTmdbClient, TmdbRequestError, TmdbUnavailable, request_chain
from movie_pipeline.tmdb.matching import (
    ACCEPT_THRESHOLD,
    Match,
    acceptable,
    choose_match,
    is_decisive,
    normalize_title,
    rank_candidates,
    release_year,
    shorter_title,
    weigh_details,
)
from movie_pipeline.tmdb.overrides import Override, Overrides
from movie_pipeline.tmdb.statuses import MatchStatus, MediaType

NOT_FOUND_TTL = timedelta(days=30)
PROGRESS_EVERY_S = 2.0
TOP_CAST = 5
TOP_CANDIDATES = 3  # kept per search outcome in tmdb_search_candidates
# Films in progress at once, per request slot: a film waits for its search, then its details (and the store in
# between); three films per slot keep enough requests waiting that every slot is busy to the end (see _settle).
FILMS_PER_REQUEST_SLOT = 3
_QUERY_CHUNK = 500  # ids per IN (...) list

ClientFactory = Callable[[], AbstractAsyncContextManager[RateLimitedTmdbClient]]
T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class EnrichmentSummary:
    films: int
    found: int
    not_found: int
    pending: int
    overrides: int
    tmdb_requests: int
    cache_hits: int  # films settled from the database without a request
    retries: int
    duration_s: float


@dataclass(frozen=True)
class Film:
    film_key: str
    name: str
    year: int | None
    letterboxd_uri: str | None

    @property
    def search_key(self) -> str:
        return search_key(self.name, self.year)


@dataclass(frozen=True)
class Outcome:
    """A film's row in film_matches, minus the bookkeeping columns."""

    status: MatchStatus
    tmdb_id: int | None
    confidence: float
    reason: str
    media_type: MediaType = MediaType.MOVIE  # which of TMDB's id spaces tmdb_id is in


@dataclass(frozen=True)
class Candidate:
    """A ranked search result, as tmdb_search_candidates keeps it (the matches page shows these)."""

    media_type: MediaType
    tmdb_id: int
    title: str
    original_title: str | None
    year: int | None
    vote_count: int | None
    popularity: float | None
    score: float
    reason: str


@dataclass(frozen=True)
class _Claim:
    """A stale film taken for refreshing: its fetched_at moved from `was` to `claimed_at`."""

    media_type: MediaType
    tmdb_id: int
    was: datetime
    claimed_at: datetime


@dataclass
class _Plan:
    """What the database already knows about one film, and so which requests it still needs."""

    film: Film
    override: Override | None = None
    matched: Outcome | None = None  # a found search outcome from the cache
    outcome: Outcome | None = None  # settled without any request


def search_key(name: str, year: int | None) -> str:
    title = normalize_title(name) or name.casefold().strip()
    return f"{title[:380]}|{'' if year is None else year}"


async def enrich_films(
    films: pl.DataFrame,
    *,
    upload: str,
    engine: Engine,
    client_factory: ClientFactory,
    overrides: Overrides,
    log: Callable[[str], object] = print,
    now: Callable[[], datetime] = utc_now,
) -> EnrichmentSummary:
    """Match and enrich the `films` of `upload` (columns film_key, name, year, letterboxd_uri)."""
    started = time.monotonic()
    wanted = films_from_frame(films)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="film-database") as writer:
        store = _Store(engine, writer, now)
        await store.run(store.start_upload, upload, wanted)
        plans = await store.run(store.plan, wanted, overrides)
        settled = [(plan.film, plan.outcome) for plan in plans if plan.outcome is not None]
        await store.run(store.save_settled, upload, settled)
        outcomes: Counter[MatchStatus] = Counter(outcome.status for _, outcome in settled)
        to_request = [plan for plan in plans if plan.outcome is None]
        log(f"{len(wanted)} films: {len(settled)} known from the database, {len(to_request)} to look up on TMDB")
        requests = retries = 0
        if to_request:
            async with client_factory() as client:
                run = _OnlineRun(client, store, upload, log, started, len(wanted), outcomes)
                try:
                    await run.settle_all(to_request)
                finally:
                    requests, retries = client.counters.requests, client.counters.retries
    summary = EnrichmentSummary(
        films=len(wanted),
        found=outcomes[MatchStatus.FOUND],
        not_found=outcomes[MatchStatus.NOT_FOUND],
        pending=outcomes[MatchStatus.PENDING],
        overrides=outcomes[MatchStatus.OVERRIDE],
        tmdb_requests=requests,
        cache_hits=len(settled),
        retries=retries,
        duration_s=round(time.monotonic() - started, 3),
    )
    log(
        f"{summary.films} films in {summary.duration_s:.1f} s: {summary.found} found, {summary.not_found} not found, "
        f"{summary.pending} pending, {summary.overrides} overrides; {summary.tmdb_requests} TMDB requests, "
        f"{summary.retries} retries, {summary.cache_hits} from the database"
    )
    return summary


def uploads_with_stale_films(
    engine: Engine, older_than_days: int, *, now: Callable[[], datetime] = utc_now
) -> list[str]:
    """The uploads holding a TMDB film fetched more than `older_than_days` ago."""
    matches, movies = db.film_matches.c, db.tmdb_movies.c
    cutoff = now() - timedelta(days=older_than_days)
    query = (
        select(matches.upload)
        .join(db.tmdb_movies, (movies.media_type == matches.media_type) & (movies.tmdb_id == matches.tmdb_id))
        .where(movies.fetched_at < cutoff)
        .distinct()
        .order_by(matches.upload)
    )
    with engine.connect() as conn:
        return list(conn.scalars(query))


async def refresh_stale_movies(
    engine: Engine,
    client_factory: ClientFactory,
    older_than_days: int,
    *,
    upload: str,
    log: Callable[[str], object] = print,
    now: Callable[[], datetime] = utc_now,
) -> int:
    """Fetch again the TMDB films of `upload` fetched more than `older_than_days` ago; the number refreshed.

    Each film is claimed in the database before its request, so the refreshes of other uploads holding it, in the
    same tick, leave it alone: one request per stale film per tick. A film TMDB no longer has, or that fails
    transiently, gets its claim undone and keeps its stored row until a later refresh.
    """
    cutoff = now() - timedelta(days=older_than_days)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="film-database") as writer:
        store = _Store(engine, writer, now)
        stale = await store.run(store.stale_movies, upload, cutoff)
        if not stale:
            return 0
        log(f"refreshing {len(stale)} TMDB films of {upload} fetched before {cutoff:%Y-%m-%d}")
        async with client_factory() as client:

            async def refresh(entry: tuple[MediaType, int]) -> bool:
                media_type, tmdb_id = entry
                claim = await store.run(store.claim_stale_movie, media_type, tmdb_id, cutoff)
                if claim is None:
                    return False  # another upload's refresh has it
                details = None
                try:
                    details = await fetch_details(client, media_type, tmdb_id)
                except (TmdbUnavailable, TmdbRequestError):
                    pass
                finally:
                    if details is None:
                        await store.run(store.undo_claim, claim)
                if details is None:
                    return False
                await store.run(store.save, movie=entry_row(media_type, details, now()))
                return True

            refreshed = sum(await run_all(refresh(entry) for entry in stale))
    log(f"refreshed {refreshed} of {len(stale)} stale TMDB films of {upload}")
    return refreshed


async def run_all(coroutines: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Run concurrently; the first failure cancels the rest and is raised as itself (not as an ExceptionGroup)."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(coroutine) for coroutine in coroutines]
    except* Exception as failures:
        raise failures.exceptions[0] from None
    return [task.result() for task in tasks]


def films_from_frame(films: pl.DataFrame) -> list[Film]:
    columns = films.select("film_key", "name", "year", "letterboxd_uri")
    rows = columns.unique("film_key", keep="first", maintain_order=True)
    return [Film(**row) for row in rows.iter_rows(named=True)]


class _OnlineRun:
    """The films that need TMDB, as concurrent tasks sharing one client."""

    def __init__(
        self,
        client: RateLimitedTmdbClient,
        store: "_Store",
        upload: str,
        log: Callable[[str], object],
        started: float,
        total: int,
        outcomes: Counter[MatchStatus],
    ):
        self._client = client
        self._store = store
        self._upload = upload
        self._log = log
        self._started = started
        self._total = total
        self._outcomes = outcomes
        self._window = asyncio.Semaphore(client.max_concurrency * FILMS_PER_REQUEST_SLOT)
        self._details: dict[tuple[MediaType, int], asyncio.Task[dict[str, Any] | None]] = {}
        self._last_progress = time.monotonic()

    async def settle_all(self, plans: Sequence[_Plan]) -> None:
        """Every film settled and stored; a TmdbAuthError cancels the rest and propagates, leaving them pending.

        Films that may need the most requests start first, so the run ends on films that need one."""
        await run_all(self._settle(plan) for plan in sorted(plans, key=_most_requests, reverse=True))

    async def _settle(self, plan: _Plan) -> None:
        # One chain per film: the client sends every film's first request before any film's next one, so the slots
        # end on many films' last steps together instead of one late film's whole chain.
        async with self._window:
            try:
                with request_chain():
                    outcome, movie = await self._look_up(plan)
            except (TmdbUnavailable, TmdbRequestError) as error:
                outcome, movie = Outcome(MatchStatus.PENDING, None, 0.0, f"left for a later run: {error}"), None
        await self._store.run(self._store.save, match=(self._upload, plan.film, outcome), movie=movie)
        self._outcomes[outcome.status] += 1
        self._report_progress()

    async def _look_up(self, plan: _Plan) -> tuple[Outcome, dict[str, Any] | None]:
        film = plan.film
        if plan.override is not None:
            tmdb_id, media_type = plan.override.tmdb_id, plan.override.media_type
            matched = Outcome(MatchStatus.OVERRIDE, tmdb_id, 1.0, plan.override.reason, media_type)
        else:
            matched = plan.matched or await self._match(film)
            if matched.tmdb_id is None:
                return matched, None
            tmdb_id, media_type = matched.tmdb_id, matched.media_type
        if await self._store.run(self._store.has_entry, media_type, tmdb_id):
            return matched, None
        details = await self._movie_details(media_type, tmdb_id)
        if details is None:
            source = plan.override.reason if plan.override else "the search result"
            kind = "film" if media_type == MediaType.MOVIE else "TV series"
            reason = f"TMDB has no {kind} {tmdb_id} ({source}); it may have been removed"
            return Outcome(MatchStatus.NOT_FOUND, None, 0.0, reason), None
        return matched, entry_row(media_type, details, self._store.now())

    async def _match(self, film: Film) -> Outcome:
        """The search outcome: films first, then TV series when no film is acceptable (at most one more search, and
        the details of the series chosen). It is cached with its top candidates as soon as it is known, so a crash
        after it costs no second search."""
        outcome, films = await self._search(film)
        ranked = _ranked(film, MediaType.MOVIE, films)
        if outcome.tmdb_id is None:
            series = [_as_film_result(result) for result in await self._client.search_tv(film.name, film.year)]
            ranked = sorted(ranked + _ranked(film, MediaType.TV, series), key=lambda one: one.score, reverse=True)
            match = choose_match(film.name, film.year, series)
            outcome = (
                Outcome(MatchStatus.FOUND, match.tmdb_id, match.confidence, f"TV series {match.reason}", MediaType.TV)
                if match
                else _not_found(film, films, series)
            )
        await self._store.run(self._store.save, search=(film.search_key, outcome), candidates=ranked[:TOP_CANDIDATES])
        return outcome

    async def _search(self, film: Film) -> tuple[Outcome, list[dict[str, Any]]]:
        """The film search's outcome, and the results it weighed (_match caches both).

        The year-filtered search settles it when its best is decisive; otherwise the search without a year
        adds the films of other years (a better-known film dated a year off, or TMDB's undated films). A name
        with a parenthetical part that still finds nothing acceptable is searched again without that part.
        """
        candidates = await self._client.search_movies(film.name, film.year)
        match = await self._best_by_details(film, candidates)
        if film.year is not None and (match is None or not is_decisive(match)):
            candidates = _merged(candidates, await self._client.search_movies(film.name))
            match = await self._best_by_details(film, candidates)
        shorter = shorter_title(film.name)
        if match is None and shorter is not None:
            candidates = _merged(candidates, await self._client.search_movies(shorter, film.year))
            match = await self._best_by_details(film, candidates)
            if film.year is not None and (match is None or not is_decisive(match)):
                candidates = _merged(candidates, await self._client.search_movies(shorter))
                match = await self._best_by_details(film, candidates)
        outcome = _found(match) if match else _not_found(film, candidates)
        return outcome, candidates

    async def _best_by_details(self, film: Film, candidates: Sequence[Mapping[str, Any]]) -> Match | None:
        """The best acceptable candidate once details are weighed (see matching.weigh_details).

        Details are fetched best first, only while a candidate not yet weighed could still outscore the best
        weighed one (weighing only lowers a score): usually just the winner's, which its film row needs anyway,
        and a runner-up's only when its score is above the weighed best (as one within 0.1 of a short is).
        """
        waiting = acceptable(rank_candidates(film.name, film.year, candidates))
        weighed: list[Match] = []
        while waiting and (not weighed or weighed[0].confidence < waiting[0].confidence):
            candidate = waiting.pop(0)
            weighed.append(weigh_details(candidate, await self._movie_details(MediaType.MOVIE, candidate.tmdb_id)))
            weighed.sort(key=lambda match: match.confidence, reverse=True)
        return weighed[0] if weighed else None

    async def _movie_details(self, media_type: MediaType, tmdb_id: int) -> dict[str, Any] | None:
        # Two films of one upload can be the same TMDB entry (a title written two ways): one request serves both.
        entry = (media_type, tmdb_id)
        if entry not in self._details:
            self._details[entry] = asyncio.ensure_future(fetch_details(self._client, media_type, tmdb_id))
        return await self._details[entry]

    def _report_progress(self) -> None:
        moment = time.monotonic()
        if moment - self._last_progress < PROGRESS_EVERY_S:
            return
        self._last_progress = moment
        counters = self._client.counters
        rate = counters.requests / max(moment - self._started, 1e-9)
        self._log(f"{sum(self._outcomes.values())}/{self._total} films, {rate:.0f} req/s, {counters.retries} retries")


def _merged(*searches: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results of several searches, each film once."""
    return list({candidate["id"]: candidate for search in searches for candidate in search}.values())


def _most_requests(plan: _Plan) -> int:
    """The most requests the film can need: the details alone when its TMDB film is known, else a search (two with a
    year, see _search) and the details."""
    if plan.override is not None or plan.matched is not None:
        return 1
    return 3 if plan.film.year is not None else 2


def _found(match: Match) -> Outcome:
    return Outcome(MatchStatus.FOUND, match.tmdb_id, match.confidence, match.reason)


def _not_found(
    film: Film, candidates: Sequence[Mapping[str, Any]], series: Sequence[Mapping[str, Any]] | None = None
) -> Outcome:
    """Why nothing was accepted among the film `candidates` and, when TV was searched, the `series` (as
    _as_film_result shapes them)."""
    searched = [("film", candidates)] + ([] if series is None else [("TV", series)])
    bests = [
        (ranked[0], kind) for kind, results in searched if (ranked := rank_candidates(film.name, film.year, results))
    ]
    if not bests:
        kinds = " or ".join("TV series" if kind == "TV" else kind for kind, _ in searched)
        return Outcome(MatchStatus.NOT_FOUND, None, 0.0, f"TMDB search found no {kinds} by this title")
    best, kind = max(bests, key=lambda pair: pair[0].confidence)
    counted = " and ".join(f"{len(results)} {kind}" for kind, results in searched)
    return Outcome(
        MatchStatus.NOT_FOUND,
        None,
        0.0,
        f"no acceptable match among {counted} results; best {kind} {best.reason} scored {best.confidence:.2f} "
        f"(needs {ACCEPT_THRESHOLD:.2f}); pin the right one in overrides.csv",
    )


def _as_film_result(series: Mapping[str, Any]) -> dict[str, Any]:
    """A /search/tv result under the names of a /search/movie one, so the film matcher weighs it alike."""
    return {
        **series,
        "title": series.get("name"),
        "original_title": series.get("original_name"),
        "release_date": series.get("first_air_date"),
    }


def _ranked(film: Film, media_type: MediaType, results: Sequence[Mapping[str, Any]]) -> list[Candidate]:
    by_id = {int(result["id"]): result for result in results}
    candidates = []
    for match in rank_candidates(film.name, film.year, results):
        result = by_id[match.tmdb_id]
        candidates.append(
            Candidate(
                media_type=media_type,
                tmdb_id=match.tmdb_id,
                title=str(result.get("title") or result.get("original_title") or ""),
                original_title=result.get("original_title") or None,
                year=release_year(result.get("release_date")),
                vote_count=result.get("vote_count"),
                popularity=result.get("popularity"),
                score=match.confidence,
                reason=match.reason,
            )
        )
    return candidates


async def fetch_details(client: RateLimitedTmdbClient, media_type: MediaType, tmdb_id: int) -> dict[str, Any] | None:
    """The details with credits of a TMDB film or TV series, or None when TMDB has no such entry."""
    if media_type == MediaType.TV:
        return await client.tv_details(tmdb_id)
    return await client.movie_details(tmdb_id)


def entry_row(media_type: MediaType, details: Mapping[str, Any], fetched_at: datetime) -> dict[str, Any]:
    """The tmdb_movies row for the details of a film or a TV series."""
    return tv_row(details, fetched_at) if media_type == MediaType.TV else movie_row(details, fetched_at)


def movie_row(details: Mapping[str, Any], fetched_at: datetime) -> dict[str, Any]:
    """The tmdb_movies row for a `GET /movie/{id}?append_to_response=credits` body."""
    credits = details.get("credits") or {}
    crew = credits.get("crew") or []
    directors = [member["name"] for member in crew if member.get("job") == "Director" and member.get("name")]
    return {
        "media_type": MediaType.MOVIE,
        "tmdb_id": int(details["id"]),
        "title": details.get("title") or details.get("original_title") or "",
        "original_title": details.get("original_title") or None,
        "release_date": _release_date(details.get("release_date")),
        "genres": _json_list(genre.get("name") for genre in details.get("genres") or []),
        "directors": _json_list(directors),
        "top_cast": _json_list(_billed_cast(credits)[:TOP_CAST]),
        "runtime": details.get("runtime") or None,  # TMDB gives 0 for an unknown runtime
        "overview": details.get("overview") or None,
        "vote_average": details.get("vote_average"),
        "vote_count": details.get("vote_count"),
        "popularity": details.get("popularity"),
        "poster_path": details.get("poster_path") or None,
        "original_language": details.get("original_language") or None,
        "production_countries": _json_list(
            item.get("iso_3166_1") for item in details.get("production_countries") or []
        ),
        "spoken_languages": _json_list(item.get("iso_639_1") for item in details.get("spoken_languages") or []),
        "imdb_id": details.get("imdb_id") or None,
        "fetched_at": fetched_at,
    }


def tv_row(details: Mapping[str, Any], fetched_at: datetime) -> dict[str, Any]:
    """The tmdb_movies row for a `GET /tv/{id}?append_to_response=credits` body, in a film's terms: the creators
    stand for the directors, the first air date for the release, and the runtime is the whole series' (episode
    runtime × episodes), so hours watched add up like films'."""
    # TMDB leaves production_countries empty for many series; origin_country then says where it is from.
    countries = [item.get("iso_3166_1") for item in details.get("production_countries") or []]
    return {
        "media_type": MediaType.TV,
        "tmdb_id": int(details["id"]),
        "title": details.get("name") or details.get("original_name") or "",
        "original_title": details.get("original_name") or None,
        "release_date": _release_date(details.get("first_air_date")),
        "genres": _json_list(genre.get("name") for genre in details.get("genres") or []),
        "directors": _json_list(creator.get("name") for creator in details.get("created_by") or []),
        "top_cast": _json_list(_billed_cast(details.get("credits") or {})[:TOP_CAST]),
        "runtime": series_runtime(details),
        "overview": details.get("overview") or None,
        "vote_average": details.get("vote_average"),
        "vote_count": details.get("vote_count"),
        "popularity": details.get("popularity"),
        "poster_path": details.get("poster_path") or None,
        "original_language": details.get("original_language") or None,
        "production_countries": _json_list(countries or details.get("origin_country") or []),
        "spoken_languages": _json_list(item.get("iso_639_1") for item in details.get("spoken_languages") or []),
        "imdb_id": None,  # TV details carry no IMDb id (it would take /tv/{id}/external_ids, another request)
        "fetched_at": fetched_at,
    }


def series_runtime(details: Mapping[str, Any]) -> int | None:
    """Minutes of the whole series: episode runtime × episodes, where TMDB has both. TMDB lists one episode runtime
    per usual length; their mean stands for an episode."""
    minutes = [float(runtime) for runtime in details.get("episode_run_time") or [] if runtime]
    episodes = int(details.get("number_of_episodes") or 0)
    return round(statistics.mean(minutes) * episodes) if minutes and episodes else None


def _billed_cast(credits: Mapping[str, Any]) -> list[str]:
    cast = credits.get("cast") or []
    billed = sorted(
        (member for member in cast if member.get("name")), key=lambda member: member.get("order", len(cast))
    )
    return [member["name"] for member in billed]


def _json_list(values: Iterable[object]) -> str:
    return json.dumps(list(dict.fromkeys(str(value) for value in values if value)), ensure_ascii=False)


def _release_date(text: object) -> date | None:
    try:
        return date.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


class _Store:
    """The enrichment tables, touched only from one writer thread; each method is one short transaction."""

    def __init__(self, engine: Engine, writer: ThreadPoolExecutor, now: Callable[[], datetime]):
        self._engine = engine
        self._writer = writer
        self.now = now

    async def run(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, partial(method, *args, **kwargs))

    def start_upload(self, upload: str, films: Sequence[Film]) -> None:
        """A pending row for each film without one; rows of films no longer in the upload go."""
        matches = db.film_matches
        with self._engine.begin() as conn:
            existing = set(conn.scalars(select(matches.c.film_key).where(matches.c.upload == upload)))
            wanted = {film.film_key for film in films}
            gone = sorted(existing - wanted)
            for chunk in _chunks(gone):
                conn.execute(delete(matches).where(matches.c.upload == upload, matches.c.film_key.in_(chunk)))
            waiting = Outcome(MatchStatus.PENDING, None, 0.0, "waiting for TMDB")
            new_rows = [self._match_row(upload, film, waiting) for film in films if film.film_key not in existing]
            db.insert_rows(conn, matches, new_rows)

    def plan(self, films: Sequence[Film], overrides: Overrides) -> list[_Plan]:
        plans = [_Plan(film, override=overrides.find(film.name, film.year, film.letterboxd_uri)) for film in films]
        with self._engine.connect() as conn:
            searches = self._cached_searches(conn, {plan.film.search_key for plan in plans if plan.override is None})
            wanted = {(plan.override.media_type, plan.override.tmdb_id) for plan in plans if plan.override}
            wanted |= {(found.media_type, found.tmdb_id) for found in searches.values() if found.tmdb_id is not None}
            known = self._known_entries(conn, wanted)
        for plan in plans:
            override = plan.override
            if override is not None:
                if (override.media_type, override.tmdb_id) in known:
                    plan.outcome = Outcome(
                        MatchStatus.OVERRIDE, override.tmdb_id, 1.0, override.reason, override.media_type
                    )
                continue
            cached = searches.get(plan.film.search_key)
            if cached is None:
                continue
            if cached.tmdb_id is None or (cached.media_type, cached.tmdb_id) in known:
                plan.outcome = cached
            else:
                plan.matched = cached
        return plans

    def save_settled(self, upload: str, settled: Sequence[tuple[Film, Outcome]]) -> None:
        with self._engine.begin() as conn:
            db.upsert(conn, db.film_matches, [self._match_row(upload, film, outcome) for film, outcome in settled])

    def save(
        self,
        *,
        match: tuple[str, Film, Outcome] | None = None,
        movie: dict[str, Any] | None = None,
        search: tuple[str, Outcome] | None = None,
        candidates: Sequence[Candidate] = (),
    ) -> None:
        """Whatever is given, in one transaction: a film's final row never exists without its TMDB film, nor a
        search outcome without its candidates (which replace those of the search before)."""
        with self._engine.begin() as conn:
            if movie is not None:
                db.upsert(conn, db.tmdb_movies, [movie])
            if search is not None:
                key = search[0]
                db.upsert(conn, db.tmdb_search_cache, [self._search_row(*search)])
                conn.execute(delete(db.tmdb_search_candidates).where(db.tmdb_search_candidates.c.query_key == key))
                db.insert_rows(conn, db.tmdb_search_candidates, _candidate_rows(key, candidates))
            if match is not None:
                db.upsert(conn, db.film_matches, [self._match_row(*match)])

    def stale_movies(self, upload: str, cutoff: datetime) -> list[tuple[MediaType, int]]:
        matches, movies = db.film_matches.c, db.tmdb_movies.c
        query = (
            select(movies.media_type, movies.tmdb_id)
            .join(db.film_matches, (matches.media_type == movies.media_type) & (matches.tmdb_id == movies.tmdb_id))
            .where(matches.upload == upload, movies.fetched_at < cutoff)
            .distinct()
            .order_by(movies.media_type, movies.tmdb_id)
        )
        with self._engine.connect() as conn:
            return [(MediaType(media_type), tmdb_id) for media_type, tmdb_id in conn.execute(query)]

    def claim_stale_movie(self, media_type: MediaType, tmdb_id: int, cutoff: datetime) -> _Claim | None:
        """Compare-and-set on fetched_at: of two refreshes that read the same stale value, one wins the UPDATE."""
        movies = db.tmdb_movies
        entry = (movies.c.media_type == media_type) & (movies.c.tmdb_id == tmdb_id)
        with self._engine.connect() as conn:
            was = conn.scalar(select(movies.c.fetched_at).where(entry))
        if was is None or _as_utc(was) >= cutoff:
            return None
        claim = _Claim(media_type, tmdb_id, was, self.now())
        with self._engine.begin() as conn:
            taken = conn.execute(
                update(movies).where(entry, movies.c.fetched_at == was).values(fetched_at=claim.claimed_at)
            )
        return claim if taken.rowcount == 1 else None

    def undo_claim(self, claim: _Claim) -> None:
        movies = db.tmdb_movies
        with self._engine.begin() as conn:
            conn.execute(
                update(movies)
                .where(
                    movies.c.media_type == claim.media_type,
                    movies.c.tmdb_id == claim.tmdb_id,
                    movies.c.fetched_at == claim.claimed_at,
                )
                .values(fetched_at=claim.was)
            )

    def has_entry(self, media_type: MediaType, tmdb_id: int) -> bool:
        with self._engine.connect() as conn:
            return bool(self._known_entries(conn, {(media_type, tmdb_id)}))

    def _cached_searches(self, conn: Connection, keys: set[str]) -> dict[str, Outcome]:
        cache = db.tmdb_search_cache.c
        fresh = (cache.expires_at.is_(None)) | (cache.expires_at > self.now())
        found: dict[str, Outcome] = {}
        for chunk in _chunks(sorted(keys)):
            query = select(
                cache.query_key, cache.status, cache.tmdb_id, cache.confidence, cache.reason, cache.media_type
            )
            for row in conn.execute(query.where(cache.query_key.in_(chunk), fresh)):
                media_type = MediaType(row.media_type or MediaType.MOVIE)  # null while not found
                outcome = Outcome(MatchStatus(row.status), row.tmdb_id, row.confidence, row.reason, media_type)
                found[row.query_key] = outcome
        return found

    @staticmethod
    def _known_entries(conn: Connection, entries: set[tuple[MediaType, int]]) -> set[tuple[MediaType, int]]:
        """Which of the (media type, TMDB id) entries tmdb_movies holds."""
        movies = db.tmdb_movies.c
        known: set[tuple[MediaType, int]] = set()
        for media_type in {kind for kind, _ in entries}:
            ids = sorted(tmdb_id for kind, tmdb_id in entries if kind == media_type)
            for chunk in _chunks(ids):
                query = select(movies.tmdb_id).where(movies.media_type == media_type, movies.tmdb_id.in_(chunk))
                known.update((media_type, tmdb_id) for tmdb_id in conn.scalars(query))
        return known

    def _search_row(self, key: str, outcome: Outcome) -> dict[str, Any]:
        fetched_at = self.now()
        return {
            "query_key": key,
            "tmdb_id": outcome.tmdb_id,
            "status": outcome.status,
            "confidence": outcome.confidence,
            "reason": outcome.reason,
            "fetched_at": fetched_at,
            "expires_at": fetched_at + NOT_FOUND_TTL if outcome.status == MatchStatus.NOT_FOUND else None,
            "media_type": None if outcome.tmdb_id is None else outcome.media_type,
        }

    def _match_row(self, upload: str, film: Film, outcome: Outcome) -> dict[str, Any]:
        return {
            "upload": upload,
            "film_key": film.film_key,
            "name": film.name,
            "year": film.year,
            "letterboxd_uri": film.letterboxd_uri,
            "tmdb_id": outcome.tmdb_id,
            "status": outcome.status,
            "confidence": outcome.confidence,
            "reason": outcome.reason,
            "updated_at": self.now(),
            "media_type": None if outcome.tmdb_id is None else outcome.media_type,
        }


def _candidate_rows(query_key: str, candidates: Sequence[Candidate]) -> list[dict[str, Any]]:
    return [
        {"query_key": query_key, "rank": rank, **vars(candidate)} for rank, candidate in enumerate(candidates, start=1)
    ]


def _as_utc(moment: datetime) -> datetime:
    # SQLite hands DateTime columns back naive; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _chunks(values: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(values), _QUERY_CHUNK):
        yield values[start : start + _QUERY_CHUNK]

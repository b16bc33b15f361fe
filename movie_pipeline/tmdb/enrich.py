"""enrich_films(): every film of an upload matched on TMDB, with details and credits, stored as results arrive.

Per film: an override beats everything; else the persistent cache (search outcomes by normalized title + year,
films by TMDB id) answers without a request; else `GET /search/movie` with the year (and once more without it
when that settles nothing: see matching.is_decisive), then the details with credits. A transient failure leaves the film
`pending` and is never cached, so a later run tries again; a definitive not-found is cached for a while.

Database work runs on one writer thread, so the event loop keeps requests flowing while rows are committed;
each film's rows are committed as soon as the film is settled, so a killed run loses at most the requests in
flight, and the next run asks TMDB only for what is not stored yet.
"""

import asyncio
import json
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
from movie_pipeline.tmdb.client import RateLimitedTmdbClient, TmdbRequestError, TmdbUnavailable
from movie_pipeline.tmdb.matching import (
    ACCEPT_THRESHOLD,
    Match,
    acceptable,
    is_decisive,
    normalize_title,
    rank_candidates,
    shorter_title,
    weigh_details,
)
from movie_pipeline.tmdb.overrides import Override, Overrides
from movie_pipeline.tmdb.statuses import MatchStatus, MediaType

NOT_FOUND_TTL = timedelta(days=30)
PROGRESS_EVERY_S = 2.0
TOP_CAST = 5
# Films in progress at once, per request slot: a film waits for its search, then its details; two films per
# slot keep every slot busy while each film's chain still finishes soon after it starts.
FILMS_PER_REQUEST_SLOT = 2
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


@dataclass(frozen=True)
class _Claim:
    """A stale film taken for refreshing: its fetched_at moved from `was` to `claimed_at`."""

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
        .join(db.tmdb_movies, movies.tmdb_id == matches.tmdb_id)
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

            async def refresh(tmdb_id: int) -> bool:
                claim = await store.run(store.claim_stale_movie, tmdb_id, cutoff)
                if claim is None:
                    return False  # another upload's refresh has it
                details = None
                try:
                    details = await client.movie_details(tmdb_id)
                except (TmdbUnavailable, TmdbRequestError):
                    pass
                finally:
                    if details is None:
                        await store.run(store.undo_claim, claim)
                if details is None:
                    return False
                await store.run(store.save, movie=movie_row(details, now()))
                return True

            refreshed = sum(await run_all(refresh(tmdb_id) for tmdb_id in stale))
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
        self._details: dict[int, asyncio.Task[dict[str, Any] | None]] = {}
        self._last_progress = time.monotonic()

    async def settle_all(self, plans: Sequence[_Plan]) -> None:
        """Every film settled and stored; a TmdbAuthError cancels the rest and propagates, leaving them pending."""
        await run_all(self._settle(plan) for plan in plans)

    async def _settle(self, plan: _Plan) -> None:
        async with self._window:
            try:
                outcome, movie = await self._look_up(plan)
            except (TmdbUnavailable, TmdbRequestError) as error:
                outcome, movie = Outcome(MatchStatus.PENDING, None, 0.0, f"left for a later run: {error}"), None
        await self._store.run(self._store.save, match=(self._upload, plan.film, outcome), movie=movie)
        self._outcomes[outcome.status] += 1
        self._report_progress()

    async def _look_up(self, plan: _Plan) -> tuple[Outcome, dict[str, Any] | None]:
        film = plan.film
        if plan.override is not None:
            tmdb_id = plan.override.tmdb_id
            matched = Outcome(MatchStatus.OVERRIDE, tmdb_id, 1.0, plan.override.reason)
        else:
            matched = plan.matched or await self._search(film)
            if matched.tmdb_id is None:
                return matched, None
            tmdb_id = matched.tmdb_id
        if await self._store.run(self._store.has_movie, tmdb_id):
            return matched, None
        details = await self._movie_details(tmdb_id)
        if details is None:
            source = plan.override.reason if plan.override else "the search result"
            reason = f"TMDB has no film {tmdb_id} ({source}); it may have been removed"
            return Outcome(MatchStatus.NOT_FOUND, None, 0.0, reason), None
        return matched, movie_row(details, self._store.now())

    async def _search(self, film: Film) -> Outcome:
        """The search outcome, cached as soon as it is known (a crash after it costs no second search).

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
        await self._store.run(self._store.save, search=(film.search_key, outcome))
        return outcome

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
            weighed.append(weigh_details(candidate, await self._movie_details(candidate.tmdb_id)))
            weighed.sort(key=lambda match: match.confidence, reverse=True)
        return weighed[0] if weighed else None

    async def _movie_details(self, tmdb_id: int) -> dict[str, Any] | None:
        # Two films of one upload can be the same TMDB film (a title written two ways): one request serves both.
        if tmdb_id not in self._details:
            self._details[tmdb_id] = asyncio.ensure_future(self._client.movie_details(tmdb_id))
        return await self._details[tmdb_id]

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


def _found(match: Match) -> Outcome:
    return Outcome(MatchStatus.FOUND, match.tmdb_id, match.confidence, match.reason)


def _not_found(film: Film, candidates: Sequence[Mapping[str, Any]]) -> Outcome:
    ranked = rank_candidates(film.name, film.year, candidates)
    if not ranked:
        return Outcome(MatchStatus.NOT_FOUND, None, 0.0, "TMDB search found no film by this title")
    best = ranked[0]
    return Outcome(
        MatchStatus.NOT_FOUND,
        None,
        0.0,
        f"no acceptable match among {len(ranked)} results; best {best.reason} scored {best.confidence:.2f} "
        f"(needs {ACCEPT_THRESHOLD:.2f}); pin the right one in overrides.csv",
    )


def movie_row(details: Mapping[str, Any], fetched_at: datetime) -> dict[str, Any]:
    """The tmdb_movies row for a `GET /movie/{id}?append_to_response=credits` body."""
    credits = details.get("credits") or {}
    cast = sorted(
        (member for member in credits.get("cast") or [] if member.get("name")),
        key=lambda member: member.get("order", len(credits.get("cast") or [])),
    )
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
        "top_cast": _json_list([member["name"] for member in cast][:TOP_CAST]),
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
            wanted_ids = {plan.override.tmdb_id for plan in plans if plan.override}
            wanted_ids |= {outcome.tmdb_id for outcome in searches.values() if outcome.tmdb_id is not None}
            known = self._known_movies(conn, wanted_ids)
        for plan in plans:
            if plan.override is not None:
                if plan.override.tmdb_id in known:
                    plan.outcome = Outcome(MatchStatus.OVERRIDE, plan.override.tmdb_id, 1.0, plan.override.reason)
                continue
            cached = searches.get(plan.film.search_key)
            if cached is None:
                continue
            if cached.tmdb_id is None or cached.tmdb_id in known:
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
    ) -> None:
        """Whatever is given, in one transaction: a film's final row never exists without its TMDB film."""
        with self._engine.begin() as conn:
            if movie is not None:
                db.upsert(conn, db.tmdb_movies, [movie])
            if search is not None:
                db.upsert(conn, db.tmdb_search_cache, [self._search_row(*search)])
            if match is not None:
                db.upsert(conn, db.film_matches, [self._match_row(*match)])

    def stale_movies(self, upload: str, cutoff: datetime) -> list[int]:
        matches, movies = db.film_matches.c, db.tmdb_movies.c
        query = (
            select(movies.tmdb_id)
            .join(db.film_matches, matches.tmdb_id == movies.tmdb_id)
            .where(matches.upload == upload, movies.fetched_at < cutoff)
            .distinct()
            .order_by(movies.tmdb_id)
        )
        with self._engine.connect() as conn:
            return list(conn.scalars(query))

    def claim_stale_movie(self, tmdb_id: int, cutoff: datetime) -> _Claim | None:
        """Compare-and-set on fetched_at: of two refreshes that read the same stale value, one wins the UPDATE."""
        movies = db.tmdb_movies
        with self._engine.connect() as conn:
            was = conn.scalar(select(movies.c.fetched_at).where(movies.c.tmdb_id == tmdb_id))
        if was is None or _as_utc(was) >= cutoff:
            return None
        claim = _Claim(tmdb_id, was, self.now())
        with self._engine.begin() as conn:
            taken = conn.execute(
                update(movies)
                .where(movies.c.tmdb_id == tmdb_id, movies.c.fetched_at == was)
                .values(fetched_at=claim.claimed_at)
            )
        return claim if taken.rowcount == 1 else None

    def undo_claim(self, claim: _Claim) -> None:
        movies = db.tmdb_movies
        with self._engine.begin() as conn:
            conn.execute(
                update(movies)
                .where(movies.c.tmdb_id == claim.tmdb_id, movies.c.fetched_at == claim.claimed_at)
                .values(fetched_at=claim.was)
            )

    def has_movie(self, tmdb_id: int) -> bool:
        with self._engine.connect() as conn:
            return bool(self._known_movies(conn, {tmdb_id}))

    def _cached_searches(self, conn: Connection, keys: set[str]) -> dict[str, Outcome]:
        cache = db.tmdb_search_cache.c
        fresh = (cache.expires_at.is_(None)) | (cache.expires_at > self.now())
        found: dict[str, Outcome] = {}
        for chunk in _chunks(sorted(keys)):
            query = select(cache.query_key, cache.status, cache.tmdb_id, cache.confidence, cache.reason)
            for row in conn.execute(query.where(cache.query_key.in_(chunk), fresh)):
                found[row.query_key] = Outcome(MatchStatus(row.status), row.tmdb_id, row.confidence, row.reason)
        return found

    @staticmethod
    def _known_movies(conn: Connection, ids: set[int]) -> set[int]:
        movies = db.tmdb_movies.c
        known: set[int] = set()
        for chunk in _chunks(sorted(ids)):
            known.update(conn.scalars(select(movies.tmdb_id).where(movies.tmdb_id.in_(chunk))))
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
            "media_type": None if outcome.tmdb_id is None else MediaType.MOVIE,
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
            "media_type": None if outcome.tmdb_id is None else MediaType.MOVIE,  # the client searches movies only
        }


def _as_utc(moment: datetime) -> datetime:
    # SQLite hands DateTime columns back naive; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _chunks(values: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(values), _QUERY_CHUNK):
        yield values[start : start + _QUERY_CHUNK]

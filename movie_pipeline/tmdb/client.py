"""The TMDB client: one aiohttp session, a sliding window of requests in flight, a sliding window of starts, retries.

Every request takes one of TMDB_MAX_CONCURRENCY slots, a connection within the client's share of the deployment's
connections (tmdb/budget.py), then its turn from the deployment's start slots, and is sent at once; the slot frees
the moment the response is read, so the next waiting request starts without waiting for a batch. Of the waiting
requests, the one whose chain (see request_chain) has made the fewest requests goes first. Retries wait outside the
slot, so a backing-off request never holds back the others.
"""

import asyncio
import email.utils
import heapq
import itertools
import json
import math
import socket
import time
import weakref
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohappyeyeballs import AddrInfoType
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from movie_pipeline.tmdb.budget import BudgetStore, ConnectionLease, InProcessBudgetStore, Sleep, StartSchedule
from movie_pipeline.tmdb.config import TmdbConfig

# A retired connection's close reaches the server a moment after ours: the lease keeps covering it this long.
RETIRED_LINGER_S = 1.0
# A longer Retry-After would stall the whole run; past this we wait this long and let a retry ask again.
MAX_RETRY_AFTER_S = 60.0
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})


class TmdbError(Exception):
    """A TMDB request failed; the message is safe to show (no credentials)."""


class TmdbAuthError(TmdbError):
    """TMDB refused the credentials: retrying cannot help."""


class TmdbUnavailable(TmdbError):
    """TMDB did not answer usefully after every attempt: worth trying again later."""


class TmdbRequestError(TmdbError):
    """TMDB rejected a request as malformed (a 4xx other than 401/404): retrying cannot help."""


@dataclass
class _Chain:
    requests: int = 0


_current_chain: ContextVar[_Chain | None] = ContextVar("tmdb_request_chain", default=None)


@contextmanager
def request_chain() -> Iterator[None]:
    """The requests made inside (and in tasks started inside) are one chain, such as a film's searches and details.

    A waiting request of a chain that has made fewer requests goes first, and of two chains that have made as many,
    a search (which leads to more requests) before a details request (a chain's last). So every chain's first
    request is sent before any chain's later ones: a run's last requests are the last steps of many chains, which
    share the slots, not the whole of a chain started late, which would run alone while the other slots sit idle."""
    token = _current_chain.set(_Chain())
    try:
        yield
    finally:
        _current_chain.reset(token)


def _take_rank(path: str) -> int:
    """A request's place among the waiting (lowest first; see request_chain), counting it in its chain. Outside any
    chain every request ranks 0, so the oldest goes first."""
    chain = _current_chain.get()
    if chain is None:
        return 0
    chain.requests += 1
    ends_chain = not path.startswith("/search/")
    return 2 * (chain.requests - 1) + ends_chain


class RequestSlots:
    """At most `size` requests in flight: the permits of an asyncio.Semaphore. A freed permit goes to the waiting
    request of lowest rank, then the oldest, where the semaphore alone would serve the oldest: so requests line up
    here and take a permit only when they are first in line and one is free."""

    def __init__(self, size: int):
        self._in_flight = asyncio.Semaphore(size)
        self._line: list[tuple[int, int]] = []  # (rank, arrival), a heap
        self._arrivals = itertools.count()
        self._turn_changed = asyncio.Condition()

    @asynccontextmanager
    async def slot(self, rank: int) -> AsyncIterator[None]:
        place = (rank, next(self._arrivals))
        heapq.heappush(self._line, place)
        try:
            async with self._turn_changed:
                await self._turn_changed.wait_for(lambda: self._line[0] == place and not self._in_flight.locked())
                heapq.heappop(self._line)
                await self._in_flight.acquire()  # never waits: a permit is free and no one else takes it
                self._turn_changed.notify_all()  # the next in line may take another free permit
        except asyncio.CancelledError:
            if place in self._line:
                self._line.remove(place)
                heapq.heapify(self._line)
                await self._announce()  # it may have been first in line
            raise
        try:
            yield
        finally:
            self._in_flight.release()
            await self._announce()

    async def _announce(self) -> None:
        async with self._turn_changed:
            self._turn_changed.notify_all()


class _RetryableFailure(Exception):
    def __init__(self, description: str, retry_after: float | None = None):
        super().__init__(description)
        self.retry_after = retry_after


@dataclass
class ClientCounters:
    requests: int = 0
    retries: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # "200", "429", "timeout", "connection", "invalid json"


class RateLimitedTmdbClient:
    """`async with RateLimitedTmdbClient(config, budget=...) as client:` then `search_movies` and `movie_details` (and
    `search_tv` and `tv_details` for what TMDB files as TV).

    `budget` is the deployment's (FilmDatabaseBudgetStore, for every run); without it the client keeps the budget
    in memory, which is right only when it is the one TMDB client of the deployment."""

    def __init__(self, config: TmdbConfig, *, budget: BudgetStore | None = None, sleep: Sleep = asyncio.sleep):
        self._config = config
        self._sleep = sleep
        budget = budget or InProcessBudgetStore()
        self._schedule = StartSchedule(budget, config.max_rate, sleep=sleep)
        self._window = RequestSlots(config.max_concurrency)
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()  # every TCP socket the session made
        self._lease = ConnectionLease(
            budget,
            wanted=config.max_concurrency,
            limit=config.max_connections,
            open_connections=self.leased_connections,
        )
        self._retired_at: deque[float] = deque()  # when each recently retired connection was closed
        self._connected = 0  # requests holding one of the share's connections
        self._retiring = 0  # of them, those whose connection closes when they end
        self._session: aiohttp.ClientSession | None = None
        self._jitter = wait_random_exponential(multiplier=config.backoff_base_s, max=config.backoff_max_s)
        self.counters = ClientCounters()

    async def __aenter__(self) -> "RateLimitedTmdbClient":
        self._config.require_credentials()
        await self._lease.__aenter__()
        headers = {"Accept": "application/json", "User-Agent": "movie_pipeline"}
        if self._config.read_access_token:
            headers["Authorization"] = f"Bearer {self._config.read_access_token}"
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._config.max_concurrency, socket_factory=self._open_socket),
            timeout=aiohttp.ClientTimeout(total=self._config.request_timeout_s),
            headers=headers,
            middlewares=(self._count_send,),
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._schedule.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self._lease.__aexit__(*exc_info)

    @property
    def max_concurrency(self) -> int:
        return self._config.max_concurrency

    def open_connections(self) -> int:
        """TCP connections to TMDB open now (a socket's fileno is -1 once aiohttp has closed it)."""
        return sum(1 for sock in self._sockets if sock.fileno() != -1)

    def leased_connections(self) -> int:
        """What the lease must cover: the open connections, and those retired in the last RETIRED_LINGER_S, which the
        server may not have seen close yet (so another client's new one never overlaps them there)."""
        horizon = time.monotonic() - RETIRED_LINGER_S
        while self._retired_at and self._retired_at[0] < horizon:
            self._retired_at.popleft()
        return self.open_connections() + len(self._retired_at)

    def _open_socket(self, addr_info: AddrInfoType) -> socket.socket:
        family, kind, protocol, _, _ = addr_info
        sock = socket.socket(family=family, type=kind, proto=protocol)
        self._sockets.add(sock)
        return sock

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[bool]:
        """A place within the client's share of connections, for one request; True when the client has more open than
        its share, so this request retires one: aiohttp reuses an idle connection before it opens another, and
        `Connection: close` closes it after the response."""
        share = self._lease
        async with share.changed:
            await share.changed.wait_for(lambda: self._connected < share.capacity)
            self._connected += 1
            retire = self.open_connections() - self._retiring > share.capacity
            self._retiring += retire
        try:
            yield retire
        finally:
            async with share.changed:
                self._connected -= 1
                self._retiring -= retire
                if retire:
                    self._retired_at.append(time.monotonic())
                share.changed.notify_all()

    def __repr__(self) -> str:
        return f"RateLimitedTmdbClient({self._config!r}, requests={self.counters.requests})"

    async def search_movies(self, query: str, year: int | None = None) -> list[dict[str, Any]]:
        """The first page of `GET /search/movie` (TMDB's 20 best matches); `year` narrows to films released then."""
        params = {"query": query, "include_adult": "false", "page": "1"}
        if year is not None:
            params["year"] = str(year)
        body = await self._get_json("/search/movie", params, missing_ok=False)
        results = body.get("results") if body else None
        return [result for result in results or [] if isinstance(result, dict) and "id" in result]

    async def movie_details(self, tmdb_id: int) -> dict[str, Any] | None:
        """`GET /movie/{id}` with credits appended, or None when TMDB has no such film."""
        return await self._get_json(f"/movie/{int(tmdb_id)}", {"append_to_response": "credits"}, missing_ok=True)

    async def search_tv(self, query: str, first_air_date_year: int | None = None) -> list[dict[str, Any]]:
        """The first page of `GET /search/tv`; `first_air_date_year` narrows to series that began airing then."""
        params = {"query": query, "include_adult": "false", "page": "1"}
        if first_air_date_year is not None:
            params["first_air_date_year"] = str(first_air_date_year)
        body = await self._get_json("/search/tv", params, missing_ok=False)
        results = body.get("results") if body else None
        return [result for result in results or [] if isinstance(result, dict) and "id" in result]

    async def tv_details(self, tmdb_id: int) -> dict[str, Any] | None:
        """`GET /tv/{id}` with credits appended, or None when TMDB has no such series."""
        return await self._get_json(f"/tv/{int(tmdb_id)}", {"append_to_response": "credits"}, missing_ok=True)

    async def _get_json(self, path: str, params: dict[str, str], *, missing_ok: bool) -> dict[str, Any] | None:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._config.max_attempts),
            wait=self._retry_wait,
            retry=retry_if_exception_type(_RetryableFailure),
            sleep=self._sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            return await retrying(self._attempt, path, params, missing_ok, _take_rank(path))
        except _RetryableFailure as failure:
            last = str(failure)
        raise TmdbUnavailable(f"TMDB GET {path} failed {self._config.max_attempts} times; last: {last}")

    async def _attempt(self, path: str, params: dict[str, str], missing_ok: bool, rank: int) -> dict[str, Any] | None:
        if self._session is None:
            raise RuntimeError("use RateLimitedTmdbClient as `async with RateLimitedTmdbClient(config) as client`")
        if not self._config.read_access_token:
            params = {**params, "api_key": self._config.api_key or ""}
        transport_failure = None
        async with self._window.slot(rank), self._connection() as retire:
            await self._schedule.wait_turn()  # outside the request timeout: a Retry-After pause may be long
            headers = {"Connection": "close"} if retire else None
            try:
                async with self._session.get(self._url(path), params=params, headers=headers) as response:
                    body = await response.read()
                    status, retry_after_header = response.status, response.headers.get("Retry-After")
            except TimeoutError:
                transport_failure = ("timeout", f"no answer within {self._config.request_timeout_s:g} s")
            except aiohttp.ClientError as error:
                transport_failure = ("connection", self._config.redact(f"{type(error).__name__}: {error}"))
        if transport_failure is not None:
            self.counters.outcomes[transport_failure[0]] += 1
            raise _RetryableFailure(transport_failure[1])
        self.counters.outcomes[str(status)] += 1
        try:
            return self._interpret(path, status, retry_after_header, body, missing_ok)
        except _RetryableFailure as failure:
            if failure.retry_after is not None:
                await self._schedule.hold(failure.retry_after)
            raise

    async def _count_send(
        self, request: aiohttp.ClientRequest, send: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        # A session middleware sees every send, including aiohttp's own immediate resend of a GET whose
        # kept-alive connection dropped before an answer (RFC 9112 §9.3.1). That resend is not spaced: a dropped
        # connection normally means the server never took the first send.
        self.counters.requests += 1
        return await send(request)

    def _url(self, path: str) -> str:
        return f"{self._config.base_url.rstrip('/')}{path}"

    def _interpret(
        self, path: str, status: int, retry_after_header: str | None, body: bytes, missing_ok: bool
    ) -> dict[str, Any] | None:
        if status == 401:
            raise TmdbAuthError(self._auth_message(body))
        if status == 404 and missing_ok:
            return None
        if status in RETRYABLE_STATUSES:
            retry_after = parse_retry_after(retry_after_header) if status == 429 else None
            raise _RetryableFailure(f"HTTP {status}", retry_after)
        if status >= 400:
            raise TmdbRequestError(
                f"TMDB GET {path} answered HTTP {status}: {self._config.redact(_status_message(body))}"
            )
        decoded = _decode_json(body)
        if decoded is None:
            self.counters.outcomes["invalid json"] += 1
            raise _RetryableFailure(f"HTTP {status} with a body that is not a JSON object")
        return decoded

    def _auth_message(self, body: bytes) -> str:
        variable = "TMDB_READ_ACCESS_TOKEN" if self._config.read_access_token else "TMDB_API_KEY"
        return (
            f"TMDB rejected the credentials in {variable} (HTTP 401: {self._config.redact(_status_message(body))}). "
            f"Check the value at https://www.themoviedb.org/settings/api (TMDB_READ_ACCESS_TOKEN takes the "
            f"'API Read Access Token', TMDB_API_KEY the 'API Key'), or unset both and use `make demo` / `make dev` "
            f"to run against the offline stand-in."
        )

    def _retry_wait(self, state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, _RetryableFailure) and failure.retry_after is not None:
            return failure.retry_after
        return self._jitter(state)

    def _count_retry(self, _state: RetryCallState) -> None:
        self.counters.retries += 1


def parse_retry_after(value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), capped at MAX_RETRY_AFTER_S."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (email.utils.parsedate_to_datetime(value) - now()).total_seconds()
        except (TypeError, ValueError):
            return None
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _decode_json(body: bytes) -> dict[str, Any] | None:
    try:
        decoded = json.loads(body)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def _status_message(body: bytes) -> str:
    decoded = _decode_json(body) or {}
    message = decoded.get("status_message") or decoded.get("errors") or body[:200].decode("utf-8", "replace")
    return str(message)

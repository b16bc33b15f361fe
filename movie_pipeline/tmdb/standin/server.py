"""An aiohttp.web app that answers like api.themoviedb.org/3 from the bundled corpus, with scriptable faults.

Per request, in arrival order: the next fault is taken (script first, then the seeded random rates), the
rate limit is checked, then the response waits for the configured latency (plus connection setup on a new
TCP connection). A throttled request is answered 429 whatever its fault; otherwise the fault answers
instead of TMDB, except "ok", "invalid-json" and "reset-mid-body", which go on to authentication and the
endpoint and then spoil the answer (half its body; or the status line, headers and half the body, then a reset).
"""

import asyncio
import random
import socket
import struct
import time
import weakref
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from movie_pipeline.tmdb.standin import payloads, tv
from movie_pipeline.tmdb.standin.corpus import StandinCorpus
from movie_pipeline.tmdb.standin.decoys import with_decoys

FAULTS = frozenset({"429", "429-no-retry-after", "500", "503", "hang", "invalid-json", "reset", "reset-mid-body", "ok"})
SEARCH_ROUTE = "search"
DETAILS_ROUTE = "details"
TV_SEARCH_ROUTE = "tv_search"
TV_DETAILS_ROUTE = "tv_details"


@dataclass(frozen=True)
class StandinOptions:
    """How the stand-in behaves. The defaults answer every request at once, for any credential."""

    accepted_credentials: frozenset[str] | None = None  # None: any non-empty key or token
    latency_s: tuple[float, float] = (0.0, 0.0)  # uniform per request
    connection_setup_s: float = 0.0  # added to the first request of each TCP connection (TCP + TLS)
    rate_limit_per_s: int | None = None  # requests admitted in any sliding 1 s window
    retry_after_header: bool = True
    faults: list[str] = field(default_factory=list)  # consumed one per request, in arrival order
    fault_rates: dict[str, float] = field(default_factory=dict)  # per-request probability once the script is spent
    seed: int = 0
    decoys: bool = False  # seeded same-title shorts and documentaries, and dates moved a year (see decoys.py)

    def __post_init__(self) -> None:
        unknown = sorted((set(self.faults) | set(self.fault_rates)) - FAULTS)
        if unknown:
            raise ValueError(f"Unknown stand-in fault(s) {unknown}: use some of {sorted(FAULTS)}.")
        rates = self.fault_rates.values()
        if any(rate < 0 for rate in rates) or sum(rates) > 1:
            raise ValueError(f"fault_rates {self.fault_rates} must be probabilities >= 0 that sum to at most 1.")
        low, high = self.latency_s
        if not 0 <= low <= high or self.connection_setup_s < 0:
            raise ValueError(
                f"latency_s {self.latency_s} must be (low, high) with 0 <= low <= high, "
                f"and connection_setup_s {self.connection_setup_s} must be >= 0."
            )
        if self.rate_limit_per_s is not None and self.rate_limit_per_s < 1:
            raise ValueError(f"rate_limit_per_s must be None or at least 1, not {self.rate_limit_per_s}.")


@dataclass
class RequestRecord:
    kind: str  # "search", "details" or "other"
    start: float  # time.monotonic() on arrival
    end: float | None = None  # answered, or given up on by the client
    status: int | None = None  # None when no whole HTTP answer went out (hang, reset, reset-mid-body)
    fault: str = "ok"


@dataclass
class StandinStats:
    """What the stand-in saw. Credentials are checked, never kept: only how they were sent is counted."""

    requests: list[RequestRecord] = field(default_factory=list)
    connections_opened: int = 0
    peak_open_connections: int = 0  # TCP connections open at once, counted as each request arrives
    in_flight: int = 0
    max_in_flight: int = 0
    rate_limited: int = 0  # 429 answers, scripted or from the rate limit
    auth_methods: Counter[str] = field(default_factory=Counter)  # "bearer", "api_key" or "none"

    @property
    def request_count(self) -> int:
        return len(self.requests)

    def requests_by_kind(self) -> Counter[str]:
        return Counter(record.kind for record in self.requests)

    def statuses(self) -> Counter[str]:
        return Counter("none" if record.status is None else str(record.status) for record in self.requests)

    def faults(self) -> Counter[str]:
        return Counter(record.fault for record in self.requests if record.fault != "ok")

    def peak_starts_per_second(self) -> int:
        """The most request arrivals in any sliding 1 s window [t, t + 1 s)."""
        starts = sorted(record.start for record in self.requests)
        peak = first = 0
        for last, start in enumerate(starts):
            while start - starts[first] >= 1.0:
                first += 1
            peak = max(peak, last - first + 1)
        return peak

    def summary(self) -> dict[str, Any]:
        """The figures a load run reads, as plain JSON-ready values."""
        return {
            "requests": self.request_count,
            "requests_by_kind": dict(self.requests_by_kind()),
            "statuses": dict(self.statuses()),
            "faults": dict(self.faults()),
            "rate_limited": self.rate_limited,
            "peak_starts_per_second": self.peak_starts_per_second(),
            "connections_opened": self.connections_opened,
            "peak_open_connections": self.peak_open_connections,
            "max_in_flight": self.max_in_flight,
            "first_start": min((record.start for record in self.requests), default=None),
            "last_end": max((record.end for record in self.requests if record.end is not None), default=None),
        }

    def begin(self, kind: str) -> RequestRecord:
        record = RequestRecord(kind=kind, start=time.monotonic())
        self.requests.append(record)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return record

    def finish(self, record: RequestRecord) -> None:
        record.end = time.monotonic()
        self.in_flight -= 1


class StandinState:
    """Per-app mutable state: the fault script, seeded random streams, the rate window, known connections."""

    def __init__(self, corpus: StandinCorpus, options: StandinOptions):
        self.corpus = corpus
        self.options = options
        self.stats = StandinStats()
        self._fault_script = deque(options.faults)
        # Separate streams, so adding latency never changes which requests fail.
        self._fault_random = random.Random(f"faults/{options.seed}")
        self._latency_random = random.Random(f"latency/{options.seed}")
        self._admitted_at: deque[float] = deque()
        self._known_transports: weakref.WeakSet[asyncio.Transport] = weakref.WeakSet()

    def next_fault(self) -> str:
        if self._fault_script:
            return self._fault_script.popleft()
        draw = self._fault_random.random()
        for fault, rate in self.options.fault_rates.items():
            if draw < rate:
                return fault
            draw -= rate
        return "ok"

    def admits(self, now: float) -> bool:
        limit = self.options.rate_limit_per_s
        if limit is None:
            return True
        while self._admitted_at and now - self._admitted_at[0] >= 1.0:
            self._admitted_at.popleft()
        if len(self._admitted_at) >= limit:
            return False
        self._admitted_at.append(now)
        return True

    def opens_connection(self, transport: asyncio.Transport | None) -> bool:
        if transport is None or transport in self._known_transports:
            return False
        self._known_transports.add(transport)
        self.stats.connections_opened += 1
        # aiohttp.web has no connection hooks; a connection counts from its first request until it closes.
        still_open = sum(1 for known in self._known_transports if not known.is_closing())
        self.stats.peak_open_connections = max(self.stats.peak_open_connections, still_open)
        return True

    def delay_s(self, new_connection: bool) -> float:
        setup = self.options.connection_setup_s if new_connection else 0.0
        return setup + self._latency_random.uniform(*self.options.latency_s)


STATE_KEY = web.AppKey("standin_state", StandinState)
STATS_KEY = web.AppKey("stats", StandinStats)
TV_CORPUS_KEY = web.AppKey("tv_corpus", tv.TvCorpus)


def build_app(corpus: StandinCorpus, options: StandinOptions) -> web.Application:
    """The stand-in app; its StandinStats are at app[STATS_KEY].

    Serve it as running_standin does: access_log=None (request lines can carry api_key) and
    handler_cancellation=True (so a "hang" ends when its client gives up).
    """
    state = StandinState(with_decoys(corpus, options.seed).corpus if options.decoys else corpus, options)
    app = web.Application(middlewares=[standin_middleware])
    app[STATE_KEY] = state
    app[STATS_KEY] = state.stats
    app.router.add_get("/3/search/movie", search_movie, name=SEARCH_ROUTE)
    app.router.add_get(r"/3/movie/{movie_id:\d+}", movie_details, name=DETAILS_ROUTE)
    app[TV_CORPUS_KEY] = tv.load_tv_corpus()
    app.router.add_get("/3/search/tv", search_tv, name=TV_SEARCH_ROUTE)
    app.router.add_get(r"/3/tv/{series_id:\d+}", tv_details, name=TV_DETAILS_ROUTE)
    return app


@web.middleware
async def standin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    record = state.stats.begin(request.match_info.route.name or "other")
    try:
        fault = record.fault = state.next_fault()
        throttled = not state.admits(record.start)
        new_connection = state.opens_connection(request.transport)
        await asyncio.sleep(state.delay_s(new_connection))
        response: web.StreamResponse
        if throttled:
            response = rate_limited(state, retry_after=state.options.retry_after_header)
        else:
            response = await answer_with_fault(request, handler, state, fault)
        answered = throttled or fault not in ("reset", "reset-mid-body")
        record.status = response.status if answered else None
        return response
    finally:
        state.stats.finish(record)


async def answer_with_fault(
    request: web.Request, handler: Handler, state: StandinState, fault: str
) -> web.StreamResponse:
    if fault == "hang":
        # Never answers: the client's timeout closes the connection, which cancels this handler.
        await asyncio.Event().wait()
    if fault == "reset":
        reset_connection(request.transport)
        return web.Response()  # goes nowhere: the connection is already gone
    if fault in ("429", "429-no-retry-after"):
        return rate_limited(state, retry_after=fault == "429")
    if fault == "500":
        return web.json_response(payloads.INTERNAL_ERROR, status=500)
    if fault == "503":
        return web.json_response(payloads.SERVICE_OFFLINE, status=503)
    response = await authorized(request, handler, state)
    if fault == "reset-mid-body":
        return await reset_mid_body(request, response)
    if fault == "invalid-json":
        body = whole_body(response)
        return web.Response(body=body[: len(body) // 2], content_type="application/json")
    return response


def rate_limited(state: StandinState, *, retry_after: bool) -> web.Response:
    state.stats.rate_limited += 1
    headers = {"Retry-After": "1"} if retry_after else None
    return web.json_response(payloads.RATE_LIMITED, status=429, headers=headers)


async def reset_mid_body(request: web.Request, whole: web.Response) -> web.StreamResponse:
    """The status line, the headers (with the whole body's length) and half the body, then a reset."""
    body = whole_body(whole)
    partial = web.StreamResponse(status=whole.status, headers={"Content-Type": whole.content_type})
    partial.content_length = len(body)
    await partial.prepare(request)
    await partial.write(body[: len(body) // 2])
    reset_connection(request.transport)
    return partial


def reset_connection(transport: asyncio.Transport | None) -> None:
    if transport is None:
        return
    # A zero linger time makes close() send RST rather than FIN: the client sees "connection reset by peer".
    transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def authorized(request: web.Request, handler: Handler, state: StandinState) -> web.Response:
    method, credential = credential_of(request)
    state.stats.auth_methods[method] += 1
    accepted = state.options.accepted_credentials
    if not credential or (accepted is not None and credential not in accepted):
        return web.json_response(payloads.INVALID_API_KEY, status=401)
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        return web.json_response(payloads.RESOURCE_NOT_FOUND, status=404)
    assert isinstance(response, web.Response), "the stand-in's routes answer with whole JSON responses"
    return response


def whole_body(response: web.Response) -> bytes:
    body = response.body
    assert isinstance(body, bytes), "web.json_response builds its body whole, as bytes"
    return body


def credential_of(request: web.Request) -> tuple[str, str]:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        return "bearer", token.strip() if scheme.lower() == "bearer" else ""
    if "api_key" in request.query:
        return "api_key", request.query["api_key"]
    return "none", ""


async def search_movie(request: web.Request) -> web.Response:
    query = request.query.get("query", "").strip()
    if not query:
        return web.json_response(payloads.QUERY_MISSING, status=422)
    page = positive_int(request.query.get("page", "1"))
    if page is None or page > 500:
        return web.json_response(payloads.INVALID_PAGE, status=400)
    films = request.app[STATE_KEY].corpus.search(query)
    # TMDB's year matches any release and primary_release_year the primary one; the corpus has one date.
    for parameter in ("year", "primary_release_year"):
        if parameter in request.query:
            year = positive_int(request.query[parameter])
            if year is None:
                return web.json_response(payloads.invalid_parameter(parameter), status=422)
            films = [film for film in films if film.release_year == year]
    return web.json_response(payloads.search_page(films, page))


async def movie_details(request: web.Request) -> web.Response:
    film = request.app[STATE_KEY].corpus.get(int(request.match_info["movie_id"]))
    if film is None:
        return web.json_response(payloads.RESOURCE_NOT_FOUND, status=404)
    appended = {part.strip() for part in request.query.get("append_to_response", "").split(",")}
    return web.json_response(payloads.movie_details(film, with_credits="credits" in appended))


async def search_tv(request: web.Request) -> web.Response:
    query = request.query.get("query", "").strip()
    if not query:
        return web.json_response(payloads.QUERY_MISSING, status=422)
    page = positive_int(request.query.get("page", "1"))
    if page is None or page > 500:
        return web.json_response(payloads.INVALID_PAGE, status=400)
    series = request.app[TV_CORPUS_KEY].search(query)
    # TMDB's year matches a series by any of its seasons, first_air_date_year by its first; the corpus has the first.
    for parameter in ("first_air_date_year", "year"):
        if parameter in request.query:
            year = positive_int(request.query[parameter])
            if year is None:
                return web.json_response(payloads.invalid_parameter(parameter), status=422)
            series = [one for one in series if one.first_air_year == year]
    return web.json_response(tv.search_page(series, page))


async def tv_details(request: web.Request) -> web.Response:
    series = request.app[TV_CORPUS_KEY].get(int(request.match_info["series_id"]))
    if series is None:
        return web.json_response(payloads.RESOURCE_NOT_FOUND, status=404)
    appended = {part.strip() for part in request.query.get("append_to_response", "").split(",")}
    return web.json_response(tv.details_body(series, with_credits="credits" in appended))


def positive_int(text: str) -> int | None:
    return int(text) if text.isdigit() and int(text) > 0 else None

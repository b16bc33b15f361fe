"""One TMDB budget for the whole deployment: the request starts and the connections of every client, in any process.

TMDB limits a key's rate and an IP's connections, whatever runs the clients: uploads dropped together, sweeps, UI
runs, backfills, the refresh. So every RateLimitedTmdbClient takes its starts and its connections from one
BudgetStore: the film database, which every run reaches on any Dagster instance, or memory for a lone process.

Starts: the store keeps the next free start (wall clock, time.time(), one clock for every process of the host). A
client reserves, in one short transaction, as many starts as it has requests waiting right now, spaced
(1 s + START_GUARD_S) / max_rate apart, and each request sleeps until its own. A request that wakes too late gives
its start up and takes a new one, so the spacing holds at TMDB too. A Retry-After holds back every client's starts.

Connections: each live client holds a lease (connections, wanted, expiry) renewed every LEASE_RENEW_S; the leases
sum to at most the limit, split max-min fairly, so runs started together also finish together. A client over its
share retires connections as its requests end (client.py), and its lease keeps covering what it has open until
they are closed. A dead client's lease expires by itself.
"""

import asyncio
import os
import socket
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from movie_pipeline import database as db

# Our start and the server's receipt differ by scheduling, connection setup and transport (tens of milliseconds on
# a loaded host: at 40 ms, 20 uploads on 2 cores still put 42 requests in one second at the server); spacing
# starts (1 s + this) / max_rate apart keeps any max_rate + 1 of them more than a second apart on its clock too.
START_GUARD_S = 0.06
# A request sent later than this after its start could land closer than the spacing to the next one.
LATE_START_S = 0.015
LEASE_RENEW_S = 0.5
LEASE_TTL_S = 10.0  # a client that stops renewing (killed, frozen) frees its connections after this

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Lease:
    connections: int
    wanted: int


def fair_shares(limit: int, wanted: Mapping[str, int]) -> dict[str, int]:
    """Max-min fair split of `limit` connections: one at a time, in holder order, to each holder still wanting more."""
    shares = dict.fromkeys(wanted, 0)
    hungry = sorted(holder for holder, count in wanted.items() if count > 0)
    left = limit
    while left and hungry:
        for holder in list(hungry):
            if not left:
                break
            shares[holder] += 1
            left -= 1
            if shares[holder] == wanted[holder]:
                hungry.remove(holder)
    return shares


def grant(holder: str, wanted: int, limit: int, others: Mapping[str, Lease]) -> int:
    """What `holder` may hold now: its fair share, less whatever others still hold above theirs."""
    share = fair_shares(limit, {**{name: lease.wanted for name, lease in others.items()}, holder: wanted})[holder]
    return max(0, min(share, limit - sum(lease.connections for lease in others.values())))


class BudgetStore(ABC):
    """Where the deployment's budget is kept. Each method is one short, serialized step; call it off the event loop."""

    @abstractmethod
    def reserve_starts(self, count: int, spacing_s: float) -> float:
        """Reserve `count` starts `spacing_s` apart; the first of them (the others follow it)."""

    @abstractmethod
    def hold_starts_until(self, moment: float) -> None:
        """No start before `moment`, for any client."""

    @abstractmethod
    def lease_connections(self, holder: str, held: int, wanted: int, limit: int) -> int:
        """Renew `holder`'s lease; the connections it may hold now. The lease records at least `held`."""

    @abstractmethod
    def end_lease(self, holder: str) -> None:
        """`holder` closed its connections."""


class InProcessBudgetStore(BudgetStore):
    """The budget in memory: right only when this process is the deployment's one TMDB client (tests, benchmarks)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_start = 0.0
        self._leases: dict[str, tuple[Lease, float]] = {}

    def reserve_starts(self, count: int, spacing_s: float) -> float:
        with self._lock:
            first = max(self._next_start, time.time())
            self._next_start = first + count * spacing_s
            return first

    def hold_starts_until(self, moment: float) -> None:
        with self._lock:
            self._next_start = max(self._next_start, moment)

    def lease_connections(self, holder: str, held: int, wanted: int, limit: int) -> int:
        with self._lock:
            now = time.time()
            others = {
                name: lease for name, (lease, expires) in self._leases.items() if name != holder and expires > now
            }
            granted = grant(holder, wanted, limit, others)
            self._leases = {name: self._leases[name] for name in others}
            self._leases[holder] = (Lease(max(held, granted), wanted), now + LEASE_TTL_S)
            return granted

    def end_lease(self, holder: str) -> None:
        with self._lock:
            self._leases.pop(holder, None)


class FilmDatabaseBudgetStore(BudgetStore):
    """The budget in the film database (SQLite or PostgreSQL), shared by every process that uses it."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._create_schedule()

    def reserve_starts(self, count: int, spacing_s: float) -> float:
        with self._engine.begin() as conn:
            first = max(self._lock_schedule(conn), time.time())
            conn.execute(update(db.tmdb_start_schedule).values(next_start=first + count * spacing_s))
        return first

    def hold_starts_until(self, moment: float) -> None:
        with self._engine.begin() as conn:
            if self._lock_schedule(conn) < moment:
                conn.execute(update(db.tmdb_start_schedule).values(next_start=moment))

    def lease_connections(self, holder: str, held: int, wanted: int, limit: int) -> int:
        leases = db.tmdb_connection_leases
        with self._engine.begin() as conn:
            self._lock_schedule(conn)  # one lease change at a time, so two clients never take the same free slot
            now = time.time()
            conn.execute(delete(leases).where(leases.c.expires_at <= now))
            rows = conn.execute(select(leases).where(leases.c.holder != holder))
            granted = grant(holder, wanted, limit, {row.holder: Lease(row.connections, row.wanted) for row in rows})
            row = {
                "holder": holder,
                "connections": max(held, granted),
                "wanted": wanted,
                "expires_at": now + LEASE_TTL_S,
            }
            db.upsert(conn, leases, [row])
        return granted

    def end_lease(self, holder: str) -> None:
        leases = db.tmdb_connection_leases
        with self._engine.begin() as conn:
            conn.execute(delete(leases).where(leases.c.holder == holder))

    @staticmethod
    def _lock_schedule(conn: Connection) -> float:
        # An UPDATE locks: the row on PostgreSQL, the database's write lock on SQLite (a plain SELECT takes neither),
        # so what this transaction reads next no other client changes until it commits.
        schedule = db.tmdb_start_schedule
        touch = update(schedule).where(schedule.c.id == 1).values(next_start=schedule.c.next_start)
        return float(conn.execute(touch.returning(schedule.c.next_start)).scalar_one())

    def _create_schedule(self) -> None:
        schedule = db.tmdb_start_schedule
        try:
            with self._engine.begin() as conn:
                if conn.scalar(select(schedule.c.id).where(schedule.c.id == 1)) is None:
                    conn.execute(insert(schedule).values(id=1, next_start=0.0))
        except IntegrityError:
            pass  # another process created it first


class StartSchedule:
    """A client's turns from the shared schedule: the requests waiting now reserve their starts together."""

    def __init__(self, store: BudgetStore, max_rate: float, *, sleep: Sleep = asyncio.sleep):
        self._store = store
        self._spacing_s = (1.0 + START_GUARD_S) / max_rate
        self._sleep = sleep
        self._waiting: deque[asyncio.Future[float]] = deque()
        self._reserving: asyncio.Task[None] | None = None

    async def wait_turn(self) -> None:
        while True:
            start = await self._reserved_start()
            delay = start - time.time()
            if delay > 0:
                await self._sleep(delay)
            if time.time() - start <= LATE_START_S:
                return

    async def hold(self, seconds: float) -> None:
        """Hold back every client's starts for `seconds` (TMDB asked us to slow down)."""
        await asyncio.to_thread(self._store.hold_starts_until, time.time() + seconds)

    def close(self) -> None:
        if self._reserving is not None:
            self._reserving.cancel()

    def _reserved_start(self) -> asyncio.Future[float]:
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        if self._reserving is None or self._reserving.done():
            self._reserving = asyncio.create_task(self._reserve_for_waiting())
        return turn

    async def _reserve_for_waiting(self) -> None:
        while self._waiting:
            count = len(self._waiting)
            try:
                first = await asyncio.to_thread(self._store.reserve_starts, count, self._spacing_s)
            except Exception as error:  # handed to every waiting request: none can start without its turn
                while self._waiting:
                    _settle(self._waiting.popleft(), error=error)
                return
            for index in range(count):
                _settle(self._waiting.popleft(), result=first + index * self._spacing_s)


def _settle(turn: asyncio.Future[float], *, result: float = 0.0, error: Exception | None = None) -> None:
    if turn.done():  # its request was cancelled: the start goes unused
        return
    if error is not None:
        turn.set_exception(error)
    else:
        turn.set_result(result)


class ConnectionLease:
    """A client's share of the deployment's TMDB connections, renewed while `async with` lasts.

    `capacity` is how many connections the client may have open now: it shrinks when another client wants some and
    grows when one ends. The client reports what it has open through `open_connections`, and the lease records at
    least that many until the ones over its share are closed."""

    def __init__(self, store: BudgetStore, *, wanted: int, limit: int, open_connections: Callable[[], int]):
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.capacity = 0
        self.changed = asyncio.Condition()  # notified whenever capacity changes
        self._store = store
        self._wanted = min(wanted, limit)
        self._limit = limit
        self._open_connections = open_connections
        self._renewing: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "ConnectionLease":
        while not (granted := await self._renew()):
            await asyncio.sleep(LEASE_RENEW_S)  # every connection is leased: wait for another client's share to shrink
        self.capacity = granted
        self._renewing = asyncio.create_task(self._keep_renewing())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            await asyncio.gather(self._renewing, return_exceptions=True)
        self.capacity = 0
        await asyncio.to_thread(self._store.end_lease, self.holder)

    async def _renew(self) -> int:
        held = self._open_connections()
        return await asyncio.to_thread(self._store.lease_connections, self.holder, held, self._wanted, self._limit)

    async def _keep_renewing(self) -> None:
        while True:
            await asyncio.sleep(LEASE_RENEW_S)
            try:
                granted = await self._renew()
            except SQLAlchemyError:
                continue  # a busy or briefly unreachable database: the lease lasts LEASE_TTL_S, so try again
            async with self.changed:
                self.capacity = granted
                self.changed.notify_all()

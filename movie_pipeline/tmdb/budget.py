"""One TMDB budget for the whole deployment: the request starts and the connections of every client, in any process.

TMDB limits a key's rate and an IP's connections, whatever runs the clients: uploads dropped together, sweeps, UI
runs, backfills, the refresh. So every RateLimitedTmdbClient takes its starts and its connections from one
BudgetStore: the film database, which every run reaches on any Dagster instance, or memory for a lone process.

Starts: the store keeps max_rate start slots (wall clock, time.time(), one clock for every process of the host),
each holding the moment it is free again: START_WINDOW_S after its last start. A client reserves, in one short
transaction, a start for each request it has waiting right now, on the slots free soonest, and each request sleeps
until its own. No slot starts twice within START_WINDOW_S, so at most max_rate requests start in any window of that
length: requests go at once while the window is far from full, and wait only when it is full (no fixed spacing). A
request that wakes too late gives its start up and takes a new one, so the window holds at TMDB too. A Retry-After
holds back every slot of every client.

Connections: each live client holds a lease (connections, wanted, expiry) renewed every LEASE_RENEW_S; the leases
sum to at most the limit, split max-min fairly, so runs started together also finish together. A client over its
share retires connections as its requests end (client.py), and its lease keeps covering what it has open until
they are closed. A dead client's lease expires by itself.
"""

import asyncio
import heapq
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
# a loaded host: at 40 ms, 20 uploads on 2 cores still put 42 requests in one second at the server); keeping any
# max_rate + 1 starts (1 s + this) apart keeps them more than a second apart on the server's clock too.
START_GUARD_S = 0.06
START_WINDOW_S = 1.0 + START_GUARD_S
# A request sent later than this after its start could land inside the window of a later one.
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


def reserve_on_slots(
    free_at: Mapping[int, float], count: int, max_rate: int, now: float
) -> tuple[list[float], dict[int, float]]:
    """`count` starts on slots 1..max_rate, each taken when it is free (`free_at`; a slot never used is free) and free
    again START_WINDOW_S later: the starts in order, and the new free moment of every slot taken or never seen
    before, so that a store keeps all max_rate of them (and a hold reaches each)."""
    slots = [(free_at.get(slot, 0.0), slot) for slot in range(1, max_rate + 1)]
    heapq.heapify(slots)
    starts: list[float] = []
    changed = {slot: free for free, slot in slots if slot not in free_at}
    for _ in range(count):
        free, slot = heapq.heappop(slots)
        start = max(free, now)  # never earlier than the one before: the heap gives free moments in order
        starts.append(start)
        changed[slot] = start + START_WINDOW_S
        heapq.heappush(slots, (changed[slot], slot))
    return starts, changed


def grant(holder: str, wanted: int, limit: int, others: Mapping[str, Lease]) -> int:
    """What `holder` may hold now: its fair share, less whatever others still hold above theirs."""
    share = fair_shares(limit, {**{name: lease.wanted for name, lease in others.items()}, holder: wanted})[holder]
    return max(0, min(share, limit - sum(lease.connections for lease in others.values())))


class BudgetStore(ABC):
    """Where the deployment's budget is kept. Each method is one short, serialized step; call it off the event loop."""

    @abstractmethod
    def reserve_starts(self, count: int, max_rate: int) -> list[float]:
        """Reserve `count` starts, at most `max_rate` of them in any START_WINDOW_S; their moments, in order."""

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
        self._free_at: dict[int, float] = {}
        self._leases: dict[str, tuple[Lease, float]] = {}

    def reserve_starts(self, count: int, max_rate: int) -> list[float]:
        with self._lock:
            starts, taken = reserve_on_slots(self._free_at, count, max_rate, time.time())
            self._free_at.update(taken)
            return starts

    def hold_starts_until(self, moment: float) -> None:
        with self._lock:
            self._free_at = {slot: max(free, moment) for slot, free in self._free_at.items()}

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

    def reserve_starts(self, count: int, max_rate: int) -> list[float]:
        schedule = db.tmdb_start_schedule
        with self._engine.begin() as conn:
            self._lock_schedule(conn)
            free_at = {row.id: row.next_start for row in conn.execute(select(schedule))}
            starts, taken = reserve_on_slots(free_at, count, max_rate, time.time())
            db.upsert(conn, schedule, [{"id": slot, "next_start": free} for slot, free in taken.items()])
        return starts

    def hold_starts_until(self, moment: float) -> None:
        schedule = db.tmdb_start_schedule
        with self._engine.begin() as conn:
            self._lock_schedule(conn)
            conn.execute(update(schedule).where(schedule.c.next_start < moment).values(next_start=moment))

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
    def _lock_schedule(conn: Connection) -> None:
        # An UPDATE locks: the row on PostgreSQL, the database's write lock on SQLite (a plain SELECT takes neither),
        # so what this transaction reads next no other client changes until it commits.
        schedule = db.tmdb_start_schedule
        conn.execute(update(schedule).where(schedule.c.id == 1).values(next_start=schedule.c.next_start))

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

    def __init__(self, store: BudgetStore, max_rate: int, *, sleep: Sleep = asyncio.sleep):
        self._store = store
        self._max_rate = max_rate
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
                starts = await asyncio.to_thread(self._store.reserve_starts, count, self._max_rate)
            except Exception as error:  # handed to every waiting request: none can start without its turn
                while self._waiting:
                    _settle(self._waiting.popleft(), error=error)
                return
            for start in starts:
                _settle(self._waiting.popleft(), result=start)


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

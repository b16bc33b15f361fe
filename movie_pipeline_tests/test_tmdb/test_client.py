"""RateLimitedTmdbClient: request shape, auth, retries and redaction (mocked), then limits and faults over loopback."""

import asyncio
import re
import traceback
from datetime import UTC, datetime

import aiohttp
import pytest
from aioresponses import aioresponses

from movie_pipeline.tmdb.client import (
    MAX_RETRY_AFTER_S,
    RateLimitedTmdbClient,
    RequestSlots,
    TmdbAuthError,
    TmdbRequestError,
    TmdbUnavailable,
    parse_retry_after,
    request_chain,
)
from movie_pipeline.tmdb.config import TmdbConfig
from movie_pipeline.tmdb.standin import StandinOptions, running_standin
from movie_pipeline_tests.test_tmdb.enrich_support import (
    API_KEY,
    TOKEN,
    MockedResponse,
    max_starts_in_any_second,
    standin_config,
)
from movie_pipeline_tests.test_tmdb.standin_sources import tmdb_fixture

BASE = "http://tmdb.test/3"
SEARCH = re.compile(r"^http://tmdb\.test/3/search/movie\b.*")
DETAILS_550 = re.compile(r"^http://tmdb\.test/3/movie/550\b.*")
FIGHT_CLUB_SEARCH = {"page": 1, "results": [{"id": 550, "title": "Fight Club"}], "total_pages": 1, "total_results": 1}


class RecordedSleeps(list):
    """A stand-in for asyncio.sleep that returns at once and remembers each requested wait."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def mocked_config(**changes) -> TmdbConfig:
    settings = {"base_url": BASE, "read_access_token": TOKEN, "max_rate": 1000, "max_attempts": 3}
    return TmdbConfig(**{**settings, **changes})


def sent_requests(mocked: aioresponses) -> list[tuple[str, dict]]:
    """(full URL, request kwargs) of every request the mock saw, in order."""
    return [(str(url), call.kwargs) for (_, url), calls in mocked.requests.items() for call in calls]


async def test_bearer_token_goes_in_the_header_and_never_in_the_url():
    with aioresponses() as mocked:
        mocked.get(SEARCH, payload=FIGHT_CLUB_SEARCH, response_class=MockedResponse)
        async with RateLimitedTmdbClient(mocked_config(api_key=API_KEY)) as client:
            results = await client.search_movies("Fight Club", year=1999)
    assert [result["id"] for result in results] == [550]
    [(url, kwargs)] = sent_requests(mocked)
    assert url.startswith(f"{BASE}/search/movie?")
    assert kwargs["params"]["query"] == "Fight Club"
    assert kwargs["params"]["year"] == "1999"
    assert "api_key" not in kwargs["params"]
    assert API_KEY not in url and TOKEN not in url


async def test_session_sends_the_bearer_header():
    async with RateLimitedTmdbClient(mocked_config()) as client:
        assert client._session.headers["Authorization"] == f"Bearer {TOKEN}"
        assert client._session.headers["Accept"] == "application/json"


async def test_api_key_goes_as_query_parameter_when_it_is_the_only_credential():
    with aioresponses() as mocked:
        mocked.get(DETAILS_550, payload={"id": 550, "title": "Fight Club"}, response_class=MockedResponse)
        async with RateLimitedTmdbClient(mocked_config(read_access_token=None, api_key=API_KEY)) as client:
            assert "Authorization" not in client._session.headers
            details = await client.movie_details(550)
    assert details == {"id": 550, "title": "Fight Club"}
    [(_, kwargs)] = sent_requests(mocked)
    assert kwargs["params"] == {"append_to_response": "credits", "api_key": API_KEY}


async def test_retry_after_is_honoured_exactly():
    sleeps = RecordedSleeps()
    with aioresponses() as mocked:
        mocked.get(SEARCH, status=429, headers={"Retry-After": "7"}, payload={}, response_class=MockedResponse)
        mocked.get(SEARCH, payload=FIGHT_CLUB_SEARCH, response_class=MockedResponse)
        async with RateLimitedTmdbClient(mocked_config(), sleep=sleeps) as client:
            results = await client.search_movies("Fight Club")
    assert [result["id"] for result in results] == [550]
    # The retry waits 7 s; then the spacer, paused for every request by the 429, holds the start until the
    # same moment (the recorded sleep returns at once, so the spacer still sees almost all 7 s ahead).
    assert sleeps[0] == 7.0
    assert len(sleeps) == 2 and 6.5 < sleeps[1] <= 7.0
    assert client.counters.retries == 1
    assert client.counters.outcomes == {"429": 1, "200": 1}


async def test_429_without_retry_after_waits_a_full_jitter_backoff():
    sleeps = RecordedSleeps()
    with aioresponses() as mocked:
        mocked.get(SEARCH, status=429, payload={}, response_class=MockedResponse)
        mocked.get(SEARCH, status=429, payload={}, response_class=MockedResponse)
        mocked.get(SEARCH, payload=FIGHT_CLUB_SEARCH, response_class=MockedResponse)
        async with RateLimitedTmdbClient(mocked_config(backoff_base_s=0.5), sleep=sleeps) as client:
            await client.search_movies("Fight Club")
    retry_waits = [wait for wait in sleeps if wait > 0.01]
    # Full jitter: the n-th retry waits a uniform draw from [0, 0.5 * 2**(n-1)].
    assert client.counters.retries == 2
    assert all(0 <= wait <= 1.0 for wait in retry_waits)


async def test_401_raises_at_once_without_retry_and_says_what_to_fix():
    sleeps = RecordedSleeps()
    invalid_key = tmdb_fixture("jdrouet-tmdb-api/invalid-api-key.json")
    with aioresponses() as mocked:
        mocked.get(SEARCH, status=401, payload=invalid_key, response_class=MockedResponse)
        mocked.get(SEARCH, payload=FIGHT_CLUB_SEARCH, response_class=MockedResponse)
        async with RateLimitedTmdbClient(mocked_config(), sleep=sleeps) as client:
            with pytest.raises(TmdbAuthError) as raised:
                await client.search_movies("Fight Club")
    assert len(sent_requests(mocked)) == 1
    assert client.counters.retries == 0
    message = str(raised.value)
    assert "TMDB_READ_ACCESS_TOKEN" in message
    assert invalid_key["status_message"] in message
    assert TOKEN not in message


async def test_404_on_details_is_none_and_on_search_an_error():
    not_found = tmdb_fixture("jdrouet-tmdb-api/resource-not-found.json")
    with aioresponses() as mocked:
        mocked.get(DETAILS_550, status=404, payload=not_found, response_class=MockedResponse)
        mocked.get(SEARCH, status=404, payload=not_found, response_class=MockedResponse)
        async with RateLimitedTmdbClient(mocked_config()) as client:
            assert await client.movie_details(550) is None
            with pytest.raises(TmdbRequestError, match="HTTP 404"):
                await client.search_movies("Fight Club")


async def test_exhausted_retries_raise_unavailable_with_the_last_failure():
    sleeps = RecordedSleeps()
    with aioresponses() as mocked:
        for _ in range(3):
            mocked.get(SEARCH, status=503, payload={}, response_class=MockedResponse)
        async with RateLimitedTmdbClient(mocked_config(max_attempts=3), sleep=sleeps) as client:
            with pytest.raises(TmdbUnavailable) as raised:
                await client.search_movies("Fight Club")
    assert "3 times" in str(raised.value) and "HTTP 503" in str(raised.value)
    assert len(sent_requests(mocked)) == 3
    assert client.counters.retries == 2


async def test_api_key_is_redacted_from_every_exception_text():
    # aiohttp puts the full URL, query and all, into some of its errors; the client must not pass it on.
    leaked_url = f"{BASE}/search/movie?query=x&api_key={API_KEY}"
    sleeps = RecordedSleeps()
    with aioresponses() as mocked:
        for _ in range(2):
            mocked.get(SEARCH, exception=aiohttp.InvalidURL(leaked_url))
        async with RateLimitedTmdbClient(
            mocked_config(read_access_token=None, api_key=API_KEY, max_attempts=2), sleep=sleeps
        ) as client:
            with pytest.raises(TmdbUnavailable) as raised:
                await client.search_movies("x")
    rendered = "".join(traceback.format_exception(raised.value))
    assert API_KEY not in rendered
    assert "api_key=***" in str(raised.value)
    assert API_KEY not in repr(client)


async def test_a_body_that_is_not_json_is_retried():
    with aioresponses() as mocked:
        mocked.get(DETAILS_550, body='{"id": 550, "tit', response_class=MockedResponse)
        mocked.get(DETAILS_550, payload={"id": 550}, response_class=MockedResponse)
        async with RateLimitedTmdbClient(mocked_config(), sleep=RecordedSleeps()) as client:
            assert await client.movie_details(550) == {"id": 550}
    assert client.counters.outcomes["invalid json"] == 1
    assert client.counters.retries == 1


async def test_no_credentials_fail_before_any_request():
    with pytest.raises(Exception) as raised:
        async with RateLimitedTmdbClient(TmdbConfig(base_url=BASE)):
            pass
    assert "TMDB_API_KEY" in str(raised.value)


def test_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Fri, 01 Mar 2024 12:00:05 GMT", now=lambda: now) == 5.0
    assert parse_retry_after("Fri, 01 Mar 2024 11:59:00 GMT", now=lambda: now) == 0.0
    assert parse_retry_after("86400") == MAX_RETRY_AFTER_S
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


async def test_a_freed_slot_goes_to_the_lowest_rank_then_the_oldest_and_skips_a_cancelled_waiter():
    slots, served = RequestSlots(1), []
    holder = slots.slot(rank=0)
    await holder.__aenter__()

    async def take(name: str, rank: int) -> None:
        async with slots.slot(rank):
            served.append(name)

    waiters = {
        name: asyncio.create_task(take(name, rank)) for name, rank in [("late", 2), ("a", 0), ("gone", 0), ("b", 1)]
    }
    await asyncio.sleep(0)  # every waiter is queued
    waiters["gone"].cancel()
    await holder.__aexit__(None, None, None)
    await asyncio.gather(*waiters.values(), return_exceptions=True)
    assert served == ["a", "b", "late"]
    async with slots.slot(rank=5):  # the slot came back: it is free again, not lost to the cancelled waiter
        served.append("after")
    assert served[-1] == "after"


# --- over loopback HTTP, against the stand-in ---------------------------------------------------------------


async def test_requests_in_flight_reach_the_limit_and_never_exceed_it():
    async with (
        running_standin(StandinOptions(latency_s=(0.02, 0.06))) as standin,
        RateLimitedTmdbClient(standin_config(standin.base_url, max_concurrency=5)) as client,
    ):
        results = await asyncio.gather(*(client.movie_details(550) for _ in range(60)))
    assert all(result["id"] == 550 for result in results)
    assert standin.stats.request_count == 60
    assert standin.stats.max_in_flight == 5
    assert standin.stats.connections_opened <= 5
    assert standin.stats.auth_methods == {"bearer": 60}


async def test_starts_in_any_sliding_second_stay_within_the_rate():
    async with running_standin(StandinOptions(latency_s=(0.0, 0.01))) as standin:
        config = standin_config(standin.base_url, max_concurrency=10, max_rate=20)
        async with RateLimitedTmdbClient(config) as client:
            await asyncio.gather(*(client.movie_details(550) for _ in range(45)))
    starts = [record.start for record in standin.stats.requests]
    assert len(starts) == 45
    assert max_starts_in_any_second(starts) <= 20


async def test_a_chains_later_request_waits_behind_another_chains_first_and_a_search_before_details():
    answered = []
    async with (
        running_standin(StandinOptions()) as standin,
        RateLimitedTmdbClient(standin_config(standin.base_url, max_concurrency=1)) as client,
    ):

        async def details(tmdb_id: int) -> None:
            await client.movie_details(tmdb_id)
            answered.append(tmdb_id)

        async def search(title: str) -> None:
            await client.search_movies(title)
            answered.append(title)

        async def chain(*requests) -> None:
            with request_chain():
                await asyncio.gather(*requests)

        # 550 takes the one slot; the others wait in this order: 551 (its chain's second), 680 (another chain's
        # first), the search (that chain's second, as 551 is, but a search).
        await asyncio.gather(chain(details(550), details(551)), chain(details(680), search("Fight Club")))
    assert answered == [550, 680, "Fight Club", 551]


async def test_every_kind_of_fault_is_retried_until_success():
    faults = ["429", "429-no-retry-after", "500", "503", "invalid-json", "reset", "hang"]
    async with running_standin(StandinOptions(faults=faults)) as standin:
        config = standin_config(standin.base_url, max_attempts=len(faults) + 1, request_timeout_s=0.3)
        async with RateLimitedTmdbClient(config) as client:
            details = await client.movie_details(550)
    assert details["title"] == "Fight Club"
    assert standin.stats.request_count == client.counters.requests == len(faults) + 1
    # aiohttp itself resends a GET once when its connection is reset, and that resend meets the "hang":
    # every other fault costs one retry of ours.
    assert client.counters.retries == len(faults) - 1
    assert client.counters.outcomes["429"] == 2
    assert client.counters.outcomes["timeout"] == 1
    # The stand-in said Retry-After: 1 on its first answer: nothing started again before that second was over.
    first, second = standin.stats.requests[:2]
    assert second.start - first.end >= 0.99


async def test_a_hang_with_api_key_auth_leaks_nothing_into_the_error():
    async with running_standin(StandinOptions(faults=["hang", "hang"])) as standin:
        config = standin_config(
            standin.base_url, read_access_token=None, api_key=API_KEY, max_attempts=2, request_timeout_s=0.2
        )
        async with RateLimitedTmdbClient(config) as client:
            with pytest.raises(TmdbUnavailable) as raised:
                await client.search_movies("Fight Club")
    assert "no answer within 0.2 s" in str(raised.value)
    assert API_KEY not in "".join(traceback.format_exception(raised.value))

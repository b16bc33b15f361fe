"""The stand-in over real loopback HTTP: TMDB's shapes, errors and auth, and the fault and latency knobs."""

import asyncio
import json
import math
from collections import Counter

import aiohttp
import pytest

from movie_pipeline.tmdb.standin import RequestRecord, StandinOptions, StandinStats, running_standin
from movie_pipeline_tests.test_tmdb.standin_sources import ids_with_title_words, kaggle_rows, tmdb_fixture, udacity_rows

TOKEN = {"Authorization": "Bearer test-token"}
SHORT_TIMEOUT = aiohttp.ClientTimeout(total=0.3)


async def get_json(session: aiohttp.ClientSession, url: str, **params) -> tuple[int, dict]:
    async with session.get(url, params=params, headers=TOKEN) as response:
        return response.status, await response.json()


async def search_all_pages(session, base_url, **params) -> list[dict]:
    _, first = await get_json(session, f"{base_url}/search/movie", **params)
    results = list(first["results"])
    for page in range(2, first["total_pages"] + 1):
        _, body = await get_json(session, f"{base_url}/search/movie", page=page, **params)
        results += body["results"]
    return results


def json_type(value) -> str:
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__


async def test_search_results_have_exactly_the_recorded_keys_and_types():
    recorded = tmdb_fixture("chiiya-tmdb-php/search/movies.json")
    async with running_standin() as standin, aiohttp.ClientSession() as session:
        status, body = await get_json(session, f"{standin.base_url}/search/movie", query="matrix")
    assert status == 200
    assert body.keys() == recorded.keys()
    recorded_result = recorded["results"][0]
    assert body["results"][0].keys() == recorded_result.keys()
    assert tmdb_fixture("jdrouet-tmdb-api/search-movie.json")["results"][0].keys() == recorded_result.keys()
    for result in body["results"]:
        for key in ("backdrop_path", "poster_path"):
            assert result[key] is None
        mismatched = {
            key
            for key in recorded_result
            if key not in ("backdrop_path", "poster_path") and json_type(result[key]) != json_type(recorded_result[key])
        }
        assert mismatched == set()


async def test_search_finds_every_film_with_the_query_words_most_popular_first():
    expected_ids = ids_with_title_words("love")
    popularity = {int(row["id"]): float(row["popularity"]) for row in kaggle_rows().values()}
    async with running_standin() as standin, aiohttp.ClientSession() as session:
        _, first = await get_json(session, f"{standin.base_url}/search/movie", query="Love", page=1)
        results = await search_all_pages(session, standin.base_url, query="Love")
    assert first["total_results"] == len(expected_ids) > 20
    assert first["total_pages"] == math.ceil(len(expected_ids) / 20)
    assert len(first["results"]) == 20
    assert sorted(result["id"] for result in results) == sorted(expected_ids)
    ranked = [popularity.get(result["id"], 0.0) for result in results]
    assert ranked == sorted(ranked, reverse=True)
    assert results[0]["id"] == max(expected_ids, key=lambda film_id: popularity.get(film_id, 0.0))


async def test_search_ignores_accents_case_and_punctuation():
    async with running_standin() as standin, aiohttp.ClientSession() as session:
        _, body = await get_json(session, f"{standin.base_url}/search/movie", query="AMELIE")
        _, wall_e = await get_json(session, f"{standin.base_url}/search/movie", query="wall-e")
    assert [(result["id"], result["title"]) for result in body["results"]] == [(194, "Amélie")]
    assert "WALL·E" in [result["title"] for result in wall_e["results"]]


async def test_year_filters_on_release_year():
    release_year = {int(row["id"]): row["release_date"][:4] for row in kaggle_rows().values()}
    expected_1999 = {film_id for film_id in ids_with_title_words("matrix") if release_year.get(film_id) == "1999"}
    async with running_standin() as standin, aiohttp.ClientSession() as session:
        in_1999 = await search_all_pages(session, standin.base_url, query="matrix", year=1999)
        primary_2003 = await search_all_pages(session, standin.base_url, query="matrix", primary_release_year=2003)
    assert {result["id"] for result in in_1999} == expected_1999 == {603}
    assert {result["id"] for result in primary_2003} == {604, 605}  # Reloaded and Revolutions, both 2003


async def test_search_without_query_is_the_recorded_validation_error():
    async with running_standin() as standin, aiohttp.ClientSession() as session:
        missing = await get_json(session, f"{standin.base_url}/search/movie")
        blank = await get_json(session, f"{standin.base_url}/search/movie", query="  ")
        bad_page = await get_json(session, f"{standin.base_url}/search/movie", query="matrix", page=0)
    assert missing == blank == (422, tmdb_fixture("jdrouet-tmdb-api/validation-error.json"))
    assert bad_page[0] == 400 and bad_page[1]["status_code"] == 22


async def test_details_with_credits_has_the_recorded_keys_and_the_corpus_people():
    recorded = tmdb_fixture("chiiya-tmdb-php/movies/appends-1.json")
    subset = udacity_rows()["550"]
    async with running_standin() as standin, aiohttp.ClientSession() as session:
        status, details = await get_json(session, f"{standin.base_url}/movie/550", append_to_response="credits")
        plain_status, plain = await get_json(session, f"{standin.base_url}/movie/550")
    assert status == plain_status == 200
    assert details.keys() >= tmdb_fixture("chiiya-tmdb-php/movies/details.json").keys()
    assert details.keys() >= tmdb_fixture("jdrouet-tmdb-api/movie-details.json").keys()
    assert details.keys() - {"credits"} == plain.keys() and "credits" not in plain
    assert (details["release_date"], details["runtime"], details["imdb_id"], details["poster_path"]) == (
        "1999-10-15",
        139,
        None,
        None,
    )
    cast, crew = details["credits"]["cast"], details["credits"]["crew"]
    assert all(person.keys() >= recorded["credits"]["cast"][0].keys() for person in cast)
    assert all(person.keys() >= recorded["credits"]["crew"][0].keys() for person in crew)
    assert [(person["name"], person["order"]) for person in cast] == [
        (name, order) for order, name in enumerate(subset["cast"].split("|"))
    ]
    assert [(person["name"], person["job"], person["department"]) for person in crew] == [
        ("David Fincher", "Director", "Directing")
    ]


async def test_film_known_only_from_the_credits_subset_has_empty_date_and_null_runtime():
    async with running_standin() as standin, aiohttp.ClientSession() as session:
        status, details = await get_json(session, f"{standin.base_url}/movie/2470")
    assert "2470" not in kaggle_rows() and "2470" in udacity_rows()
    assert (status, details["title"], details["release_date"], details["runtime"]) == (200, "Belle Époque", "", None)


async def test_unknown_movie_and_unknown_path_are_the_recorded_404():
    recorded = tmdb_fixture("jdrouet-tmdb-api/resource-not-found.json")
    async with running_standin() as standin, aiohttp.ClientSession() as session:
        assert await get_json(session, f"{standin.base_url}/movie/999999999") == (404, recorded)
        assert await get_json(session, f"{standin.base_url}/tv/1") == (404, recorded)


async def test_auth_accepts_bearer_or_api_key_and_answers_the_recorded_401_otherwise():
    recorded = tmdb_fixture("jdrouet-tmdb-api/invalid-api-key.json")
    secret = "s3cret-value"
    options = StandinOptions(accepted_credentials=frozenset({secret}))
    url_path = "/movie/550"
    async with running_standin(options) as standin, aiohttp.ClientSession() as session:
        url = standin.base_url + url_path
        async with session.get(url, headers={"Authorization": f"Bearer {secret}"}) as response:
            bearer_status = response.status
        async with session.get(url, params={"api_key": secret}) as response:
            api_key_status = response.status
        rejected = []
        for kwargs in (
            {},
            {"params": {"api_key": "wrong"}},
            {"headers": {"Authorization": "Bearer wrong"}},
            {"headers": {"Authorization": secret}},
        ):
            async with session.get(url, **kwargs) as response:
                rejected.append((response.status, await response.json()))
    assert (bearer_status, api_key_status) == (200, 200)
    assert rejected == [(401, recorded)] * 4
    assert standin.stats.auth_methods == Counter(bearer=3, api_key=2, none=1)
    assert secret not in repr(standin.stats)


async def test_any_non_empty_credential_is_accepted_by_default():
    async with running_standin() as standin, aiohttp.ClientSession() as session:
        async with session.get(f"{standin.base_url}/movie/550", params={"api_key": "anything"}) as response:
            accepted = response.status
        async with session.get(f"{standin.base_url}/movie/550", params={"api_key": ""}) as response:
            empty = response.status
    assert (accepted, empty) == (200, 401)


async def test_fault_script_answers_in_arrival_order():
    faults = ["429", "429-no-retry-after", "500", "503", "invalid-json", "ok"]
    async with running_standin(StandinOptions(faults=faults)) as standin, aiohttp.ClientSession() as session:
        answers = []
        for _ in faults:
            async with session.get(f"{standin.base_url}/movie/550", headers=TOKEN) as response:
                answers.append((response.status, response.headers.get("Retry-After"), await response.text()))
    assert [(status, retry_after) for status, retry_after, _ in answers] == [
        (429, "1"),
        (429, None),
        (500, None),
        (503, None),
        (200, None),
        (200, None),
    ]
    assert [json.loads(answers[index][2])["status_code"] for index in range(4)] == [25, 25, 11, 9]
    with pytest.raises(json.JSONDecodeError):
        json.loads(answers[4][2])
    assert json.loads(answers[5][2])["id"] == 550
    assert standin.stats.rate_limited == 2


async def test_hang_never_answers_and_reset_drops_the_connection():
    # aiohttp retries an idempotent request once when the connection drops, so one failed GET takes two resets.
    faults = ["hang", "reset", "reset", "ok"]
    async with running_standin(StandinOptions(faults=faults)) as standin:
        async with aiohttp.ClientSession(timeout=SHORT_TIMEOUT) as session:
            with pytest.raises(asyncio.TimeoutError):
                await get_json(session, f"{standin.base_url}/movie/550")
            with pytest.raises(aiohttp.ClientConnectionError):
                await get_json(session, f"{standin.base_url}/movie/550")
            status, body = await get_json(session, f"{standin.base_url}/movie/550")
        while standin.stats.in_flight:  # the hung handler ends once the server notices the client left
            await asyncio.sleep(0.01)
    assert (status, body["id"]) == (200, 550)
    assert [record.status for record in standin.stats.requests] == [None, None, None, 200]
    assert all(record.end is not None for record in standin.stats.requests)
    assert standin.stats.connections_opened == 4  # no dropped connection is reused


async def test_seeded_fault_rates_repeat_exactly():
    options = StandinOptions(fault_rates={"500": 0.3, "503": 0.2}, seed=7)

    async def statuses(run_options: StandinOptions) -> list[int]:
        async with running_standin(run_options) as standin, aiohttp.ClientSession() as session:
            return [(await get_json(session, f"{standin.base_url}/movie/550"))[0] for _ in range(30)]

    first, second = await statuses(options), await statuses(options)
    other_seed = await statuses(StandinOptions(fault_rates=options.fault_rates, seed=8))
    assert first == second != other_seed
    assert set(first) == {200, 500, 503}


@pytest.mark.parametrize(("retry_after_header", "expected_retry_after"), [(True, {"1"}), (False, {None})])
async def test_rate_limit_answers_429_beyond_the_window(retry_after_header, expected_retry_after):
    options = StandinOptions(rate_limit_per_s=5, retry_after_header=retry_after_header)
    async with running_standin(options) as standin, aiohttp.ClientSession() as session:

        async def fetch():
            async with session.get(f"{standin.base_url}/movie/550", headers=TOKEN) as response:
                return response.status, response.headers.get("Retry-After"), await response.json()

        answers = await asyncio.gather(*(fetch() for _ in range(8)))
    assert Counter(status for status, _, _ in answers) == Counter({200: 5, 429: 3})
    throttled = [(retry_after, body) for status, retry_after, body in answers if status == 429]
    assert {retry_after for retry_after, _ in throttled} == expected_retry_after
    assert all(body["status_code"] == 25 for _, body in throttled)
    assert standin.stats.rate_limited == 3


async def test_connections_are_counted_per_tcp_connection():
    async with running_standin() as standin:
        for _ in range(2):
            async with aiohttp.ClientSession() as session:
                for _ in range(3):
                    await get_json(session, f"{standin.base_url}/movie/550")
        kept_alive = standin.stats.connections_opened
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            for _ in range(3):
                await get_json(session, f"{standin.base_url}/movie/550")
    assert kept_alive == 2
    assert standin.stats.connections_opened == 2 + 3
    assert standin.stats.requests_by_kind() == Counter(details=9)


async def test_requests_in_flight_are_counted():
    async with (
        running_standin(StandinOptions(faults=["hang"] * 3)) as standin,
        aiohttp.ClientSession(timeout=SHORT_TIMEOUT) as session,
    ):
        outcomes = await asyncio.gather(
            *(get_json(session, f"{standin.base_url}/search/movie", query="x") for _ in range(3)),
            return_exceptions=True,
        )
    assert all(isinstance(outcome, asyncio.TimeoutError) for outcome in outcomes)
    assert standin.stats.max_in_flight == 3
    assert standin.stats.requests_by_kind() == Counter(search=3)


async def test_latency_and_connection_setup_delay_each_answer():
    options = StandinOptions(latency_s=(0.05, 0.06), connection_setup_s=0.1)
    async with running_standin(options) as standin, aiohttp.ClientSession() as session:
        for _ in range(2):
            await get_json(session, f"{standin.base_url}/movie/550")
    first, second = (record.end - record.start for record in standin.stats.requests)
    assert first >= 0.15  # a new connection: setup + latency
    assert second >= 0.05


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"faults": ["teapot"]}, "teapot"),
        ({"fault_rates": {"500": 0.8, "hang": 0.3}}, "sum to at most 1"),
        ({"latency_s": (0.5, 0.1)}, "low <= high"),
        ({"rate_limit_per_s": 0}, "at least 1"),
    ],
)
def test_options_reject_impossible_settings(options, named):
    with pytest.raises(ValueError, match=named):
        StandinOptions(**options)


async def test_reset_mid_body_sends_the_status_headers_and_half_the_body_then_resets():
    async with (
        running_standin(StandinOptions(faults=["reset-mid-body", "ok"])) as standin,
        aiohttp.ClientSession() as session,
    ):
        async with session.get(f"{standin.base_url}/movie/550", headers=TOKEN) as response:
            status, promised = response.status, int(response.headers["Content-Length"])
            with pytest.raises(aiohttp.ClientPayloadError, match=rf"received {promised // 2} of {promised}"):
                await response.read()
        after = await get_json(session, f"{standin.base_url}/movie/550")
    assert status == 200 and after[0] == 200
    assert [(record.fault, record.status) for record in standin.stats.requests] == [
        ("reset-mid-body", None),
        ("ok", 200),
    ]
    assert standin.stats.faults() == Counter({"reset-mid-body": 1})


async def test_peak_open_connections_counts_connections_open_at_once():
    async with running_standin(StandinOptions(latency_s=(0.05, 0.05))) as standin:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(get_json(session, f"{standin.base_url}/movie/550") for _ in range(6)))
        # One at a time afterwards: new connections, but never more than one open.
        for _ in range(3):
            async with aiohttp.ClientSession() as session:
                await get_json(session, f"{standin.base_url}/movie/550")
    assert standin.stats.connections_opened == 6 + 3
    assert standin.stats.peak_open_connections == 6


def test_peak_starts_per_second_is_the_busiest_sliding_second():
    stats = StandinStats(requests=[RequestRecord("search", start) for start in (10.0, 10.5, 10.99, 11.0, 11.2, 13.0)])
    assert stats.peak_starts_per_second() == 4  # 10.5, 10.99, 11.0 and 11.2; 10.0 and 11.0 are a whole second apart
    assert StandinStats().peak_starts_per_second() == 0


async def test_summary_holds_the_server_side_figures_as_json():
    options = StandinOptions(faults=["500", "429", "ok"], rate_limit_per_s=100)
    async with running_standin(options) as standin, aiohttp.ClientSession() as session:
        for _ in range(3):
            await get_json(session, f"{standin.base_url}/movie/550")
    summary = json.loads(json.dumps(standin.stats.summary()))
    assert {
        key: summary[key] for key in ("requests", "statuses", "faults", "rate_limited", "peak_starts_per_second")
    } == {
        "requests": 3,
        "statuses": {"500": 1, "429": 1, "200": 1},
        "faults": {"500": 1, "429": 1},
        "rate_limited": 1,
        "peak_starts_per_second": 3,
    }
    assert summary["peak_open_connections"] == summary["connections_opened"] == 1

"""The stand-in's decoy and year-drift mode against independent reads of the corpus files."""

from datetime import date

import aiohttp
import pytest

from movie_pipeline.tmdb.standin import StandinOptions, load_corpus, running_standin
from movie_pipeline.tmdb.standin.decoys import DECOY_ID_OFFSET, moved_date, with_decoys
from movie_pipeline_tests.test_tmdb.enrich_support import TOKEN
from movie_pipeline_tests.test_tmdb.standin_sources import kaggle_rows

SEED = 10


@pytest.fixture(scope="module")
def decoyed():
    return with_decoys(load_corpus(), SEED)


def test_the_same_seed_gives_the_same_decoys_and_another_seed_others(decoyed):
    again = with_decoys(load_corpus(), SEED)
    other = with_decoys(load_corpus(), SEED + 1)
    assert (again.decoy_of, again.drifted) == (decoyed.decoy_of, decoyed.drifted)
    assert other.decoy_of.keys() != decoyed.decoy_of.keys() and other.drifted != decoyed.drifted


def test_a_fifth_of_dated_films_get_a_decoy_and_a_tenth_a_year_of_drift(decoyed):
    dated = {int(film_id) for film_id, row in kaggle_rows().items() if row["release_date"]}
    assert set(decoyed.true_year) == dated
    assert 0.17 < len(decoyed.decoy_of) / len(dated) < 0.23
    assert 0.08 < len(decoyed.drifted) / len(dated) < 0.12


def test_drift_moves_a_date_by_exactly_one_year_and_leaves_the_others(decoyed):
    for film_id, row in kaggle_rows().items():
        if not row["release_date"]:
            continue
        served = date.fromisoformat(decoyed.corpus.get(int(film_id)).release_date)
        original = date.fromisoformat(row["release_date"])
        if int(film_id) in decoyed.drifted:
            assert abs(served.year - original.year) == 1 and served.month == original.month, film_id
        else:
            assert served == original, film_id


def test_a_decoy_is_a_same_title_short_or_documentary_near_the_films_true_year(decoyed):
    rows = kaggle_rows()
    kinds = set()
    for film_id, decoy_id in decoyed.decoy_of.items():
        decoy = decoyed.corpus.get(decoy_id)
        genres = {genre["name"] for genre in decoy.genres}
        assert decoy_id == DECOY_ID_OFFSET + film_id
        assert decoy.title == decoy.original_title == rows[str(film_id)]["title"].strip()
        assert abs(decoy.release_year - int(rows[str(film_id)]["release_date"][:4])) <= 1
        documentary = genres == {"Documentary"}
        assert documentary or decoy.runtime <= 35, (film_id, decoy)
        kinds.add(documentary)
    assert kinds == {True, False}


def test_29_february_moved_to_a_common_year_is_the_28th():
    assert moved_date("2012-02-29", 1) == "2013-02-28"
    assert moved_date("2011-02-28", 1) == "2012-02-28"
    assert moved_date("2000-07-04", -1) == "1999-07-04"


async def test_the_decoys_are_served_only_in_decoy_mode(decoyed):
    film_id = min(decoyed.decoy_of)
    decoy_id, title = decoyed.decoy_of[film_id], decoyed.corpus.get(film_id).title
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for decoys in (True, False):
        async with (
            running_standin(StandinOptions(decoys=decoys, seed=SEED)) as standin,
            aiohttp.ClientSession(headers=headers) as session,
        ):
            async with session.get(f"{standin.base_url}/search/movie", params={"query": title}) as response:
                found = {result["id"] for result in (await response.json())["results"]}
            async with session.get(f"{standin.base_url}/movie/{decoy_id}") as response:
                status, body = response.status, await response.json()
        assert (decoy_id in found) is decoys and film_id in found
        assert status == (200 if decoys else 404)
        if decoys:
            assert body["runtime"] == decoyed.corpus.get(decoy_id).runtime

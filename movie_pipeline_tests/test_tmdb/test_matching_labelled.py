"""Matching on the labelled set's held-out half, through enrich_films and the stand-in in decoy mode.

Each of issue 10's three kinds of mistake has its own test over the held-out cases of that kind; the tuning
half is what the matcher's constants were chosen on, so it is not asserted here (bench_matching.py reports both).
"""

import asyncio
from collections import Counter

import pytest

from movie_pipeline.tmdb.enrich import EnrichmentSummary, enrich_films
from movie_pipeline.tmdb.overrides import Overrides
from movie_pipeline.tmdb.standin import StandinOptions, StandinStats, running_standin
from movie_pipeline_tests.test_tmdb.enrich_support import (
    client_factory,
    films_frame,
    matches,
    sqlite_engine,
    standin_config,
)
from movie_pipeline_tests.test_tmdb.labelled_set import (
    SEED,
    LabelledFilm,
    labelled_set,
    read_csv,
    sample_films_the_standin_has,
)

DECOYS = StandinOptions(decoys=True, seed=SEED)
REQUESTS_PER_FILM_BUDGET = 2.2


async def enrich_against_decoys(films, tmp_path) -> tuple[list[int | None], EnrichmentSummary, StandinStats]:
    """The tmdb_id enrich_films stored for each (name, year), in order, with its summary and the stand-in's stats."""
    frame = films_frame(films)
    engine = sqlite_engine(tmp_path)
    async with running_standin(DECOYS) as standin:
        summary = await enrich_films(
            frame,
            upload="labelled",
            engine=engine,
            client_factory=client_factory(standin_config(standin.base_url, max_concurrency=10)),
            overrides=Overrides(),
            log=lambda line: None,
        )
    rows = matches(engine, "labelled")
    return [rows[key]["tmdb_id"] for key in frame["film_key"]], summary, standin.stats


@pytest.fixture(scope="module")
def held_out(tmp_path_factory) -> list[tuple[LabelledFilm, int | None]]:
    cases = [case for case in read_csv() if case.half == "held-out"]
    got, _, _ = asyncio.run(
        enrich_against_decoys([(case.name, case.year) for case in cases], tmp_path_factory.mktemp("held-out"))
    )
    return list(zip(cases, got, strict=True))


def wrong_ones(results: list[tuple[LabelledFilm, int | None]]) -> list[str]:
    return [f"{case.name} ({case.year}): got {got}" for case, got in results if got != case.expected_tmdb_id]


def test_the_committed_labelled_set_is_what_its_seeded_generator_gives():
    assert read_csv() == labelled_set()


def test_each_kind_is_split_evenly_into_tuning_and_held_out():
    halves = Counter((case.kind, case.half) for case in read_csv())
    for kind in {kind for kind, _ in halves}:
        assert abs(halves[kind, "tuning"] - halves[kind, "held-out"]) <= 1, kind


def test_a_little_known_film_dated_a_year_off_beats_a_same_title_short_in_the_exact_year(held_out):
    """Mistake (a): the short's exact year no longer outweighs the film; its 12 or 30 minutes settle it."""
    cases = [(case, got) for case, got in held_out if case.kind == "obscure-drifted" and case.decoy == "short"]
    assert len(cases) >= 10
    assert wrong_ones(cases) == []


def test_an_exact_match_beats_a_better_known_same_title_film_a_year_off(held_out):
    """Mistake (b), 'Bernie (2011)': a famous namesake a year off no longer wins when it is a short or documentary."""
    cases = [(case, got) for case, got in held_out if case.kind == "better-known-decoy"]
    assert len(cases) >= 30
    assert wrong_ones(cases) == []


def test_a_name_with_parentheses_inside_finds_its_film(held_out):
    """Mistake (c): 'Birdman or (The Unexpected Virtue of Ignorance)' and 'Original (English)' names."""
    cases = [(case, got) for case, got in held_out if case.kind == "parentheses"]
    assert len(cases) >= 25
    assert wrong_ones(cases) == []


def test_held_out_precision_and_recall(held_out):
    matched = [(case, got) for case, got in held_out if got is not None]
    right = sum(1 for case, got in matched if got == case.expected_tmdb_id)
    positives = sum(1 for case, _ in held_out if case.expected_tmdb_id is not None)
    assert right / len(matched) >= 0.99, wrong_ones(held_out)
    assert right / positives >= 0.99, wrong_ones(held_out)
    assert all(got is None for case, got in held_out if case.kind == "absent")


async def test_a_leading_short_costs_one_more_search_and_the_features_details_only(tmp_path):
    """Midnight Special (2016): TMDB dates the film 2015 and a well-known 29-minute namesake 2016."""
    [got], summary, stats = await enrich_against_decoys([("Midnight Special", 2016)], tmp_path)
    assert got == 245703
    assert stats.requests_by_kind() == {"search": 2, "details": 2}  # both the short's and the feature's
    assert summary.tmdb_requests == 4


async def test_the_bundled_sample_costs_at_most_2_2_requests_per_film_with_decoys_on(tmp_path):
    films = sample_films_the_standin_has()
    assert len(films) >= 300
    _, summary, stats = await enrich_against_decoys(films, tmp_path)
    assert summary.tmdb_requests == stats.request_count
    assert summary.tmdb_requests / len(films) <= REQUESTS_PER_FILM_BUDGET

"""The stand-in corpus against independent reads of the two bundled source files."""

import json

import pytest

from movie_pipeline.tmdb.standin.corpus import load_corpus, repair_mojibake, title_words
from movie_pipeline_tests.test_tmdb.standin_sources import (
    CORPUS_DIR,
    ids_with_title_words,
    kaggle_rows,
    tmdb_fixture,
    udacity_rows,
)


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def test_corpus_holds_the_union_of_both_files_ids(corpus):
    union = {int(film_id) for film_id in kaggle_rows()} | {int(film_id) for film_id in udacity_rows()}
    assert sorted(film.id for film in corpus) == sorted(union)
    assert len(corpus) == 11_914  # SOURCES.md: 3,754 shared ids, union 11,914 (TEKKEN's duplicate row counted once)


def test_load_corpus_is_read_once_per_process(corpus):
    assert load_corpus() is corpus


def test_shared_id_takes_dates_from_kaggle_and_people_from_udacity(corpus):
    fight_club = corpus.get(550)
    assert (fight_club.title, fight_club.release_date, fight_club.runtime) == ("Fight Club", "1999-10-15", 139)
    assert fight_club.directors == ("David Fincher",)
    assert fight_club.cast == tuple(udacity_rows()["550"]["cast"].split("|"))
    assert list(fight_club.genres) == json.loads(kaggle_rows()["550"]["genres"])


def test_film_only_in_the_credits_subset_has_no_date_or_runtime(corpus):
    row = udacity_rows()["2470"]
    assert "2470" not in kaggle_rows() and row["original_title"] == "Belle Ã‰poque"
    genre_list = tmdb_fixture("jdrouet-tmdb-api/genre-movie-list.json")["genres"]
    genre_ids = {genre["name"]: genre["id"] for genre in genre_list}
    genre_ids["Foreign"] = 10769  # retired from TMDB's list, still used by the Kaggle file
    film = corpus.get(2470)
    assert (film.title, film.release_date, film.runtime) == ("Belle Époque", "", None)
    assert list(film.genres) == [{"id": genre_ids[name], "name": name} for name in row["genres"].split("|")]
    assert film.directors == (row["director"],)


def test_mojibake_and_trailing_spaces_are_repaired(corpus):
    raw = (CORPUS_DIR / "tmdb-movies_udacity_credits-subset.csv").read_text(encoding="utf-8")
    assert "363869,Belli di papÃ\u00a0," in raw and "19311,$9.99 ," in raw and "Gabe IbÃ¡Ã±ez" in raw
    assert corpus.get(363869).title == "Belli di papà"
    assert corpus.get(19311).title == "$9.99"
    assert corpus.get(262543).directors == ("Gabe Ibáñez",)


@pytest.mark.parametrize(
    ("text", "repaired"),
    [
        ("AutÃ³mata", "Autómata"),
        ("Sheâ€™s Funny That Way", "She’s Funny That Way"),
        ("Amélie", "Amélie"),  # correct text does not round-trip, so it stays
        ("WALL·E", "WALL·E"),
        ("Miguel Ãngel MuÃ±oz", "Miguel Ãngel Muñoz"),  # the byte after "Ã" was lost: only "Muñoz" is repairable
    ],
)
def test_repair_mojibake(text, repaired):
    assert repair_mojibake(text) == repaired


def test_title_words_fold_case_accents_and_punctuation():
    assert title_words("Amélie's  WALL·E: Spider-Man!") == ["amelies", "walle", "spiderman"]


def test_search_matches_every_query_word_most_popular_first(corpus):
    popularity = {int(row["id"]): float(row["popularity"]) for row in kaggle_rows().values()}
    results = corpus.search("the MATRIX")
    assert [film.id for film in results][:3] == sorted([603, 604, 605], key=popularity.__getitem__, reverse=True)
    assert {film.id for film in results} == ids_with_title_words("the", "matrix")
    assert [film.id for film in corpus.search("amelie")] == [194]
    assert corpus.search("no such film xyzzy") == []
    assert corpus.search("!!!") == []


def test_search_reads_title_punctuation_both_as_nothing_and_as_a_space(corpus):
    assert kaggle_rows()["557"]["title"] == "Spider-Man"
    assert 557 in {film.id for film in corpus.search("spiderman")}
    assert 557 in {film.id for film in corpus.search("Spider Man")}
    assert udacity_rows()["66945"]["original_title"] == "Love's Kitchen"
    assert 66945 in {film.id for film in corpus.search("love kitchen")}
    assert 66945 in {film.id for film in corpus.search("loves kitchen")}

"""Title normalization, candidate scoring, and precision on labelled hard cases from the stand-in corpus."""

import pytest

from movie_pipeline.tmdb.enrich import enrich_films
from movie_pipeline.tmdb.matching import (
    ACCEPT_THRESHOLD,
    DOCUMENTARY_FACTOR,
    SHORT_FACTOR,
    Match,
    acceptable,
    choose_match,
    is_decisive,
    normalize_title,
    rank_candidates,
    score_candidate,
    shorter_title,
    weigh_details,
)
from movie_pipeline.tmdb.overrides import Overrides
from movie_pipeline.tmdb.standin import StandinOptions, running_standin
from movie_pipeline_tests.test_tmdb.enrich_support import (
    client_factory,
    films_frame,
    labelled_cases,
    matches,
    sqlite_engine,
    standin_config,
)
from movie_pipeline_tests.test_tmdb.standin_sources import kaggle_rows


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Amélie", "amelie"),
        ("WALL·E", "wall e"),
        ("WALL-E", "wall e"),
        ("Alien³", "alien 3"),
        ("Alien 3", "alien 3"),
        ("Æon Flux", "aeon flux"),
        ("Ri¢hie Ri¢h", "richie rich"),
        ("Dude, Where’s My Car?", "dude wheres my car"),
        ("Dude, Where's My Car?", "dude wheres my car"),
        ("The Naked Gun 33⅓: The Final Insult", "naked gun 33 1 3 the final insult"),
        ("Fast & Furious", "fast and furious"),
        ("The\u00a0Matrix", "matrix"),
        ("Matrix, The", "matrix"),
        ("The 41–Year–Old Virgin", "41 year old virgin"),
        ("“Crocodile” Dundee", "crocodile dundee"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),
        ("Die Hard", "die hard"),
        ("La La Land", "la la land"),
        ("A", "a"),
    ],
)
def test_normalize_title(title, expected):
    assert normalize_title(title) == expected


def corpus_candidate(tmdb_id: int) -> dict:
    """A search result shaped like TMDB's, read straight from the Kaggle corpus file."""
    row = kaggle_rows()[str(tmdb_id)]
    return {
        "id": tmdb_id,
        "title": row["title"],
        "original_title": row["original_title"],
        "release_date": row["release_date"],
        "vote_count": int(row["vote_count"]),
        "popularity": float(row["popularity"]),
    }


def test_an_obscure_exact_year_film_does_not_beat_a_well_known_film_one_year_off():
    obscure, well_known = corpus_candidate(150211), corpus_candidate(109445)
    assert (obscure["title"], obscure["release_date"][:4], obscure["vote_count"]) == ("The Frozen", "2012", 14)
    assert (well_known["title"], well_known["release_date"][:4], well_known["vote_count"]) == ("Frozen", "2013", 5295)
    match = choose_match("Frozen", 2012, [obscure, well_known])
    assert match.tmdb_id == 109445
    assert "year +1" in match.reason


def test_the_exact_year_wins_between_equally_known_remakes():
    old, new = corpus_candidate(2661), corpus_candidate(268)  # Batman 1966 and 1989
    assert choose_match("Batman", 1966, [new, old]).tmdb_id == 2661
    assert choose_match("Batman", 1989, [old, new]).tmdb_id == 268


def test_score_falls_with_year_distance_and_is_unacceptable_beyond_one_year():
    fight_club = corpus_candidate(550)  # 1999
    scores = [score_candidate("Fight Club", year, fight_club)[0] for year in (1999, 2000, 2001, 2004)]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 4
    assert scores[1] >= ACCEPT_THRESHOLD
    assert all(score < ACCEPT_THRESHOLD for score in scores[2:])


def test_original_title_matches_and_the_reason_says_so():
    amelie = corpus_candidate(194)
    score, reason = score_candidate("Le Fabuleux Destin d'Amélie Poulain", 2001, amelie)
    assert score >= ACCEPT_THRESHOLD
    assert "original title" in reason and "year exact" in reason


def test_a_well_known_exact_match_is_decisive_and_an_obscure_one_is_not():
    [well_known] = rank_candidates("Frozen", 2013, [corpus_candidate(109445)])
    [obscure] = rank_candidates("Frozen", 2012, [corpus_candidate(150211)])
    assert is_decisive(well_known)
    assert not is_decisive(obscure)


def test_no_candidates_no_match():
    assert choose_match("Fight Club", 1999, []) is None
    assert rank_candidates("Fight Club", 1999, []) == []


async def test_labelled_hard_cases_are_all_matched_right(tmp_path):
    """Every labelled case through the real path: the stand-in's search, then enrich_films' choice."""
    cases = labelled_cases()
    films = films_frame([(case["name"], int(case["year"])) for case in cases])
    engine = sqlite_engine(tmp_path)
    async with running_standin(StandinOptions()) as standin:
        await enrich_films(
            films,
            upload="labelled",
            engine=engine,
            client_factory=client_factory(standin_config(standin.base_url)),
            overrides=Overrides(),
            log=lambda line: None,
        )
    rows = matches(engine, "labelled")
    results = [(case, rows[key]["tmdb_id"]) for case, key in zip(cases, films["film_key"], strict=True)]
    expected_of = {id(case): int(case["expected_tmdb_id"]) if case["expected_tmdb_id"] else None for case in cases}
    found = [(case, got) for case, got in results if got is not None]
    correct = [(case, got) for case, got in found if got == expected_of[id(case)]]
    wrong = [
        f"{case['name']} ({case['year']}): got {got}, want {expected_of[id(case)]}"
        for case, got in results
        if got != expected_of[id(case)]
    ]
    positives = sum(1 for case in cases if case["expected_tmdb_id"])
    assert positives >= 40 and len(cases) - positives >= 10
    assert len(correct) / len(found) == 1.0, wrong  # precision
    assert len(correct) / positives == 1.0, wrong  # recall


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Birdman or (The Unexpected Virtue of Ignorance)", "Birdman"),
        ("Va Savoir (Who Knows?)", "Va Savoir"),
        ("(500) Days of Summer", "Days of Summer"),
        ("Frontier(s)", "Frontier"),
        ("Fight Club", None),
        ("(Untitled)", None),
    ],
)
def test_shorter_title_drops_the_parenthetical_part(name, expected):
    assert shorter_title(name) == expected


def test_a_name_with_a_parenthetical_part_matches_the_title_without_it():
    birdman = corpus_candidate(194662)
    assert birdman["title"] == "Birdman"
    full = "Birdman or (The Unexpected Virtue of Ignorance)"
    assert score_candidate(full, 2014, birdman)[0] == score_candidate("Birdman", 2014, birdman)[0]
    assert choose_match(full, 2014, [birdman]).tmdb_id == 194662


def test_an_exact_title_with_parentheses_still_beats_its_shorter_namesake():
    exact = {"id": 1, "title": "Aurélia Steiner (Melbourne)", "release_date": "1979-01-01", "vote_count": 5}
    namesake = {"id": 2, "title": "Aurélia Steiner (Vancouver)", "release_date": "1979-01-01", "vote_count": 5}
    assert choose_match("Aurélia Steiner (Melbourne)", 1979, [namesake, exact]).tmdb_id == 1


def test_details_of_a_short_or_a_documentary_lower_the_score_and_say_why():
    match = Match(tmdb_id=7, confidence=0.9, reason="'Echo' (2013): title 100%")
    short = weigh_details(match, {"runtime": 12, "genres": [{"id": 16, "name": "Animation"}]})
    documentary = weigh_details(match, {"runtime": 90, "genres": [{"id": 99, "name": "Documentary"}]})
    both = weigh_details(match, {"runtime": 20, "genres": [{"id": 99, "name": "Documentary"}]})
    assert short.confidence == round(0.9 * SHORT_FACTOR, 4) and "12-minute short" in short.reason
    assert documentary.confidence == round(0.9 * DOCUMENTARY_FACTOR, 4) and "documentary" in documentary.reason
    assert both.confidence == round(0.9 * SHORT_FACTOR * DOCUMENTARY_FACTOR, 4)
    assert max(SHORT_FACTOR, DOCUMENTARY_FACTOR) < 1 - 0.1  # a runner-up within 0.1 of a short or documentary wins


def test_a_feature_or_unknown_details_leave_the_score_alone():
    match = Match(tmdb_id=7, confidence=0.9, reason="r")
    assert weigh_details(match, {"runtime": 41, "genres": [{"id": 18, "name": "Drama"}]}) == match
    assert weigh_details(match, {"runtime": 0, "genres": []}) == match  # TMDB's 0: runtime unknown
    assert weigh_details(match, None) == match


def test_acceptable_keeps_the_candidates_at_or_above_the_threshold():
    ranked = [Match(1, 0.9, ""), Match(2, ACCEPT_THRESHOLD, ""), Match(3, ACCEPT_THRESHOLD - 0.01, "")]
    assert [match.tmdb_id for match in acceptable(ranked)] == [1, 2]

"""The stand-in's decoy and year-drift mode: the corpus made as treacherous as real TMDB search, reproducibly.

Real TMDB holds, for many a feature, a same-title short or documentary, and dates some films a year off from
Letterboxd (premiere against release). Seeded per film: DECOY_SHARE of the dated films get a same-title decoy
(a short or a documentary, usually obscure, usually in the film's own year), and DRIFT_SHARE have their date
moved one year. The Letterboxd side of a film is its corpus title and original year (`true_year`).
"""

import functools
import math
import random
from dataclasses import dataclass, replace

from movie_pipeline.tmdb.standin.corpus import CorpusFilm, StandinCorpus
from movie_pipeline.tmdb.standin.reference import GENRE_IDS

DECOY_SHARE = 0.2
DRIFT_SHARE = 0.1
# Above every TMDB id of the corpus, so a decoy's id says what it is.
DECOY_ID_OFFSET = 90_000_000
# Decoys are mostly in the film's own year, sometimes one year off either way.
DECOY_YEAR_OFFSETS = (0, 0, 0, -1, 1)
# Votes are log-uniform up to this: most decoys are obscure, a few (a famous short) well known.
DECOY_MAX_VOTES = 4000
SHORT_RUNTIMES = (4, 35)
DOCUMENTARY_RUNTIMES = (15, 95)
SHORT_GENRES = ("Animation", "Drama", "Comedy", "Horror")


@dataclass(frozen=True)
class DecoyCorpus:
    """The decoyed corpus, and what was done to it (what a labelled set needs to know)."""

    corpus: StandinCorpus
    true_year: dict[int, int]  # every dated corpus film's year before drift
    drifted: frozenset[int]  # ids whose date was moved one year
    decoy_of: dict[int, int]  # corpus id -> its decoy's id


@functools.cache  # corpora live as long as the process: one decoyed copy per corpus and seed
def with_decoys(corpus: StandinCorpus, seed: int) -> DecoyCorpus:
    draws = random.Random(f"decoys/{seed}")
    films: list[CorpusFilm] = []
    true_year: dict[int, int] = {}
    drifted: set[int] = set()
    decoy_of: dict[int, int] = {}
    for film in sorted(corpus, key=lambda film: film.id):
        year = film.release_year
        if year is None:
            films.append(film)
            continue
        true_year[film.id] = year
        gets_decoy, drifts = draws.random() < DECOY_SHARE, draws.random() < DRIFT_SHARE
        if drifts:
            film = replace(film, release_date=moved_date(film.release_date, draws.choice((-1, 1))))
            drifted.add(film.id)
        films.append(film)
        if gets_decoy:
            decoy = make_decoy(film, year + draws.choice(DECOY_YEAR_OFFSETS), draws)
            decoy_of[film.id] = decoy.id
            films.append(decoy)
    return DecoyCorpus(StandinCorpus(films), true_year, frozenset(drifted), decoy_of)


def make_decoy(film: CorpusFilm, year: int, draws: random.Random) -> CorpusFilm:
    """A same-title short or documentary from `year`, with its own figures."""
    documentary = draws.random() < 0.5
    if documentary:
        genres = ("Documentary",)
        runtime = draws.randint(*DOCUMENTARY_RUNTIMES)
    else:
        genres = (draws.choice(SHORT_GENRES),)
        runtime = draws.randint(*SHORT_RUNTIMES)
    votes = int(math.exp(draws.uniform(0, math.log1p(DECOY_MAX_VOTES)))) - 1
    return replace(
        film,
        id=DECOY_ID_OFFSET + film.id,
        original_title=film.title,
        overview="",
        tagline="",
        homepage="",
        release_date=f"{year:04d}{film.release_date[4:]}",
        runtime=runtime,
        budget=0,
        revenue=0,
        popularity=round(math.sqrt(votes) * draws.uniform(0.3, 0.8), 3),
        vote_average=round(draws.uniform(4.0, 8.0), 1) if votes else 0.0,
        vote_count=votes,
        genres=tuple({"id": GENRE_IDS[name], "name": name} for name in genres),
        production_companies=(),
        production_countries=(),
        spoken_languages=(),
        directors=(),
        cast=(),
    )


def moved_date(release_date: str, years: int) -> str:
    """ "YYYY-MM-DD" moved by `years`; 29 February becomes the 28th in a common year."""
    year, month_day = int(release_date[:4]) + years, release_date[4:]
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if month_day == "-02-29" and not leap:
        month_day = "-02-28"
    return f"{year:04d}{month_day}"

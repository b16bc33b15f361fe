"""The labelled set for matching against the stand-in in decoy mode: Letterboxd-style films with their true ids.

The truth is known by construction: each case is a corpus film under the name and year Letterboxd would show
(its title and its year before drift), or a film the stand-in does not have. Kinds:
- `obscure-drifted`: the film is dated a year off and a same-title decoy sits in the exact year (the issue's
  mistake a, when the film is little known);
- `better-known-decoy`: the film is dated right and a better-known same-title decoy sits a year off (mistake b);
- `parentheses`: a name with a parenthetical part TMDB's title lacks, as Letterboxd writes "Birdman or (The
  Unexpected Virtue of Ignorance)" or "Va Savoir (Who Knows?)" (mistake c);
- `decoy`, `drifted`, `plain`: the other films with a decoy, with a moved date, or neither;
- `absent`: a title the stand-in has, in a year far from every film of that title (must stay not found).
Each kind is split in two by a seeded shuffle: `tuning` (what the matcher may be tuned on) and `held-out`.

`python -m movie_pipeline_tests.test_tmdb.labelled_set` writes data/labelled_set.csv; a test keeps it equal to
what this generator gives.
"""

import csv
import random
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from movie_pipeline.letterboxd.parse import parse_export
from movie_pipeline.letterboxd.reader import open_upload, read_raw_rows
from movie_pipeline.tmdb.matching import normalize_title, prominence
from movie_pipeline.tmdb.standin.corpus import CorpusFilm, load_corpus
from movie_pipeline.tmdb.standin.decoys import DecoyCorpus, with_decoys

SEED = 10  # of the stand-in's decoys (StandinOptions(decoys=True, seed=SEED)) and of this set's draws
LABELLED_SET_CSV = Path(__file__).parent / "data" / "labelled_set.csv"
SAMPLE_ZIP = Path(__file__).resolve().parents[2] / "data" / "sample" / "letterboxd-choicehoney-2026-01-02.zip"
PLAIN_FILMS = 300
PARENTHESES_FILMS = 60
ABSENT_FILMS = 60
ABSENT_YEARS_AWAY = 5
# A real Letterboxd name (fixtures/letterboxd/*/watched.csv) whose film the corpus has under a shorter title.
REAL_PARENTHESES = [("Birdman or (The Unexpected Virtue of Ignorance)", 2014, 194662)]
Case = tuple[str, int, int | None, str]  # name, year, true id, decoy
_SUBTITLE = re.compile(r"^[A-Za-z' ]+$")


@dataclass(frozen=True)
class LabelledFilm:
    name: str
    year: int
    expected_tmdb_id: int | None  # None: the stand-in does not have this film
    kind: str
    half: str  # "tuning" or "held-out"
    decoy: str = ""  # the stand-in's same-title decoy of the film: "short", "documentary" or "" (none)


def labelled_set(seed: int = SEED) -> list[LabelledFilm]:
    decoyed = with_decoys(load_corpus(), seed)
    draws = random.Random(f"labelled-set/{seed}")
    unambiguous = _unambiguous_films(decoyed)
    by_kind: dict[str, list[Case]] = defaultdict(list)
    for film in unambiguous:
        by_kind[_kind(film, decoyed)].append((film.title, decoyed.true_year[film.id], film.id, _decoy(film, decoyed)))
    by_kind["plain"] = draws.sample(by_kind["plain"], PLAIN_FILMS)
    real = [
        (name, year, tmdb_id, _decoy(decoyed.corpus.get(tmdb_id), decoyed)) for name, year, tmdb_id in REAL_PARENTHESES
    ]
    by_kind["parentheses"] = real + _parenthesized(unambiguous, decoyed, draws)
    by_kind["absent"] = _absent(decoyed, draws)
    cases = []
    for kind in sorted(by_kind):
        films = sorted(by_kind[kind], key=lambda film: (film[0], film[1]))
        draws.shuffle(films)
        for index, (name, year, tmdb_id, decoy) in enumerate(films):
            half = "tuning" if index % 2 == 0 else "held-out"
            cases.append(LabelledFilm(name, year, tmdb_id, kind, half, decoy))
    return cases


def _unambiguous_films(decoyed: DecoyCorpus) -> list[CorpusFilm]:
    """Dated films no other corpus film shares a title and year with (a true id there would be a coin toss)."""
    films = [film for film in decoyed.corpus if film.id in decoyed.true_year]
    count: dict[tuple[str, int], int] = defaultdict(int)
    for film in films:
        count[normalize_title(film.title), decoyed.true_year[film.id]] += 1
    return sorted(
        (film for film in films if count[normalize_title(film.title), decoyed.true_year[film.id]] == 1),
        key=lambda film: film.id,
    )


def _kind(film: CorpusFilm, decoyed: DecoyCorpus) -> str:
    decoy = decoyed.corpus.get(decoyed.decoy_of.get(film.id, -1))
    drifted = film.id in decoyed.drifted
    if decoy is None:
        return "drifted" if drifted else "plain"
    decoy_off = decoy.release_year != decoyed.true_year[film.id]
    if drifted and not decoy_off:
        return "obscure-drifted"
    if not drifted and decoy_off and _prominence(decoy) > _prominence(film):
        return "better-known-decoy"
    return "decoy"


def _decoy(film: CorpusFilm | None, decoyed: DecoyCorpus) -> str:
    decoy = decoyed.corpus.get(decoyed.decoy_of.get(film.id, -1)) if film else None
    if decoy is None:
        return ""
    return "documentary" if any(genre["name"] == "Documentary" for genre in decoy.genres) else "short"


def _prominence(film: CorpusFilm) -> float:
    return prominence({"vote_count": film.vote_count, "popularity": film.popularity})


def _parenthesized(films: list[CorpusFilm], decoyed: DecoyCorpus, draws: random.Random) -> list[Case]:
    """Names as Letterboxd writes some films: "Original (English)", or "Title or (Subtitle)" from a tagline."""
    foreign = [film for film in films if film.original_title != film.title and film.original_title.isascii()]
    subtitled = [film for film in films if 2 <= len(film.tagline.split()) <= 6 and _SUBTITLE.match(film.tagline)]
    picked = draws.sample(foreign, PARENTHESES_FILMS // 2) + draws.sample(subtitled, PARENTHESES_FILMS // 2)
    return [
        (
            f"{film.original_title} ({film.title})" if film in foreign else f"{film.title} or ({film.tagline})",
            decoyed.true_year[film.id],
            film.id,
            _decoy(film, decoyed),
        )
        for film in picked
    ]


def _absent(decoyed: DecoyCorpus, draws: random.Random) -> list[Case]:
    """Corpus titles in a year far from every film of the title: a remake or namesake the stand-in lacks."""
    years_by_title: dict[str, set[int]] = defaultdict(set)
    for film in decoyed.corpus:
        if film.release_year is not None:
            years_by_title[normalize_title(film.title)].add(film.release_year)
    dated = sorted(
        (film for film in decoyed.corpus if film.id in decoyed.true_year and film.vote_count > 0),
        key=lambda film: film.id,
    )
    absent: list[Case] = []
    for film in draws.sample(dated, len(dated)):
        year = decoyed.true_year[film.id] + ABSENT_YEARS_AWAY
        years = years_by_title[normalize_title(film.title)]
        undated_namesake = any(
            other.release_year is None and normalize_title(other.title) == normalize_title(film.title)
            for other in decoyed.corpus.search(film.title)
        )
        if not undated_namesake and all(abs(other - year) > 2 for other in years):
            absent.append((film.title, year, None, ""))
        if len(absent) == ABSENT_FILMS:
            return absent
    return absent


def sample_films_the_standin_has() -> list[tuple[str, int]]:
    """The bundled sample's films the stand-in has as movies: a corpus film of the same normalized title (or
    original title) dated within a year of the export's; the films whose requests the budget counts."""
    years_by_title: dict[str, set[int]] = defaultdict(set)
    for film in load_corpus():
        if film.release_year is not None:
            years_by_title[normalize_title(film.title)].add(film.release_year)
            years_by_title[normalize_title(film.original_title)].add(film.release_year)
    films = parse_export(read_raw_rows(open_upload(SAMPLE_ZIP)).rows).films
    return [
        (name, year)
        for name, year in films.select("name", "year").iter_rows()
        if year is not None and any(abs(year - other) <= 1 for other in years_by_title[normalize_title(name)])
    ]


def write_csv(cases: Iterable[LabelledFilm], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[field.name for field in fields(LabelledFilm)])
        writer.writeheader()
        writer.writerows(asdict(case) for case in cases)


def read_csv(path: Path = LABELLED_SET_CSV) -> list[LabelledFilm]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            LabelledFilm(
                name=row["name"],
                year=int(row["year"]),
                expected_tmdb_id=int(row["expected_tmdb_id"]) if row["expected_tmdb_id"] else None,
                kind=row["kind"],
                half=row["half"],
                decoy=row["decoy"],
            )
            for row in csv.DictReader(handle)
        ]


if __name__ == "__main__":
    write_csv(labelled_set(), Path(sys.argv[1]) if len(sys.argv) > 1 else LABELLED_SET_CSV)

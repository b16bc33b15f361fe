"""Independent reads of the stand-in's source files and of the recorded TMDB fixtures, for the stand-in tests."""

import csv
import io
import json
import re
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = REPO_ROOT / "movie_pipeline" / "tmdb" / "standin" / "corpus"
TMDB_FIXTURES = REPO_ROOT / "movie_pipeline_tests" / "fixtures" / "tmdb"


def tmdb_fixture(relative_path: str):
    return json.loads((TMDB_FIXTURES / relative_path).read_text(encoding="utf-8"))


def kaggle_rows() -> dict[str, dict[str, str]]:
    with zipfile.ZipFile(CORPUS_DIR / "tmdb_5000_movies.csv.zip") as archive:
        text = archive.read("tmdb_5000_movies.csv").decode("utf-8")
    return {row["id"]: row for row in csv.DictReader(io.StringIO(text, newline=""))}


def udacity_rows() -> dict[str, dict[str, str]]:
    text = (CORPUS_DIR / "tmdb-movies_udacity_credits-subset.csv").read_bytes().decode("utf-8")
    return {row["id"]: row for row in csv.DictReader(io.StringIO(text, newline=""))}


def ids_with_title_words(*words: str) -> set[int]:
    """Ids whose title or original title contains all the (ASCII, lower-case) words, by a plain regex split."""
    kaggle, udacity = kaggle_rows(), udacity_rows()
    titles = {film_id: row["title"] + " " + row["original_title"] for film_id, row in kaggle.items()}
    titles.update({film_id: row["original_title"] for film_id, row in udacity.items() if film_id not in kaggle})
    return {int(film_id) for film_id, title in titles.items() if set(words) <= set(re.findall(r"\w+", title.lower()))}

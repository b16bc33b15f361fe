"""The real exports under fixtures/letterboxd, and what they hold, counted with Python's csv module
alone (no code of movie_pipeline), so tests can compare the pipeline's reading against it."""

import csv
import io
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LETTERBOXD_FIXTURES = Path(__file__).parent.parent / "fixtures" / "letterboxd"
ROOT_FILES = ("diary.csv", "watched.csv", "ratings.csv", "reviews.csv")

# Fixture folder -> what to drop: the zip is dropped as a zip, the others as folders.
EXPORTS = {
    "afelka": "afelka",
    "choicehoney-zip": "choicehoney-zip/letterboxd-choicehoney-2026-01-02.zip",
    "countingthedots": "countingthedots",
    "extratone": "extratone",
    "fsanchez83": "fsanchez83",
    "guilhermelmoraes-semicolon": "guilhermelmoraes-semicolon",
    "melvincarvalho": "melvincarvalho",
    "patrickmjones": "patrickmjones",
    "quetzle-2016": "quetzle-2016",
}
# Diary rows as stated in fixtures/letterboxd/SOURCES.md.
DIARY_ROWS_IN_SOURCES = {
    "afelka": 2587,
    "choicehoney-zip": 513,
    "countingthedots": 684,
    "extratone": 317,
    "fsanchez83": 6686,
    "guilhermelmoraes-semicolon": 477,
    "melvincarvalho": 59,
    "patrickmjones": 2132,
    "quetzle-2016": 63,
}
SEMICOLON_EXPORTS = {"guilhermelmoraes-semicolon"}


def upload_path(export: str) -> Path:
    return LETTERBOXD_FIXTURES / EXPORTS[export]


@dataclass(frozen=True)
class CsvFile:
    text: str
    records: list[dict[str, str]]  # header name -> field


@cache
def root_files(export: str) -> dict[str, CsvFile]:
    """The root diary/watched/ratings/reviews csv of an export, read with the csv module."""
    path = upload_path(export)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            texts = {name: archive.read(name).decode("utf-8") for name in archive.namelist() if name in ROOT_FILES}
    else:
        texts = {name: (path / name).read_text(encoding="utf-8") for name in ROOT_FILES if (path / name).exists()}
    delimiter = ";" if export in SEMICOLON_EXPORTS else ","
    return {
        name: CsvFile(text, list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)))
        for name, text in texts.items()
    }


def film_pairs(export: str) -> set[tuple[str, str]]:
    """Distinct (Name, Year) over the root files, Year as the exported string."""
    return {(record["Name"], record["Year"]) for file in root_files(export).values() for record in file.records}

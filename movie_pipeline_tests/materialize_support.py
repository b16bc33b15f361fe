"""What tests drop before an in-process materialization, and what they read back from it."""

from pathlib import Path

import dagster as dg

TWO_FILM_DIARY = (
    "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n"
    "2024-01-02,Heat,1995,https://boxd.it/a1,4.5,,,2024-01-01\n"
    "2024-01-03,Alien,1979,https://boxd.it/a2,4,,,2024-01-02\n"
)


def drop_two_film_diary(data_dir: Path) -> Path:
    """A lone diary.csv of two well-known films in the uploads folder."""
    diary = data_dir / "uploads" / "diary.csv"
    diary.write_text(TWO_FILM_DIARY, encoding="utf-8")
    return diary


def metadata_of(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    """The metadata values of the one materialization of `asset` in `result`."""
    (event,) = result.asset_materializations_for_node(asset)
    return {name: value.value for name, value in event.metadata.items()}

"""overrides.csv: the user's own answer to "which TMDB film is this?", which beats any search.

Columns: `tmdb_id`, and either `letterboxd_uri` or `name` (+ `year`) to say which film; other columns (a note,
say) are ignored. A row with a URI matches by URI; otherwise by name (compared like titles are) and year.
"""

import csv
from dataclasses import dataclass
from pathlib import Path

from movie_pipeline.tmdb.matching import normalize_title


class OverridesError(ValueError):
    """overrides.csv cannot be used as it is; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class Override:
    tmdb_id: int
    line: int  # physical line in overrides.csv (header = 1), for reasons and errors
    letterboxd_uri: str | None = None
    name: str | None = None
    year: int | None = None

    @property
    def reason(self) -> str:
        return f"pinned to TMDB {self.tmdb_id} by overrides.csv line {self.line}"


class Overrides:
    """Overrides looked up by Letterboxd URI first, then by (name, year)."""

    def __init__(self, rows: list[Override] | tuple[Override, ...] = ()):
        self.rows = tuple(rows)
        self._by_uri = {_uri_key(row.letterboxd_uri): row for row in self.rows if row.letterboxd_uri}
        self._by_name = {
            (normalize_title(row.name), row.year): row for row in self.rows if row.name and not row.letterboxd_uri
        }

    def __len__(self) -> int:
        return len(self.rows)

    def find(self, name: str, year: int | None, letterboxd_uri: str | None) -> Override | None:
        if letterboxd_uri and _uri_key(letterboxd_uri) in self._by_uri:
            return self._by_uri[_uri_key(letterboxd_uri)]
        return self._by_name.get((normalize_title(name), year))


def read_overrides(path: Path) -> Overrides:
    """The overrides in `path`; no file means no overrides."""
    if not path.exists():
        return Overrides()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = [column.strip().casefold() for column in next(reader, [])]
        _check_header(path, header)
        rows = []
        for record in reader:
            if any(field.strip() for field in record):
                rows.append(_override(path, reader.line_num, header, record))
    _check_conflicts(path, rows)
    return Overrides(rows)


def _check_header(path: Path, header: list[str]) -> None:
    if "tmdb_id" not in header or not {"letterboxd_uri", "name"} & set(header):
        raise OverridesError(
            f"{path}, line 1: the header is {','.join(header) or '(empty)'}; it needs a tmdb_id column and a "
            f"letterboxd_uri or name column (name may come with year), e.g. `letterboxd_uri,name,year,tmdb_id`."
        )


def _override(path: Path, line: int, header: list[str], record: list[str]) -> Override:
    where = f"{path}, line {line}"
    if len(record) != len(header):
        raise OverridesError(
            f"{where}: {len(record)} fields where the header has {len(header)}; quote fields that hold commas."
        )
    fields = dict(zip(header, record, strict=True))
    uri = (fields.get("letterboxd_uri") or "").strip() or None
    name = (fields.get("name") or "").strip() or None
    year = (fields.get("year") or "").strip() or None
    if uri is None and name is None:
        raise OverridesError(f"{where}: say which film with a letterboxd_uri or a name (and year).")
    return Override(
        tmdb_id=_whole_number(where, "tmdb_id", fields.get("tmdb_id")),
        line=line,
        letterboxd_uri=uri,
        name=name,
        year=None if year is None else _whole_number(where, "year", year),
    )


def _whole_number(where: str, column: str, raw: str | None) -> int:
    text = (raw or "").strip()
    if not text.isdigit() or int(text) <= 0:
        hint = " (the number in the film's TMDB address, themoviedb.org/movie/<tmdb_id>)" if column == "tmdb_id" else ""
        raise OverridesError(f"{where}: {column} is {text!r}, not a positive whole number{hint}.")
    return int(text)


def _check_conflicts(path: Path, rows: list[Override]) -> None:
    seen: dict[object, Override] = {}
    for row in rows:
        key = _uri_key(row.letterboxd_uri) if row.letterboxd_uri else (normalize_title(row.name or ""), row.year)
        earlier = seen.setdefault(key, row)
        if earlier is not row and earlier.tmdb_id != row.tmdb_id:
            raise OverridesError(
                f"{path}, line {row.line}: the same film as line {earlier.line} but TMDB {row.tmdb_id} instead of "
                f"{earlier.tmdb_id}; keep one of the two lines."
            )


def _uri_key(uri: str | None) -> str:
    # Letterboxd short links (boxd.it/AbC) are case-sensitive, so only the decoration is dropped.
    text = (uri or "").strip().rstrip("/")
    return text.split("://", 1)[-1]

"""overrides.csv: the user's own answer to "which TMDB film is this?", which beats any search.

Columns: `tmdb_id`, and either `letterboxd_uri` or `name` (+ `year`) to say which film; an optional `media_type`
(`movie`, the default, or `tv`) says which kind of TMDB entry the id names; other columns (a note, say) are ignored.
A row with a URI matches by URI; otherwise by name (compared like titles are) and year.

The file is edited by hand while the pipeline runs, so reading it never fails: a line that cannot be used is left
out and reported as a problem naming its line, what is wrong and what to do; the other lines still apply. Of two
lines for one film the first is used. Whether TMDB knows an id can only be told by asking it: enrichment then
stores the film as not found, with a reason naming the line (matches.html lists it), instead of falling back to a
search guess the line was written to overrule.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from movie_pipeline.tmdb.matching import normalize_title
from movie_pipeline.tmdb.statuses import MediaType

COLUMNS = ("letterboxd_uri", "name", "year", "tmdb_id", "media_type")  # the header of a new overrides.csv


@dataclass(frozen=True)
class OverrideProblem:
    """A line of overrides.csv that was left out, and why."""

    path: Path
    line: int  # physical line (header = 1)
    message: str  # what is wrong and what to do

    def __str__(self) -> str:
        return f"{self.path}, line {self.line}: {self.message}"


@dataclass(frozen=True)
class Override:
    tmdb_id: int
    line: int  # physical line in overrides.csv (header = 1), for reasons and problems
    letterboxd_uri: str | None = None
    name: str | None = None
    year: int | None = None
    media_type: MediaType = MediaType.MOVIE

    @property
    def film(self) -> str:
        """Which film the line pins, as one comparable string (see film_keys)."""
        return _uri_film(self.letterboxd_uri) if self.letterboxd_uri else _name_film(self.name or "", self.year)

    @property
    def pin(self) -> str:
        """What the line pins the film to, e.g. `movie/949` or `tv/1396`."""
        return f"{self.media_type}/{self.tmdb_id}"

    @property
    def reason(self) -> str:
        kind = "" if self.media_type == MediaType.MOVIE else f"{self.media_type.upper()} "
        return f"pinned to TMDB {kind}{self.tmdb_id} by overrides.csv line {self.line}"


class Overrides:
    """Overrides looked up by Letterboxd URI first, then by (name, year); with the problems of the lines left out."""

    def __init__(
        self,
        rows: Sequence[Override] = (),
        problems: Sequence[OverrideProblem] = (),
        columns: Sequence[str] = COLUMNS,
        *,
        readable: bool = True,
    ):
        self.rows = tuple(rows)
        self.readable = readable  # False when no line could be used at all: no usable header, or no file access
        self.columns = tuple(columns)  # the file's header when usable: new lines must follow it
        self.problems: tuple[OverrideProblem, ...] = tuple(problems)
        self._by_uri = {_uri_film(row.letterboxd_uri): row for row in self.rows if row.letterboxd_uri}
        self._by_name = {
            _name_film(row.name, row.year): row for row in self.rows if row.name and not row.letterboxd_uri
        }

    def __len__(self) -> int:
        return len(self.rows)

    def find(self, name: str, year: int | None, letterboxd_uri: str | None) -> Override | None:
        if letterboxd_uri and _uri_film(letterboxd_uri) in self._by_uri:
            return self._by_uri[_uri_film(letterboxd_uri)]
        return self._by_name.get(_name_film(name, year))

    def pins(self) -> dict[str, str]:
        """Override.film -> Override.pin for every line in use: two readings differ for a film where these do."""
        return {row.film: row.pin for row in self.rows}


def film_keys(name: str, year: int | None, letterboxd_uri: str | None) -> tuple[str, ...]:
    """The Override.film values a line could have to pin this film."""
    by_name = _name_film(name, year)
    return (_uri_film(letterboxd_uri), by_name) if letterboxd_uri else (by_name,)


def override_line(
    columns: Sequence[str],
    *,
    tmdb_id: int | str,
    media_type: str,
    name: str,
    year: int | None,
    letterboxd_uri: str | None,
) -> str:
    """One overrides.csv line in the order of `columns` (the file's header) pinning the film to `tmdb_id`."""
    values = {
        "letterboxd_uri": letterboxd_uri or "",
        "name": name,
        "year": "" if year is None else str(year),
        "tmdb_id": str(tmdb_id),
        "media_type": media_type,
    }
    text = io.StringIO()
    csv.writer(text, lineterminator="").writerow([values.get(column, "") for column in columns])
    return text.getvalue()


def read_overrides(path: Path) -> Overrides:
    """The usable overrides in `path`, and a problem for each line left out; no file means no overrides."""
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except FileNotFoundError:
        return Overrides()
    except OSError as error:
        problem = OverrideProblem(path, 1, f"cannot be read ({error.strerror}); no line is used.")
        return Overrides(problems=[problem], readable=False)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[Override] = []
    problems: list[OverrideProblem] = []
    header: list[str] = []
    try:
        header = [column.strip().casefold() for column in next(reader, [])]
        header_problem = _header_problem(header)
        if header_problem:
            return Overrides(problems=[OverrideProblem(path, 1, header_problem)], readable=False)
        for record in reader:
            if not any(field.strip() for field in record):
                continue
            try:
                rows.append(_override(reader.line_num, header, record))
            except _BadLine as bad:
                problems.append(OverrideProblem(path, reader.line_num, str(bad)))
    except csv.Error as error:  # e.g. a field over the csv module's size limit: the lines before it still apply
        problems.append(OverrideProblem(path, reader.line_num, f"{error}; no later line is used until it is fixed."))
    kept, conflicts = _without_conflicts(rows)
    problems += [OverrideProblem(path, line, message) for line, message in conflicts]
    return Overrides(kept, sorted(problems, key=lambda problem: problem.line), header or COLUMNS)


class _BadLine(ValueError):
    pass


def _header_problem(header: list[str]) -> str | None:
    if "tmdb_id" in header and {"letterboxd_uri", "name"} & set(header):
        return None
    return (
        f"the header is {','.join(header) or '(empty)'}; it needs a tmdb_id column and a letterboxd_uri or name "
        f"column (name may come with year, media_type is optional), e.g. `letterboxd_uri,name,year,tmdb_id`; "
        f"no line of the file is used until it has one."
    )


def _override(line: int, header: list[str], record: list[str]) -> Override:
    if len(record) != len(header):
        raise _BadLine(f"{len(record)} fields where the header has {len(header)}; quote fields that hold commas.")
    fields = {column: value.strip() for column, value in zip(header, record, strict=True)}
    uri = fields.get("letterboxd_uri") or None
    name = fields.get("name") or None
    year = fields.get("year") or None
    if uri is None and name is None:
        raise _BadLine("say which film with a letterboxd_uri or a name (and year).")
    media_type = _media_type(fields.get("media_type") or MediaType.MOVIE)
    return Override(
        tmdb_id=_whole_number("tmdb_id", fields.get("tmdb_id"), media_type),
        line=line,
        letterboxd_uri=uri,
        name=name,
        year=None if year is None else _whole_number("year", year, media_type),
        media_type=media_type,
    )


def _media_type(text: str) -> MediaType:
    try:
        return MediaType(text.casefold())
    except ValueError:
        kinds = " or ".join(kind.value for kind in MediaType)
        raise _BadLine(f"media_type is {text!r}; write {kinds} (empty means movie).") from None


def _whole_number(column: str, raw: str | None, media_type: MediaType) -> int:
    text = (raw or "").strip()
    if not text.isdigit() or int(text) <= 0:
        address = (
            f" (the number in the TMDB address, themoviedb.org/{media_type}/<tmdb_id>)" if column == "tmdb_id" else ""
        )
        raise _BadLine(f"{column} is {text!r}, not a positive whole number{address}.")
    return int(text)


def _without_conflicts(rows: list[Override]) -> tuple[list[Override], list[tuple[int, str]]]:
    """The first line for each film wins, so adding a line never changes a pin already in use."""
    first: dict[str, Override] = {}
    conflicts: list[tuple[int, str]] = []
    for row in rows:
        earlier = first.setdefault(row.film, row)
        if earlier is not row and earlier.pin != row.pin:
            conflicts.append(
                (
                    row.line,
                    f"the same film as line {earlier.line} but TMDB {row.pin} instead of {earlier.pin}; "
                    f"line {earlier.line} is used: keep one of the two lines.",
                )
            )
    kept = [row for row in rows if first[row.film] is row]
    return kept, conflicts


def _uri_film(uri: str | None) -> str:
    # Letterboxd short links (boxd.it/AbC) are case-sensitive, so only the decoration is dropped.
    text = (uri or "").strip().rstrip("/")
    return "uri:" + text.split("://", 1)[-1]


def _name_film(name: str, year: int | None) -> str:
    return f"name:{normalize_title(name)}|{'' if year is None else year}"

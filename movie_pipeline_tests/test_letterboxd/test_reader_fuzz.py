"""Hypothesis writes the diary, so the test knows every record: each valid one must come out as an
entry at its line, each broken one as a quarantine row with its reason, and nothing but an upload
error may ever be raised."""

import csv
import io
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from movie_pipeline.letterboxd.errors import UploadError
from movie_pipeline.letterboxd.parse import parse_export
from movie_pipeline.letterboxd.reader import open_upload, read_raw_rows

HEADER = ["Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Tags", "Watched Date"]
LINE_BREAK = re.compile(r"\r\n|\r|\n")
FUZZ = settings(max_examples=150, deadline=None, derandomize=True)

tricky_titles = st.sampled_from(
    ['Say "Anything"', "Dune, Part Two", "one\ntwo", "cr\ronly", "crlf\r\nend", '"', '""', ",", "a;b\tc", " padded "]
)
any_titles = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=20)
# Not blank by any definition of white space: a title of only white space is a broken record.
titles = st.one_of(tricky_titles, any_titles).filter(lambda title: any(not c.isspace() for c in title))
dates = st.dates().filter(lambda day: day.year >= 1000).map(lambda day: day.isoformat())


@dataclass(frozen=True)
class Record:
    fields: list[str]
    reason: str | None  # a text the quarantine reason must contain; None for a valid record
    unclosed: bool = False  # written by hand with a quote that never closes


@st.composite
def valid_records(draw, index: int) -> Record:
    fields = [
        draw(dates),
        draw(titles),
        draw(st.one_of(st.just(""), st.integers(1870, 2100).map(str))),
        f"https://boxd.it/{index}",
        draw(st.sampled_from(["", "0.5", "1", "2.5", "4", "5"])),
        draw(st.sampled_from(["", "Yes"])),
        draw(st.sampled_from(["", "a24", "a24, in-theaters"])),
        draw(st.one_of(st.just(""), dates)),
    ]
    return Record(fields, None)


@st.composite
def records(draw, index: int) -> Record:
    record = draw(valid_records(index))
    kind = draw(st.sampled_from(["valid", "valid", "valid", "field count", "rating", "blank title"]))
    if kind == "field count":
        count = draw(st.integers(1, 12).filter(lambda n: n != len(HEADER)))
        fields = (record.fields * 2)[:count]
        return Record(fields, f"{count} fields where the header has {len(HEADER)}")
    if kind == "rating":
        return Record([*record.fields[:4], "7", *record.fields[5:]], "Rating '7' is not 0.5 to 5 in half steps")
    if kind == "blank title":
        blank = draw(st.text(st.sampled_from(" \t"), min_size=1, max_size=4))
        return Record([record.fields[0], blank, *record.fields[2:]], "Name is blank")
    return record


@st.composite
def diaries(draw) -> tuple[list[Record], list[str], str, str]:
    count = draw(st.integers(0, 12))
    written = [draw(records(index)) for index in range(count)]
    if draw(st.booleans()):
        written.append(Record(["2024-01-01", "Unclosed,2016,https://boxd.it/u,,,,"], "a quote opened on line", True))
    endings = [draw(st.sampled_from(["\r\n", "\n", "\r"])) for _ in range(len(written) + 1)]
    return (
        written,
        endings,
        draw(st.sampled_from([",", ";", "\t"])),
        draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])),
    )


def _line(fields: list[str], delimiter: str) -> str:
    # "\r\n" as terminator makes the writer quote any field holding either character.
    stream = io.StringIO()
    csv.writer(stream, delimiter=delimiter, lineterminator="\r\n").writerow(fields)
    return stream.getvalue().removesuffix("\r\n")


def _text(written: list[Record], endings: list[str], delimiter: str) -> tuple[str, list[int]]:
    """The file's text and each record's first line, counted by construction."""
    text = _line(HEADER, delimiter) + endings[0]
    lines = []
    for record, ending in zip(written, endings[1:], strict=True):
        lines.append(len(LINE_BREAK.findall(text)) + 1)
        if record.unclosed:
            text += delimiter.join(record.fields[:1]) + delimiter + '"' + record.fields[1] + ending
        else:
            text += _line(record.fields, delimiter) + ending
    return text, lines


def _read_and_parse(data: bytes, name: str = "diary.csv"):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        raw = read_raw_rows(open_upload(path)).rows
    return raw, parse_export(raw)


@FUZZ
@given(diaries())
def test_every_written_record_is_an_entry_or_quarantined_with_its_reason(diary):
    written, endings, delimiter, encoding = diary
    text, lines = _text(written, endings, delimiter)

    raw, parsed = _read_and_parse(text.encode(encoding))

    valid = [(line, record) for line, record in zip(lines, written, strict=True) if record.reason is None]
    broken = [(line, record) for line, record in zip(lines, written, strict=True) if record.reason is not None]
    assert raw["line"].to_list() == lines
    assert parsed.entries.select("line", "name").rows() == [(line, record.fields[1]) for line, record in valid]
    reasons = dict(parsed.quarantine.select("line", "reason").iter_rows())
    assert sorted(reasons) == [line for line, _ in broken]
    for line, record in broken:
        assert record.reason in reasons[line]
        if record.unclosed:
            assert f"line {line}" in reasons[line]


@FUZZ
@given(st.one_of(st.binary(max_size=400), st.text(st.sampled_from('ab1,;"\t\r\n\x00é '), max_size=400).map(str.encode)))
def test_any_bytes_after_a_header_are_read_or_refused_with_an_upload_error(tail):
    data = _line(HEADER, ",").encode() + b"\n" + tail
    try:
        raw, parsed = _read_and_parse(data)
    except UploadError:
        return
    diary_quarantined = parsed.quarantine.filter(parsed.quarantine["source_file"] == "diary.csv").height
    assert parsed.entries.height + diary_quarantined == raw.height
    assert raw["line"].is_sorted()
    assert raw.height == 0 or raw["line"].min() >= 2

"""Time and memory of reading + parsing a Letterboxd diary: the real fsanchez83 diary (6,686 rows)
and a synthetic 100,000-row diary written to a temp folder.

Run: .venv/bin/python benchmarks/bench_parse.py
Prints a table against a naive baseline (csv.DictReader and a per-row Python loop applying the same
rules). Each measurement runs in a fresh child process, so peak RSS (Linux VmHWM) is that run's own.
Target: 100,000 rows read and parsed in under 1 s.
"""

import csv
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from measure import best_of, peak_rss_mib, reset_peak_rss_mib

from movie_pipeline.letterboxd.parse import parse_export
from movie_pipeline.letterboxd.reader import open_upload, read_raw_rows

FIXTURE_EXPORT = (
    Path(__file__).resolve().parent.parent / "movie_pipeline_tests" / "fixtures" / "letterboxd" / "fsanchez83"
)
SYNTHETIC_ROWS = 100_000
REPEATS = 3
TARGET_SECONDS = 1.0
HEADER = ["Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Tags", "Watched Date"]
RATINGS = ["", "", "", "0.5", "1", "1.5", "2", "2.5", "3", "3", "3.5", "3.5", "4", "4", "4.5", "5"]
TAGS = [
    "",
    "",
    "",
    "on-netflix",
    "in-theaters",
    "a24, in-theaters",
    "criterion-collection, on-bd",
    "rewatch, with-friends",
]


def pipeline(export_dir: Path) -> int:
    parsed = parse_export(read_raw_rows(open_upload(export_dir)).rows)
    return parsed.entries.height


def baseline(export_dir: Path) -> int:
    """The same diary rules, one row at a time in plain Python."""
    entries, quarantined, seen = [], [], set()
    films: dict[tuple[str, int | None], str] = {}  # (name, year) -> film_key
    with open(export_dir / "diary.csv", newline="", encoding="utf-8") as stream:
        for line, row in enumerate(csv.DictReader(stream), start=2):
            reason = _baseline_reason(row)
            identity = row["Letterboxd URI"] or (
                row["Name"],
                row["Year"],
                row["Watched Date"],
                row["Date"],
                row["Rating"],
            )
            if reason is None and identity in seen:
                reason = "duplicate"
            if reason is not None:
                quarantined.append((line, reason))
                continue
            seen.add(identity)
            year = int(row["Year"]) if row["Year"] else None
            key = films.setdefault(
                (row["Name"], year), hashlib.sha1(f"{row['Name']}\x1f{year or ''}".encode()).hexdigest()[:16]
            )
            logged = date.fromisoformat(row["Date"]) if row["Date"] else None
            entries.append(
                {
                    "line": line,
                    "film_key": key,
                    "name": row["Name"],
                    "year": year,
                    "logged_date": logged,
                    "watched_date": date.fromisoformat(row["Watched Date"]) if row["Watched Date"] else logged,
                    "rating": float(row["Rating"]) if row["Rating"] else None,
                    "rewatch": row.get("Rewatch") == "Yes",
                    "tags": row["Tags"].split(", ") if row["Tags"] else [],
                }
            )
    return len(entries)


def _baseline_reason(row: dict[str, str]) -> str | None:
    if not row["Name"]:
        return "Name is empty"
    if row["Year"] and not (row["Year"].isdigit() and 1870 <= int(row["Year"]) <= 2100):
        return "bad Year"
    for column in ("Date", "Watched Date"):
        try:
            if row[column]:
                date.fromisoformat(row[column])
        except ValueError:
            return f"bad {column}"
    if not row["Date"] and not row["Watched Date"]:
        return "no dates"
    if row["Rating"] and not (
        row["Rating"].replace(".", "", 1).isdigit() and (float(row["Rating"]) * 2) in range(1, 11)
    ):
        return "bad Rating"
    if row.get("Rewatch") not in (None, "", "Yes"):
        return "bad Rewatch"
    return None


def write_synthetic_diary(folder: Path, rows: int, seed: int = 1) -> None:
    """Realistic rows: real titles (commas, quotes, accents) from the fixture, repeats, blanks, tags."""
    rng = random.Random(seed)
    with open(FIXTURE_EXPORT / "diary.csv", newline="", encoding="utf-8") as stream:
        titles = [(row["Name"], row["Year"]) for row in csv.DictReader(stream)]
    first_day = date(2012, 1, 1)
    with open(folder / "diary.csv", "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(HEADER)
        for index in range(rows):
            name, year = rng.choice(titles)
            watched = first_day + timedelta(days=rng.randrange(12 * 365))
            logged = watched + timedelta(days=rng.choice([0, 0, 0, 1, 2, 30]))
            writer.writerow(
                [
                    logged.isoformat(),
                    name,
                    year,
                    f"https://boxd.it/{index + 1_000_000:x}",
                    rng.choice(RATINGS),
                    "Yes" if rng.random() < 0.1 else "",
                    rng.choice(TAGS),
                    watched.isoformat(),
                ]
            )


def measure(method: str, export_dir: Path) -> dict[str, float]:
    """Runs in the child process: best wall time of REPEATS, and the peak RSS growth over them."""
    run: Callable[[Path], int] = {"pipeline": pipeline, "baseline": baseline}[method]
    before = reset_peak_rss_mib()
    seconds = best_of(REPEATS, lambda: run(export_dir))
    return {"seconds": seconds, "peak_mib": peak_rss_mib() - before}


def _in_child(method: str, export_dir: Path) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, __file__, "--measure", method, str(export_dir)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},  # import movie_pipeline as this process does
    ).stdout
    return json.loads(output)


def main() -> None:
    with tempfile.TemporaryDirectory() as temp:
        synthetic = Path(temp)
        write_synthetic_diary(synthetic, SYNTHETIC_ROWS)
        print(f"read + parse, best of {REPEATS}; peak = RSS growth in a fresh process; {os.cpu_count()} cores\n")
        print("| case | rows | pipeline s | baseline s | speed-up | pipeline peak MiB | baseline peak MiB |")
        print("|---|--:|--:|--:|--:|--:|--:|")
        for label, export_dir in [("fsanchez83 diary (real)", FIXTURE_EXPORT), ("synthetic diary", synthetic)]:
            rows = baseline(export_dir)
            ours, naive = _in_child("pipeline", export_dir), _in_child("baseline", export_dir)
            cells = [
                label,
                f"{rows:,}",
                f"{ours['seconds']:.3f}",
                f"{naive['seconds']:.3f}",
                f"{naive['seconds'] / ours['seconds']:.1f}x",
                f"{ours['peak_mib']:.0f}",
                f"{naive['peak_mib']:.0f}",
            ]
            print("| " + " | ".join(cells) + " |")
        verdict = "met" if ours["seconds"] < TARGET_SECONDS else "MISSED"
        print(f"\ntarget: {SYNTHETIC_ROWS:,} rows in under {TARGET_SECONDS:.0f} s: {verdict} ({ours['seconds']:.3f} s)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(sys.argv[2], Path(sys.argv[3]))))
    else:
        main()

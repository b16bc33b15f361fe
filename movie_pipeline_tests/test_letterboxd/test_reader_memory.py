"""Uploads built to exhaust memory are refused before they are read, checked in a child process
under an address-space limit so a regression fails the test instead of taking the machine."""

import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

from movie_pipeline_tests.test_letterboxd.real_exports import root_files, upload_path

BOMB_BYTES = 1 << 30  # 1 GiB of diary rows once inflated
BLOCK_BYTES = 1 << 20  # the repeated unit
# Address space allowed above what the child holds once everything is imported. Reading the largest
# real export (fsanchez83) peaks at about 0.5 GiB above it, mostly polars' thread arenas; inflating
# the bomb needs at least 2 GiB (its bytes, then its text).
READ_HEADROOM_BYTES = 1 << 30

_READ_UNDER_LIMIT = """
import json, resource, sys
from pathlib import Path
from movie_pipeline.letterboxd.errors import UploadError
from movie_pipeline.letterboxd.reader import open_upload, read_raw_rows

def vm_kib(field):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(field + ":"))

limit = vm_kib("VmSize") * 1024 + int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    rows = read_raw_rows(open_upload(Path(sys.argv[1]))).rows.height
    print(json.dumps({"rows": rows}))
except UploadError as error:
    print(json.dumps({"error": type(error).__name__, "message": str(error)}))
"""


def _read_in_limited_child(path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _READ_UNDER_LIMIT, str(path), str(READ_HEADROOM_BYTES)],
        capture_output=True,
        check=False,  # the assertion below shows the child's traceback
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "POLARS_MAX_THREADS": "2"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


HEADER = b"Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\r\n"


def _rows_block() -> bytes:
    """About 1 MiB of whole diary rows; 64 distinct films keep it highly compressible."""
    rows = b"".join(b"2024-01-02,Arrival,2016,https://boxd.it/%04d,4.5,,,2024-01-01\r\n" % n for n in range(64))
    return rows * (BLOCK_BYTES // len(rows))


def write_zip_bomb(path: Path) -> int:
    """One diary.csv member of about BOMB_BYTES, written without compressing a gigabyte: after a
    full flush the compressor starts afresh, so the compressed block can be repeated as is.
    Returns the member's inflated size."""
    block = _rows_block()
    copies = BOMB_BYTES // len(block)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(HEADER) + compressor.flush(zlib.Z_FULL_FLUSH)
    segment = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    final = compressor.flush()
    size = len(HEADER) + len(block) * copies
    crc = zlib.crc32(HEADER)
    for _ in range(copies):
        crc = zlib.crc32(block, crc)
    compressed_size = len(head) + len(segment) * copies + len(final)
    name = b"diary.csv"
    # Version 2.0, no flags, deflate, no time; sizes fit 32 bits, so no zip64 records.
    common = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0, crc, compressed_size, size)
    with path.open("wb") as stream:
        stream.write(b"PK\x03\x04" + common + struct.pack("<HH", len(name), 0) + name + head)
        for _ in range(copies):
            stream.write(segment)
        stream.write(final)
        directory_at = stream.tell()
        stream.write(
            b"PK\x01\x02" + struct.pack("<H", 20) + common + struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0, 0) + name
        )
        directory_size = stream.tell() - directory_at
        stream.write(b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, directory_size, directory_at, 0))
    return size


def test_the_bomb_is_a_small_zip_of_one_gigabyte_of_diary_rows(tmp_path):
    bomb = tmp_path / "letterboxd-bomb-2026-01-01.zip"
    size = write_zip_bomb(bomb)

    with zipfile.ZipFile(bomb) as archive:
        (info,) = archive.infolist()
        with archive.open(info) as member:
            head = member.read(len(HEADER) + 2 * len(_rows_block()))
    assert bomb.stat().st_size < 8 << 20
    assert info.file_size == size > BOMB_BYTES - BLOCK_BYTES
    assert head == HEADER + _rows_block() * 2


def test_a_real_export_reads_under_the_memory_limit():
    records = sum(len(file.records) for file in root_files("fsanchez83").values())

    assert _read_in_limited_child(upload_path("fsanchez83")) == {"rows": records}


def test_a_zip_bomb_is_refused_under_the_memory_limit(tmp_path):
    bomb = tmp_path / "letterboxd-bomb-2026-01-01.zip"
    write_zip_bomb(bomb)

    outcome = _read_in_limited_child(bomb)

    assert outcome["error"] == "ZipOverLimit", outcome
    assert outcome["message"].startswith("letterboxd-bomb-2026-01-01.zip")


def test_a_link_to_dev_zero_is_refused_under_the_memory_limit(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "diary.csv").symlink_to("/dev/zero")

    outcome = _read_in_limited_child(folder)

    assert outcome["error"] == "LinkOutsideExport", outcome
    assert "/dev/zero" in outcome["message"]

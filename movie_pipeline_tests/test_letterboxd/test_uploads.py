"""Upload identity: keys from content, safe names, finding an upload again by its key."""

import hashlib
import io
import os
import re
import shutil
import socket
import zipfile

import pytest

from movie_pipeline.letterboxd.errors import NotAFileOrFolder, UndecodableName, UploadNotFound
from movie_pipeline.letterboxd.uploads import (
    content_sha256,
    find_upload,
    is_candidate,
    printable_name,
    require_utf8_name,
    safe_name,
    upload_entries,
    upload_key,
    visible_files,
    zip_directory_is_whole,
)
from movie_pipeline_tests.test_letterboxd.real_exports import upload_path

KEY_PATTERN = re.compile(r"[a-z0-9_-]{1,60}-[0-9a-f]{12}")


def test_file_hash_is_sha256_of_its_bytes():
    path = upload_path("choicehoney-zip")

    assert content_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_bytes_dropped_twice_give_the_same_key(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        shutil.copy(upload_path("choicehoney-zip"), folder)
    name = upload_path("choicehoney-zip").name
    renamed = tmp_path / "renamed.zip"
    shutil.copy(upload_path("choicehoney-zip"), renamed)

    assert (
        upload_key(first / name)
        == upload_key(second / name)
        == "letterboxd-choicehoney-2026-01-02-" + hashlib.sha256(renamed.read_bytes()).hexdigest()[:12]
    )
    assert upload_key(renamed).endswith(upload_key(first / name)[-12:])


def test_folder_hash_does_not_depend_on_where_the_folder_is(tmp_path):
    here = shutil.copytree(upload_path("melvincarvalho"), tmp_path / "here" / "melvincarvalho")
    there = shutil.copytree(upload_path("melvincarvalho"), tmp_path / "deep" / "er" / "melvincarvalho")
    (there / ".DS_Store").write_bytes(b"finder noise")

    assert content_sha256(here) == content_sha256(there) == content_sha256(upload_path("melvincarvalho"))
    assert upload_key(here) == upload_key(there)


def test_folder_hash_changes_with_any_file(tmp_path):
    folder = shutil.copytree(upload_path("melvincarvalho"), tmp_path / "melvincarvalho")
    before = content_sha256(folder)
    (folder / "deleted" / "diary.csv").write_bytes((folder / "deleted" / "diary.csv").read_bytes() + b"\n")
    edited = content_sha256(folder)
    (folder / "deleted" / "diary.csv").rename(folder / "deleted" / "diary2.csv")

    assert len({before, edited, content_sha256(folder)}) == 3


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("letterboxd-choicehoney-2026-01-02-16-58-utc.zip", "letterboxd-choicehoney-2026-01-02-16-58-utc"),
        ("My Diary (1).csv", "my-diary-1"),
        ("Ñandú  --  export.csv", "nandu-export"),
        ("some_user.csv", "some_user"),
        ("...csv", "upload"),
        ("日本語.zip", "upload"),
        ("a\x00b\nc.csv", "a-b-c"),
        ("x" * 80 + ".zip", "x" * 60),
    ],
)
def test_safe_name(tmp_path, name, expected):
    assert safe_name(tmp_path / name) == expected


@pytest.mark.parametrize("name", ["...csv", "a..b...zip", "\x07bell.csv", "-_-.csv", "A" * 200 + ".zip", "ÅÄÖ.csv"])
def test_keys_use_safe_characters_only(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"PK")
    key = upload_key(path)

    assert KEY_PATTERN.fullmatch(key)
    assert "..." not in key and len(key) <= 73


def test_find_upload_by_key(tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    zip_path = uploads / upload_path("choicehoney-zip").name
    shutil.copy(upload_path("choicehoney-zip"), zip_path)
    folder = shutil.copytree(upload_path("afelka"), uploads / "afelka")
    (uploads / "notes.txt").write_text("not an upload")

    assert find_upload(uploads, upload_key(zip_path)) == zip_path
    assert find_upload(uploads, upload_key(folder)) == folder


def test_find_upload_of_an_edited_file_fails_with_advice(tmp_path):
    path = tmp_path / "diary.csv"
    path.write_text("Date,Name,Year\n")
    key = upload_key(path)
    path.write_text("Date,Name,Year\n2024-01-01,Her,2013\n")

    with pytest.raises(UploadNotFound) as raised:
        find_upload(tmp_path, key)
    assert str(raised.value).startswith(f"{tmp_path}: no upload there has the key {key!r}; ")
    assert "drop it again" in str(raised.value)


def test_find_upload_in_a_missing_folder(tmp_path):
    with pytest.raises(UploadNotFound):
        find_upload(tmp_path / "nowhere", "x-000000000000")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("letterboxd-me-2026-01-02-16-58-utc.zip", True),
        ("diary.csv", True),
        ("DIARY.CSV", True),
        ("notes.txt", False),
        (".hidden.zip", False),
        ("export.zip.part", False),
        ("export.zip.crdownload", False),
        ("diary.csv.tmp", False),
        ("export.zip.download", False),
    ],
)
def test_is_candidate_file(tmp_path, name, expected):
    path = tmp_path / name
    path.write_bytes(b"x")

    assert is_candidate(path) is expected


def test_is_candidate_folder(tmp_path):
    (tmp_path / "export").mkdir()
    (tmp_path / ".git").mkdir()

    assert is_candidate(tmp_path / "export")
    assert not is_candidate(tmp_path / ".git")


@pytest.mark.timeout(10)
def test_hashing_a_fifo_refuses_it_without_blocking(tmp_path):
    # content_sha256 is called after a stat said "file": a FIFO swapped in since must not block the open.
    os.mkfifo(tmp_path / "diary.csv")

    with pytest.raises(
        NotAFileOrFolder, match=r"^diary.csv: it is a named pipe \(FIFO\), not a file or folder; remove it"
    ):
        content_sha256(tmp_path / "diary.csv")


def test_a_top_level_link_is_refused_naming_its_target(tmp_path):
    (tmp_path / "export.zip").symlink_to("/dev/zero")

    with pytest.raises(
        NotAFileOrFolder, match=r"^export\.zip: it is a symbolic link to '/dev/zero', not a file or folder"
    ):
        upload_key(tmp_path / "export.zip")


def test_a_top_level_name_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / os.fsdecode(b"caf\xe9.csv")
    path.write_bytes(b"Date,Name,Year\n")

    with pytest.raises(UndecodableName, match=r"^caf\\xe9.csv: its name is not valid UTF-8; rename it"):
        require_utf8_name(path)
    require_utf8_name(tmp_path / "Ñandú.csv")


@pytest.mark.parametrize(
    "make_special",
    [
        lambda path: os.mkfifo(path),
        lambda path: socket.socket(socket.AF_UNIX).bind(str(path)),
        lambda path: os.mknod(path, 0o600 | 0o020000, os.makedev(1, 5)),  # a character device, like /dev/zero
    ],
    ids=["fifo", "socket", "device"],
)
def test_a_special_file_inside_a_folder_refuses_the_folder_naming_it(tmp_path, make_special):
    folder = shutil.copytree(upload_path("melvincarvalho"), tmp_path / "melvin")
    make_special(folder / "deleted" / "diary.csv.bak")

    with pytest.raises(NotAFileOrFolder, match=r"^melvin/deleted/diary\.csv\.bak: it is a "):
        content_sha256(folder)
    assert "deleted/diary.csv.bak" in visible_files(folder), "listed, so that the reader can refuse it by name"


def test_a_link_inside_a_folder_is_hashed_by_its_target_text_not_followed(tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_bytes(b"Date,Name,Year\n" * 1000)
    folder = shutil.copytree(upload_path("melvincarvalho"), tmp_path / "melvin")
    (folder / "watched.csv").unlink()
    (folder / "watched.csv").symlink_to(outside)
    linked = content_sha256(folder)
    outside.write_bytes(b"changed")
    after_target_edit = content_sha256(folder)
    (folder / "watched.csv").unlink()
    (folder / "watched.csv").symlink_to(tmp_path / "elsewhere.csv")

    assert linked == after_target_edit != content_sha256(folder)
    assert "watched.csv" in visible_files(folder)
    (link,) = [entry for entry in upload_entries(folder) if entry.relative == b"watched.csv"]
    assert link.size == len(os.fsencode(tmp_path / "elsewhere.csv"))


def test_a_file_link_and_a_file_holding_its_target_text_hash_differently(tmp_path):
    as_link, as_file = tmp_path / "link" / "export", tmp_path / "file" / "export"
    as_link.mkdir(parents=True)
    as_file.mkdir(parents=True)
    (as_link / "diary.csv").symlink_to("target.csv")
    (as_file / "diary.csv").write_bytes(b"target.csv")

    assert content_sha256(as_link) != content_sha256(as_file)


def test_a_name_that_is_not_utf8_inside_a_folder_hashes_by_its_bytes(tmp_path):
    first = shutil.copytree(upload_path("melvincarvalho"), tmp_path / "first")
    second = shutil.copytree(upload_path("melvincarvalho"), tmp_path / "second")
    (first / os.fsdecode(b"caf\xe9.csv")).write_bytes(b"x")
    (second / os.fsdecode(b"caf\xe8.csv")).write_bytes(b"x")

    assert content_sha256(first) != content_sha256(second)
    assert os.fsdecode(b"caf\xe9.csv") in visible_files(first)


def test_folder_hash_of_a_normal_export_is_unchanged(tmp_path):
    # The stream hashed before links and special files were handled: (length, path, length, bytes) per file.
    folder = upload_path("extratone")
    digest = hashlib.sha256()
    paths = sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
    )
    for relative in paths:
        name, data = relative.encode(), (folder / relative).read_bytes()
        digest.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big") + data)

    assert content_sha256(folder) == digest.hexdigest()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("diary.csv", "diary.csv"),
        (os.fsdecode(b"caf\xe9.csv"), "caf\\xe9.csv"),
        ("a\nb\x1b.zip", "a\\nb\\x1b.zip"),
        ("Ñandú.zip", "Ñandú.zip"),
    ],
)
def test_printable_name(name, expected):
    assert printable_name(name) == expected


@pytest.mark.timeout(10)
def test_find_upload_passes_over_entries_that_are_not_uploads(tmp_path):
    # Both names reduce to "diary", and the FIFO sorts first: it must be passed over, not opened.
    os.mkfifo(tmp_path / "Diary.csv")
    (tmp_path / "diary.zip").symlink_to("/dev/zero")
    real = tmp_path / "diary.csv"
    shutil.copy(upload_path("extratone") / "diary.csv", real)

    assert find_upload(tmp_path, "diary-" + hashlib.sha256(real.read_bytes()).hexdigest()[:12]) == real


def zip_bytes(members: dict[str, bytes], comment: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
        archive.comment = comment
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content",
    [
        upload_path("choicehoney-zip").read_bytes(),
        zip_bytes({}),
        zip_bytes({"diary.csv": b"Date,Name\n"}, comment=b"dropped again"),
    ],
    ids=["real export", "empty zip", "zip with a comment"],
)
def test_a_written_zip_has_a_whole_directory(tmp_path, content):
    (tmp_path / "export.zip").write_bytes(content)
    assert zipfile.ZipFile(tmp_path / "export.zip").testzip() is None  # what the reader will open
    assert zip_directory_is_whole(tmp_path / "export.zip")


def test_no_prefix_of_a_zip_has_a_whole_directory(tmp_path):
    content = upload_path("choicehoney-zip").read_bytes()
    # Every cut in the central directory and end record, and every 97th byte before them.
    cuts = sorted({*range(0, len(content), 97), *range(max(0, len(content) - 3000), len(content))})
    whole = []
    for cut in cuts:
        (tmp_path / "export.zip").write_bytes(content[:cut])
        if zip_directory_is_whole(tmp_path / "export.zip"):
            whole.append(cut)
    assert whole == []


def test_a_zip_with_bytes_after_its_end_record_is_not_whole(tmp_path):
    (tmp_path / "export.zip").write_bytes(upload_path("choicehoney-zip").read_bytes() + b"PK\x03\x04 more")
    assert not zip_directory_is_whole(tmp_path / "export.zip")


@pytest.mark.timeout(10)
def test_a_fifo_or_folder_named_zip_is_not_whole_and_does_not_block(tmp_path):
    os.mkfifo(tmp_path / "pipe.zip")
    (tmp_path / "folder.zip").mkdir()
    assert not zip_directory_is_whole(tmp_path / "pipe.zip")
    assert not zip_directory_is_whole(tmp_path / "folder.zip")

"""Upload identity: keys from content, safe names, finding an upload again by its key."""

import hashlib
import re
import shutil

import pytest

from movie_pipeline.letterboxd.errors import UploadNotFound
from movie_pipeline.letterboxd.uploads import content_sha256, find_upload, is_candidate, safe_name, upload_key
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

    assert upload_key(first / name) == upload_key(second / name) == "letterboxd-choicehoney-2026-01-02-" + hashlib.sha256(
        renamed.read_bytes()
    ).hexdigest()[:12]
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

"""Running the stand-in for synchronous callers: the background thread and the command line."""

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from movie_pipeline.tmdb.standin import StandinOptions, StandinProcess, StandinThread
from movie_pipeline_tests.test_tmdb.standin_sources import REPO_ROOT, tmdb_fixture


def get_json(url: str, token: str | None = "test-token") -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_thread_serves_sync_callers_and_stops_on_exit():
    with StandinThread(StandinOptions(accepted_credentials=frozenset({"test-token"}))) as standin:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/3", standin.base_url)
        status, body = get_json(f"{standin.base_url}/search/movie?query=fight+club")
        rejected = get_json(f"{standin.base_url}/movie/550", token="wrong")
        base_url = standin.base_url
    assert status == 200 and body["results"][0]["id"] == 550
    assert rejected == (401, tmdb_fixture("jdrouet-tmdb-api/invalid-api-key.json"))
    assert standin.stats.requests_by_kind() == {"search": 1, "details": 1}
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{base_url}/movie/550?api_key=x", timeout=5)


def test_thread_outside_a_with_block_says_how_to_use_it():
    with pytest.raises(RuntimeError, match="with"):
        _ = StandinThread().base_url


def test_command_line_says_it_is_the_offline_stand_in_and_serves_its_url():
    command = [sys.executable, "-m", "movie_pipeline.tmdb.standin", "--port", "0", "--latency-ms", "1-2"]
    with subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True) as server:
        try:
            line = server.stdout.readline()
            base_url = re.search(r"http://127\.0\.0\.1:\d+/3", line).group()
            status, body = get_json(f"{base_url}/movie/550?append_to_response=credits")
        finally:
            server.terminate()
    assert "offline" in line.lower() and "stand-in" in line
    assert status == 200 and body["credits"]["crew"][0]["name"] == "David Fincher"


def test_process_applies_fault_rates_and_writes_its_stats_when_terminated(tmp_path):
    arguments = ["--fault-rate", "500=1", "--rate-limit", "40", "--seed", "3"]
    with StandinProcess(tmp_path / "stats.json", arguments) as standin:
        statuses = [get_json(f"{standin.base_url}/movie/550")[0] for _ in range(3)]
        pid = standin.pid
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert statuses == [500] * 3
    assert (stats["requests"], stats["statuses"], stats["faults"]) == (3, {"500": 3}, {"500": 3})
    assert stats["peak_open_connections"] >= 1
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_command_line_rejects_an_unknown_fault_by_name():
    command = [sys.executable, "-m", "movie_pipeline.tmdb.standin", "--fault-rate", "teapot=0.1"]
    finished = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 2 and "teapot=0.1" in finished.stderr and "reset-mid-body" in finished.stderr

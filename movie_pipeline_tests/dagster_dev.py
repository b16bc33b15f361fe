"""A real `dagster dev` (webserver + daemon + code server) in its own process group, and GraphQL helpers.

Shared by the end-to-end tests: start it with a temp DAGSTER_HOME and a free port, stop the whole tree."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from movie_pipeline.settings import REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DagsterDev:
    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_port()
        self.log = log_path.open("wb")
        dagster = Path(sys.executable).parent / "dagster"
        self.process = subprocess.Popen(
            [str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=REPO_ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def graphql(self, query: str) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql",
            data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)["data"]

    def wait_until_up(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "dagster dev exited early"
            try:
                if self.graphql("{ version }")["version"]:
                    return
            except OSError:
                time.sleep(1)
        raise AssertionError("dagster dev did not answer in time")

    def stop(self) -> None:
        # dagster dev spawns the webserver, the daemon and code servers: end the whole process group.
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


RUNS = "{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }"
SWEEP_TICKS = """{ sensorOrError(sensorSelector: {repositoryName: "__repository__",
  repositoryLocationName: "movie_pipeline", sensorName: "enrichment_sweep_sensor"}) {
  ... on Sensor { sensorState { ticks(limit: 20) { timestamp status skipReason } } } } }"""


def partition_of(run: dict) -> str:
    return {t["key"]: t["value"] for t in run["tags"]}["dagster/partition"]


def failure_messages(dev: DagsterDev, run_id: str) -> str:
    query = f"""{{ logsForRun(runId: "{run_id}") {{ ... on EventConnection {{ events {{
        ... on ExecutionStepFailureEvent {{ message failureMetadata {{ description }} }} }} }} }} }}"""
    events = dev.graphql(query)["logsForRun"]["events"]
    return "\n".join(f"{e.get('message')} {(e.get('failureMetadata') or {}).get('description')}" for e in events if e)


def wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}")

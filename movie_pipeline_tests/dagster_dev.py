"""A real `dagster dev` (webserver + daemon + code server) in its own process group, and GraphQL helpers.

Shared by the end-to-end tests and benchmarks/bench_latency.py (which runs one from another checkout, repo_root):
start it with a temp DAGSTER_HOME and a free port, stop the whole tree. The kill
tests also SIGKILL one run worker, or the whole group, and start a new `dagster dev` on the same DAGSTER_HOME."""

import contextlib
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
    def __init__(self, env: dict[str, str], log_path: Path, niceness: int = 0, repo_root: Path = REPO_ROOT):
        self.port = free_port()
        self.log = log_path.open("wb")
        dagster = Path(sys.executable).parent / "dagster"
        command = [
            str(dagster),
            "dev",
            "-w",
            str(repo_root / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
        ]
        self.process = subprocess.Popen(
            ["nice", "-n", str(niceness), *command] if niceness else command,
            cwd=repo_root,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
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
            self.kill()
        self.log.close()

    def kill(self) -> None:
        """SIGKILL the whole process group at once, as a power loss or the OOM killer would, and reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        wait_for(lambda: not group_members(self.process.pid), 30, "every process of the group to be gone")

    def step_events(self, run_id: str) -> list[tuple[str, str]]:
        """(event type, step key) of the run's step events, in order."""
        query = f"""{{ logsForRun(runId: "{run_id}") {{ ... on EventConnection {{ events {{
            __typename ... on MessageEvent {{ stepKey }} }} }} }} }}"""
        events = self.graphql(query)["logsForRun"]["events"]
        return [(e["__typename"], e["stepKey"]) for e in events if e.get("stepKey")]

    def materialized_at(self, asset: str, partition: str) -> float | None:
        """When the newest materialization of the asset's partition was recorded, in epoch seconds."""
        query = f"""{{ assetOrError(assetKey: {{path: ["{asset}"]}}) {{ ... on Asset {{
            assetMaterializations(partitions: ["{partition}"], limit: 1) {{ timestamp }} }} }} }}"""
        found = (self.graphql(query)["assetOrError"] or {}).get("assetMaterializations") or []
        return int(found[0]["timestamp"]) / 1000 if found else None


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                # stat: "pid (comm) state ppid pgrp ...": split after the command name, which may hold spaces.
                state, _ppid, pgrp = (entry / "stat").read_text().rpartition(")")[2].split()[:3]
                if int(pgrp) == pgid and state != "Z":  # a zombie is dead already, waiting to be reaped
                    members.append(int(entry.name))
    return members


def command_line(pid: int) -> bytes:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    return b""


RUNS = "{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }"
SWEEP_TICKS = """{ sensorOrError(sensorSelector: {repositoryName: "__repository__",
  repositoryLocationName: "movie_pipeline", sensorName: "enrichment_sweep_sensor"}) {
  ... on Sensor { sensorState { ticks(limit: 20) { timestamp status skipReason } } } } }"""


def partition_of(run: dict) -> str | None:
    return {t["key"]: t["value"] for t in run["tags"]}.get("dagster/partition")


def failure_messages(dev: DagsterDev, run_id: str) -> str:
    query = f"""{{ logsForRun(runId: "{run_id}") {{ ... on EventConnection {{ events {{
        ... on ExecutionStepFailureEvent {{ message failureMetadata {{ description }} }} }} }} }} }}"""
    events = dev.graphql(query)["logsForRun"]["events"]
    return "\n".join(f"{e.get('message')} {(e.get('failureMetadata') or {}).get('description')}" for e in events if e)


def wait_for(predicate, timeout_s: float, what: str, every_s: float = 2):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"timed out waiting for {what}")

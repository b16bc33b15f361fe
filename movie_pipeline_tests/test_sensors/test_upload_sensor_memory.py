"""The upload sensor's memory stays bounded whatever a folder links to: measured in a child process
under RLIMIT_AS, so a regression fails this test instead of taking the machine."""

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from movie_pipeline_tests.conftest import LETTERBOXD

# Two ticks of the sensor peak near 0.5 GiB of address space (VmPeak, mostly imported libraries).
ADDRESS_SPACE_LIMIT = 1024**3

TWO_TICKS = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    import dagster as dg
    from movie_pipeline.resources import PipelineStorage
    from movie_pipeline.sensors.upload_sensor import upload_sensor

    storage = PipelineStorage(data_dir=sys.argv[1], database_url="sqlite:///" + sys.argv[1] + "/movie_pipeline.db")
    instance, cursor, requested = dg.DagsterInstance.ephemeral(), None, []
    for _ in range(2):
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources={{"storage": storage}}) as context:
            result = upload_sensor(context)
        cursor = result.cursor
        requested += [request.partition_key for request in result.run_requests or []]
    print(json.dumps(requested))
    """
)


def sensor_ticks_under_limit(data_dir) -> subprocess.CompletedProcess:
    script = TWO_TICKS.format(limit=ADDRESS_SPACE_LIMIT)
    return subprocess.run([sys.executable, "-c", script, str(data_dir)], capture_output=True, text=True, timeout=120)


@pytest.mark.timeout(180)
def test_a_link_to_dev_zero_inside_a_folder_keeps_the_tick_bounded(data_dir):
    uploads = data_dir / "uploads"
    hostile = shutil.copytree(LETTERBOXD / "extratone", uploads / "extratone")
    (hostile / "lists" / "endless.csv").symlink_to("/dev/zero")
    (hostile / "diary.csv").unlink()
    (hostile / "diary.csv").symlink_to("/dev/zero")
    shutil.copytree(LETTERBOXD / "melvincarvalho", uploads / "melvin")

    ticks = sensor_ticks_under_limit(data_dir)

    assert ticks.returncode == 0, ticks.stderr[-3000:]
    requested = json.loads(ticks.stdout.splitlines()[-1])
    assert sorted(key.rpartition("-")[0] for key in requested) == ["extratone", "melvin"]

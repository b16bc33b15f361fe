"""Three exports dropped at once into a real `dagster dev` while the stand-in injects 5xx and answers 429 above
40 requests per second: every upload completes, nothing is lost, no enriching runs overlap, the cap holds.

The 20-export version is benchmarks/bench_load.py; both share movie_pipeline_tests/load_run.py."""

import pytest

from movie_pipeline_tests.load_run import LoadPlan, run_load

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
THREE_UPLOADS = LoadPlan(exports=3, films_per_export=110, shared_pool=30, shared_per_export=12)


def test_three_uploads_dropped_at_once_all_complete_within_the_shared_rate_cap(tmp_path):
    figures = run_load(tmp_path, THREE_UPLOADS, timeout_s=420)
    print(figures.table())
    assert figures.problems() == [], figures.table()

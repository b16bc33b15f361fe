from datetime import datetime, timezone

import dagster as dg

from movie_pipeline.definitions import defs
from movie_pipeline.schedules import REFRESH_OLDER_THAN_DAYS, tmdb_refresh_schedule


def test_the_refresh_is_a_daily_five_field_cron():
    assert isinstance(tmdb_refresh_schedule, dg.ScheduleDefinition)
    assert len(tmdb_refresh_schedule.cron_schedule.split()) == 5
    assert tmdb_refresh_schedule.job_name == "tmdb_refresh_job"


def test_requests_a_refresh_per_upload_except_those_with_a_run_in_flight():
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("uploads", ["alice-aaaaaaaaaaaa", "bob-bbbbbbbbbbbb"])
        instance.add_run(
            dg.DagsterRun(job_name="enrichment_sweep_job", run_id="busy", status=dg.DagsterRunStatus.STARTED,
                          tags={"dagster/partition": "bob-bbbbbbbbbbbb"})
        )
        when = datetime(2026, 11, 25, 4, 0, tzinfo=timezone.utc)
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()
        )
        requests = tmdb_refresh_schedule.evaluate_tick(context).run_requests

    assert [r.partition_key for r in requests] == ["alice-aaaaaaaaaaaa"]
    assert requests[0].run_key == "refresh:20261125:alice-aaaaaaaaaaaa"
    config = requests[0].run_config["ops"]["enriched_movies"]["config"]
    assert config == {"refresh_older_than_days": REFRESH_OLDER_THAN_DAYS}


def test_skips_when_there_is_no_upload():
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime.now(timezone.utc))
        data = tmdb_refresh_schedule.evaluate_tick(context)
    assert data.run_requests == [] and "no upload" in data.skip_message

"""all_uploads_stats re-runs after every change to an upload's stats, even one that lands while it runs."""

import time

import dagster as dg

from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.assets.stats import ANY_UPLOAD_UPDATED


# The shapes of movie_stats and all_uploads_stats, without their bodies: only the condition is under test.
@dg.asset(partitions_def=uploads_partitions)
def movie_stats() -> None: ...


@dg.asset(deps=[movie_stats], automation_condition=ANY_UPLOAD_UPDATED)
def all_uploads_stats() -> None: ...


DEFS = dg.Definitions(assets=[movie_stats, all_uploads_stats])
ALL = dg.AssetKey("all_uploads_stats")


def materialized(instance, key: str, partition: str | None = None) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))
    time.sleep(0.01)  # distinct timestamps, as distinct runs have


def test_a_stats_change_during_the_all_uploads_run_requests_another():
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(uploads_partitions.name, ["ann"])
        before = dg.evaluate_automation_conditions(defs=DEFS, instance=instance)  # the sensor's first tick
        materialized(instance, "movie_stats", "ann")
        first = dg.evaluate_automation_conditions(defs=DEFS, instance=instance, cursor=before.cursor)
        assert first.get_num_requested(ALL) == 1

        # That run reads every upload's stats, then ann's change and the run's materialization land before the tick.
        materialized(instance, "movie_stats", "ann")
        materialized(instance, "all_uploads_stats")
        second = dg.evaluate_automation_conditions(defs=DEFS, instance=instance, cursor=first.cursor)
        assert second.get_num_requested(ALL) == 1

        third = dg.evaluate_automation_conditions(defs=DEFS, instance=instance, cursor=second.cursor)
        assert third.get_num_requested(ALL) == 0

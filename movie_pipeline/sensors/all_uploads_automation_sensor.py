"""all_uploads_automation_sensor: evaluates the automation condition of all_uploads_stats."""

import dagster as dg

from movie_pipeline.assets.stats import all_uploads_stats

# Re-computes all_uploads_stats once any upload's stats change (its automation condition, ANY_UPLOAD_UPDATED).
all_uploads_automation_sensor = dg.AutomationConditionSensorDefinition(
    "all_uploads_automation_sensor",
    target=dg.AssetSelection.assets(all_uploads_stats),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)

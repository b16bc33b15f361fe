import dagster as dg

from movie_pipeline.definitions import defs


def test_the_code_location_loads_with_the_interface_names():
    repository = defs.get_repository_def()
    keys = {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()}
    assert keys == {"raw_diary", "parsed_movies", "enriched_movies", "movie_stats", "all_uploads_stats"}
    for key in keys - {"all_uploads_stats"}:
        assert repository.asset_graph.get(dg.AssetKey(key)).partitions_def == dg.DynamicPartitionsDefinition(name="uploads")


def test_sensors_run_by_default_and_the_sweep_ticks_every_ten_seconds():
    sensors = {sensor.name: sensor for sensor in defs.sensors}
    assert set(sensors) == {"upload_sensor", "enrichment_sweep_sensor", "all_uploads_automation_sensor"}
    assert sensors["enrichment_sweep_sensor"].minimum_interval_seconds == 10
    assert all(sensor.default_status == dg.DefaultSensorStatus.RUNNING for sensor in sensors.values())


def test_the_chain_runs_in_one_process():
    assert defs.resolve_job_def("upload_job").executor_def.name == "in_process"


def test_enrichment_is_in_the_tmdb_pool():
    from movie_pipeline.assets.enrichment import enriched_movies

    assert enriched_movies.op.pool == "tmdb"

import dagster as dg

from movie_pipeline.definitions import defs


def test_the_code_location_loads_with_the_interface_names():
    repository = defs.get_repository_def()
    keys = {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()}
    assert keys == {"raw_diary", "parsed_movies", "enriched_movies", "movie_stats", "all_uploads_stats"}
    for key in keys - {"all_uploads_stats"}:
        assert repository.asset_graph.get(dg.AssetKey(key)).partitions_def == dg.DynamicPartitionsDefinition(
            name="uploads"
        )


def test_sensors_run_by_default_and_the_sweep_ticks_every_ten_seconds():
    sensors = {sensor.name: sensor for sensor in defs.sensors}
    assert set(sensors) == {
        "upload_sensor",
        "enrichment_sweep_sensor",
        "overrides_sensor",
        "all_uploads_automation_sensor",
    }
    assert sensors["enrichment_sweep_sensor"].minimum_interval_seconds == 10
    assert all(sensor.default_status == dg.DefaultSensorStatus.RUNNING for sensor in sensors.values())


def test_the_chain_runs_in_one_process():
    assert defs.resolve_job_def("upload_job").executor_def.name == "in_process"


def test_enrichment_is_in_the_tmdb_pool():
    from movie_pipeline.assets.enrichment import enriched_movies

    assert enriched_movies.op.pool == "tmdb"


def test_the_asset_graph_is_a_chain_from_upload_to_stats():
    graph = defs.get_repository_def().asset_graph
    parents = {
        key.to_user_string(): sorted(p.to_user_string() for p in graph.get(key).parent_keys)
        for key in graph.get_all_asset_keys()
    }
    assert parents == {
        "raw_diary": [],
        "parsed_movies": ["raw_diary"],
        "enriched_movies": ["parsed_movies"],
        "movie_stats": ["enriched_movies"],
        "all_uploads_stats": ["movie_stats"],
    }


def test_jobs_select_the_chain_and_its_tail_with_their_checks():
    layers = {
        name: defs.resolve_job_def(name).asset_layer
        for name in ("upload_job", "enrichment_sweep_job", "tmdb_refresh_job")
    }
    selected = {
        name: sorted(k.to_user_string() for k in [*layer.executable_asset_keys, *layer.asset_graph.asset_check_keys])
        for name, layer in layers.items()
    }
    parsed_checks = [
        "parsed_movies:entries_plus_quarantined_equal_diary_rows",
        "parsed_movies:no_duplicate_entries",
        "parsed_movies:ratings_in_half_steps",
    ]
    tail = ["enriched_movies", "enriched_movies:low_confidence_matches", "movie_stats"]
    assert selected == {
        "upload_job": sorted(["raw_diary", "parsed_movies", *parsed_checks, *tail]),
        "enrichment_sweep_job": tail,
        "tmdb_refresh_job": tail,
    }


def test_the_parse_checks_that_guard_correctness_block_downstream():
    graph = defs.get_repository_def().asset_graph
    assert {key.to_user_string() for key in graph.asset_check_keys if graph.get(key).blocking} == {
        "parsed_movies:entries_plus_quarantined_equal_diary_rows",
        "parsed_movies:no_duplicate_entries",
    }

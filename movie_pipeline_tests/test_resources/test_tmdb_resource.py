import dagster as dg

from movie_pipeline.assets.enrichment import enriched_movies
from movie_pipeline.assets.ingest import parsed_movies, raw_diary
from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.letterboxd.uploads import upload_key
from movie_pipeline.resources import TmdbResource
from movie_pipeline.tmdb.config import TmdbConfig
from movie_pipeline.tmdb.standin import StandinOptions, StandinThread
from movie_pipeline_tests.materialize_support import drop_two_film_diary

TOKEN = "resource-test-token-3f7a2d"


def test_credentials_are_wired_by_environment_variable_name_not_value(monkeypatch):
    monkeypatch.setenv("TMDB_READ_ACCESS_TOKEN", "secret-token-value")
    monkeypatch.setenv("TMDB_MAX_RATE", "25")
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    resource = TmdbResource.from_env()
    assert resource.read_access_token == dg.EnvVar("TMDB_READ_ACCESS_TOKEN")
    assert resource.api_key is None
    assert "secret-token-value" not in repr(resource)
    assert resource.max_rate == 25


def test_the_config_carries_the_values_and_hides_them():
    config = TmdbResource(base_url="http://127.0.0.1:1/3", api_key="k-123456", max_concurrency=3).config()
    assert (config.api_key, config.max_concurrency) == ("k-123456", 3)
    assert "k-123456" not in repr(config)
    assert config.missing_credentials_reason() is None


def test_fields_left_unset_take_the_defaults_of_tmdb_config():
    assert TmdbResource().config() == TmdbConfig()
    assert TmdbResource(max_rate=25).config() == TmdbConfig(max_rate=25)


def test_the_asset_enriches_through_the_client_of_the_resource_it_is_given(storage, data_dir):
    diary = drop_two_film_diary(data_dir)
    key = upload_key(diary)
    with (
        StandinThread(StandinOptions(accepted_credentials=frozenset({TOKEN}))) as standin,
        dg.instance_for_test() as instance,
    ):
        instance.add_dynamic_partitions(uploads_partitions.name, [key])
        result = dg.materialize(
            [raw_diary, parsed_movies, enriched_movies],
            partition_key=key,
            instance=instance,
            resources={"storage": storage, "tmdb": TmdbResource(base_url=standin.base_url, read_access_token=TOKEN)},
        )
        seen = standin.stats
    (event,) = result.asset_materializations_for_node("enriched_movies")
    assert event.metadata["found"].value == 2
    assert seen.request_count >= event.metadata["tmdb_requests"].value >= 4  # a search and details per film
    assert seen.auth_methods["bearer"] == seen.request_count

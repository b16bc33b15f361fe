import dagster as dg

from movie_pipeline.resources import TmdbResource


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

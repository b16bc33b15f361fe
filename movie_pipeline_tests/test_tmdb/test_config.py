"""TmdbConfig: read from the environment, validated, and never showing a credential."""

import pytest

from movie_pipeline.tmdb.config import DEFAULT_BASE_URL, TmdbConfig, TmdbConfigError, TmdbCredentialsMissing
from movie_pipeline_tests.test_tmdb.enrich_support import API_KEY, TOKEN


def test_defaults_without_any_variable():
    config = TmdbConfig.from_env({})
    assert (config.base_url, config.api_key, config.read_access_token) == ("https://api.themoviedb.org/3", None, None)
    assert (config.max_concurrency, config.max_rate) == (10, 40)
    assert DEFAULT_BASE_URL == "https://api.themoviedb.org/3"


def test_every_variable_is_read():
    config = TmdbConfig.from_env(
        {
            "TMDB_BASE_URL": "http://127.0.0.1:8765/3/",
            "TMDB_API_KEY": API_KEY,
            "TMDB_READ_ACCESS_TOKEN": TOKEN,
            "TMDB_MAX_CONCURRENCY": "7",
            "TMDB_MAX_RATE": "25",
        }
    )
    assert config.base_url == "http://127.0.0.1:8765/3"
    assert (config.api_key, config.read_access_token) == (API_KEY, TOKEN)
    assert (config.max_concurrency, config.max_rate) == (7, 25)


@pytest.mark.parametrize("variable", ["TMDB_MAX_CONCURRENCY", "TMDB_MAX_RATE"])
@pytest.mark.parametrize("value", ["0", "-3", "ten", "2.5"])
def test_a_limit_that_is_not_a_positive_whole_number_is_refused_by_name(variable, value):
    with pytest.raises(TmdbConfigError) as raised:
        TmdbConfig.from_env({variable: value})
    assert variable in str(raised.value)
    assert repr(value) in str(raised.value)


def test_a_base_url_without_scheme_is_refused():
    with pytest.raises(TmdbConfigError, match="TMDB_BASE_URL"):
        TmdbConfig.from_env({"TMDB_BASE_URL": "api.themoviedb.org/3"})


def test_secrets_never_appear_in_repr_or_str():
    config = TmdbConfig(api_key=API_KEY, read_access_token=TOKEN)
    for shown in (repr(config), str(config), f"{config}", repr([config])):
        assert API_KEY not in shown
        assert TOKEN not in shown
    assert "api_key='***'" in repr(config)


def test_redact_replaces_each_secret():
    config = TmdbConfig(api_key=API_KEY, read_access_token=TOKEN)
    text = f"GET http://x/3/search/movie?api_key={API_KEY} with Bearer {TOKEN}"
    assert config.redact(text) == "GET http://x/3/search/movie?api_key=*** with Bearer ***"


def test_missing_credentials_names_both_variables_and_the_offline_way():
    config = TmdbConfig.from_env({"TMDB_API_KEY": "", "TMDB_READ_ACCESS_TOKEN": ""})
    reason = config.missing_credentials_reason()
    for needed in ("TMDB_API_KEY", "TMDB_READ_ACCESS_TOKEN", "make demo", "make dev"):
        assert needed in reason
    with pytest.raises(TmdbCredentialsMissing) as raised:
        config.require_credentials()
    assert str(raised.value) == reason


@pytest.mark.parametrize("environ", [{"TMDB_API_KEY": API_KEY}, {"TMDB_READ_ACCESS_TOKEN": TOKEN}])
def test_either_credential_is_enough(environ):
    config = TmdbConfig.from_env(environ)
    assert config.missing_credentials_reason() is None
    config.require_credentials()

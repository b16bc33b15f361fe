"""TMDB access settings: API root, credentials (never shown), request limits."""

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_BASE_URL = "https://api.themoviedb.org/3"
REDACTED = "***"
# The fields read from environment variables of these names are secrets, wired into Dagster by reference.
CREDENTIAL_VARIABLES = {"api_key": "TMDB_API_KEY", "read_access_token": "TMDB_READ_ACCESS_TOKEN"}


class TmdbConfigError(ValueError):
    """A TMDB_* environment variable holds a value that cannot be used."""


class TmdbCredentialsMissing(RuntimeError):
    """Neither TMDB_API_KEY nor TMDB_READ_ACCESS_TOKEN is set."""


@dataclass(frozen=True, repr=False)
class TmdbConfig:
    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = None
    read_access_token: str | None = None
    max_concurrency: int = 10
    max_rate: int = 40  # request starts in any sliding second, for the whole deployment
    # For the whole deployment: TMDB allows about 20 per IP, and two are kept for connections whose close has not
    # reached TMDB yet while another client opens its own (measured: 21 at the server when leasing all 20).
    max_connections: int = 18
    request_timeout_s: float = 10.0
    max_attempts: int = 5
    backoff_base_s: float = 0.5  # full-jitter window of the first retry; doubles per attempt
    backoff_max_s: float = 20.0

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise TmdbConfigError(f"TMDB_BASE_URL must start with http:// or https://, got {self.base_url!r}")
        for name in ("max_concurrency", "max_rate", "max_connections", "request_timeout_s", "max_attempts"):
            if getattr(self, name) <= 0:
                raise TmdbConfigError(f"TMDB {name} must be positive, got {getattr(self, name)!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "TmdbConfig":
        environ = os.environ if environ is None else environ
        return cls(
            base_url=(environ.get("TMDB_BASE_URL") or cls.base_url).rstrip("/"),
            max_concurrency=_positive_int(environ, "TMDB_MAX_CONCURRENCY", cls.max_concurrency),
            max_rate=_positive_int(environ, "TMDB_MAX_RATE", cls.max_rate),
            api_key=environ.get(CREDENTIAL_VARIABLES["api_key"]) or None,
            read_access_token=environ.get(CREDENTIAL_VARIABLES["read_access_token"]) or None,
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(secret for secret in (self.api_key, self.read_access_token) if secret)

    def redact(self, text: str) -> str:
        """`text` with every credential replaced, for messages built from URLs or library errors."""
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def missing_credentials_reason(self) -> str | None:
        if self.secrets:
            return None
        return (
            "No TMDB credentials: set TMDB_READ_ACCESS_TOKEN (the API Read Access Token, sent as a Bearer header) "
            "or TMDB_API_KEY (the v3 API key) from https://www.themoviedb.org/settings/api. "
            "To run offline without them, use `make demo` or `make dev`, which start the bundled TMDB stand-in "
            "and point TMDB_BASE_URL at it."
        )

    def require_credentials(self) -> None:
        reason = self.missing_credentials_reason()
        if reason:
            raise TmdbCredentialsMissing(reason)

    def __repr__(self) -> str:
        shown = {
            "base_url": self.base_url,
            "api_key": REDACTED if self.api_key else None,
            "read_access_token": REDACTED if self.read_access_token else None,
            "max_concurrency": self.max_concurrency,
            "max_rate": self.max_rate,
            "request_timeout_s": self.request_timeout_s,
            "max_attempts": self.max_attempts,
        }
        return f"TmdbConfig({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    __str__ = __repr__


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise TmdbConfigError(f"{name} must be a positive whole number, got {raw!r}; unset it to use {default}")
    return value

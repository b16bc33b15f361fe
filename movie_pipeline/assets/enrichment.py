"""enriched_movies: the upload's films matched to TMDB and enriched with its metadata."""

import dagster as dg

from movie_pipeline import database as db
from movie_pipeline.assets.ingest import parsed_movies
from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.resources import PipelineStorage, TmdbResource
from movie_pipeline.tmdb.client import RateLimitedTmdbClient, TmdbAuthError
from movie_pipeline.tmdb.enrich import enrich_films, refresh_stale_movies
from movie_pipeline.tmdb.overrides import read_overrides


class EnrichmentConfig(dg.Config):
    refresh_older_than_days: int | None = None  # set by tmdb_refresh_schedule


@dg.asset(
    partitions_def=uploads_partitions,
    group_name="enrichment",
    deps=[parsed_movies],
    kinds={"aiohttp", "sqlite"},
    # TMDB's limits hold on any instance through the budget in the film database (tmdb/budget.py); an instance may
    # still limit this pool (deploy/dagster.yaml).
    pool="tmdb",
)
async def enriched_movies(
    context: dg.AssetExecutionContext, config: EnrichmentConfig, storage: PipelineStorage, tmdb: TmdbResource
) -> dg.MaterializeResult:
    """Each film of the upload matched on TMDB (title + year), with details and credits; cached across uploads."""
    tmdb_config = tmdb.config()
    missing = tmdb_config.missing_credentials_reason()
    if missing:
        raise dg.Failure(description=missing, allow_retries=False)
    upload = context.partition_key
    engine = storage.engine()
    overrides = read_overrides(storage.settings.overrides_path)
    for problem in overrides.problems:  # a bad line is left out; it never fails the upload
        context.log.warning(f"overrides.csv line left out: {problem}")
    with engine.connect() as conn:
        films = db.upload_frame(conn, db.films, upload).select("film_key", "name", "year", "letterboxd_uri")

    def client_factory() -> RateLimitedTmdbClient:
        return tmdb.client(engine)

    context.log.info(
        f"enriching {films.height} films via {tmdb_config.base_url} ({tmdb_config.max_concurrency} in flight; "
        f"the deployment shares {tmdb_config.max_rate} starts per second and {tmdb_config.max_connections} connections)"
    )
    try:
        if config.refresh_older_than_days is not None:
            await refresh_stale_movies(
                engine, client_factory, config.refresh_older_than_days, upload=upload, log=context.log.info
            )
        summary = await enrich_films(
            films,
            upload=upload,
            engine=engine,
            client_factory=client_factory,
            overrides=overrides,
            log=context.log.info,
        )
    except TmdbAuthError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None

    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": films.height,
            "found": summary.found,
            "not_found": summary.not_found,
            "pending": summary.pending,
            "overrides": summary.overrides,
            "override_problems": len(overrides.problems),
            "tmdb_requests": summary.tmdb_requests,
            "cache_hits": summary.cache_hits,
            "retries": summary.retries,
            "duration_s": round(summary.duration_s, 2),
        },
    )

"""Jobs: the whole chain for a new upload, and the enrichment + stats re-run used by the sweep and the refresh."""

import dagster as dg

from movie_pipeline.assets.enrichment import enriched_movies
from movie_pipeline.assets.ingest import parsed_movies, raw_diary
from movie_pipeline.assets.stats import movie_stats

ENRICH_AND_STATS = dg.AssetSelection.assets(enriched_movies, movie_stats)

upload_job = dg.define_asset_job(
    "upload_job",
    selection=dg.AssetSelection.assets(raw_diary, parsed_movies, enriched_movies, movie_stats),
    description="Read, parse, enrich and summarise one upload.",
)

enrichment_sweep_job = dg.define_asset_job(
    "enrichment_sweep_job",
    selection=ENRICH_AND_STATS,
    description="Retry the films of an upload still pending enrichment, then recompute its stats.",
)

tmdb_refresh_job = dg.define_asset_job(
    "tmdb_refresh_job",
    selection=ENRICH_AND_STATS,
    description="Re-fetch cached TMDB details older than the configured age, then recompute the stats.",
)

# Every job that writes an upload's enrichment: how a run stored without its execution plan is judged.
ENRICHING_JOBS = (upload_job.name, enrichment_sweep_job.name, tmdb_refresh_job.name)

"""TMDB: async client, matching, cache, enrichment and the offline stand-in (no Dagster import)."""

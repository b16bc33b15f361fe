"""movie_pipeline: a Letterboxd export turned into a TMDB-enriched film table and viewing statistics."""

"""The four upload-partitioned assets: raw_diary -> parsed_movies -> enriched_movies -> movie_stats."""

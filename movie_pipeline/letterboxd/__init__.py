"""Reading a Letterboxd export into polars frames (pure: no Dagster import)."""

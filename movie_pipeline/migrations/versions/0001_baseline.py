"""Baseline: the schema of the last release before migrations (main at commit e489a0e), frozen.

Written out in full rather than from database.metadata, which moves on with every later revision. A database made by
`metadata.create_all` before migrations existed has exactly these tables and is stamped with this revision.
Its DDL is also kept as a test fixture (movie_pipeline_tests/fixtures/schema/baseline_<dialect>.sql).
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("upload", sa.String(120), primary_key=True),
        sa.Column("source_name", sa.Text, nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("person", sa.Text),
        sa.Column("exported_at", sa.Text),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "raw_rows",
        sa.Column("upload", sa.String(120), primary_key=True),
        sa.Column("source_file", sa.String(200), primary_key=True),
        sa.Column("line", sa.Integer, primary_key=True),
        sa.Column("date", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("year", sa.Text),
        sa.Column("letterboxd_uri", sa.Text),
        sa.Column("rating", sa.Text),
        sa.Column("rewatch", sa.Text),
        sa.Column("tags", sa.Text),
        sa.Column("watched_date", sa.Text),
        sa.Column("review", sa.Text),
        sa.Column("problem", sa.Text),
        sa.Column("raw", sa.Text, nullable=False),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("upload", sa.String(120), nullable=False),
        sa.Column("source_file", sa.String(200), nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
    )
    op.create_index("ix_quarantine_upload", "quarantine", ["upload"])
    op.create_table(
        "entries",
        sa.Column("upload", sa.String(120), primary_key=True),
        sa.Column("line", sa.Integer, primary_key=True),
        sa.Column("film_key", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("year", sa.Integer),
        sa.Column("letterboxd_uri", sa.Text),
        sa.Column("logged_date", sa.Date),
        sa.Column("watched_date", sa.Date),
        sa.Column("rating", sa.Float),
        sa.Column("rewatch", sa.Boolean, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("has_review", sa.Boolean, nullable=False),
    )
    op.create_table(
        "films",
        sa.Column("upload", sa.String(120), primary_key=True),
        sa.Column("film_key", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("year", sa.Integer),
        sa.Column("letterboxd_uri", sa.Text),
        sa.Column("rating", sa.Float),
        sa.Column("in_diary", sa.Boolean, nullable=False),
    )
    op.create_table(
        "film_matches",
        sa.Column("upload", sa.String(120), primary_key=True),
        sa.Column("film_key", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("year", sa.Integer),
        sa.Column("letterboxd_uri", sa.Text),
        sa.Column("tmdb_id", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_film_matches_status", "film_matches", ["status"])
    op.create_table(
        "tmdb_movies",
        sa.Column("tmdb_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("original_title", sa.Text),
        sa.Column("release_date", sa.Date),
        sa.Column("genres", sa.Text, nullable=False),
        sa.Column("directors", sa.Text, nullable=False),
        sa.Column("top_cast", sa.Text, nullable=False),
        sa.Column("runtime", sa.Integer),
        sa.Column("overview", sa.Text),
        sa.Column("vote_average", sa.Float),
        sa.Column("vote_count", sa.Integer),
        sa.Column("popularity", sa.Float),
        sa.Column("poster_path", sa.Text),
        sa.Column("original_language", sa.String(16)),
        sa.Column("production_countries", sa.Text, nullable=False),
        sa.Column("spoken_languages", sa.Text, nullable=False),
        sa.Column("imdb_id", sa.String(16)),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "tmdb_search_cache",
        sa.Column("query_key", sa.String(400), primary_key=True),
        sa.Column("tmdb_id", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "movie_stats",
        sa.Column("upload", sa.String(120), primary_key=True),
        sa.Column("period", sa.String(8), primary_key=True),
        sa.Column("section", sa.String(64), primary_key=True),
        sa.Column("item", sa.String(400), primary_key=True),
        sa.Column("rank", sa.Integer),
        sa.Column("value", sa.Float),
        sa.Column("count", sa.Integer),
        sa.Column("label", sa.Text),
        sa.Column("films_covered", sa.Integer),
        sa.Column("films_total", sa.Integer),
    )


def downgrade() -> None:
    for table in (
        "movie_stats",
        "tmdb_search_cache",
        "tmdb_movies",
        "film_matches",
        "films",
        "entries",
        "quarantine",
        "raw_rows",
        "uploads",
    ):
        op.drop_table(table)

"""TV beside movies: tmdb_movies keyed by (media_type, tmdb_id), since TMDB's movie and TV ids collide, and
tmdb_search_cache says which kind a found id is; every row so far is a movie. tmdb_search_candidates keeps the top
three candidates of each search outcome.

Revision ID: 0004_tmdb_tv_and_candidates
Revises: 0003_film_matches_media_type
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_tmdb_tv_and_candidates"
down_revision = "0003_film_matches_media_type"
branch_labels = None
depends_on = None

# The tables as this revision knows them, not database.py's, which later revisions may change.
tmdb_movies = sa.table("tmdb_movies", sa.column("media_type", sa.String(8)))
tmdb_search_cache = sa.table(
    "tmdb_search_cache", sa.column("tmdb_id", sa.Integer), sa.column("media_type", sa.String(8))
)
film_matches = sa.table(
    "film_matches",
    sa.column("tmdb_id", sa.Integer),
    sa.column("status", sa.String(16)),
    sa.column("confidence", sa.Float),
    sa.column("reason", sa.Text),
    sa.column("media_type", sa.String(8)),
)
# PostgreSQL's name for the key create_all and revision 0001 left unnamed; SQLite's has none.
PRIMARY_KEY = "tmdb_movies_pkey"


def upgrade() -> None:
    op.add_column("tmdb_movies", sa.Column("media_type", sa.String(8), nullable=False, server_default="movie"))
    _key_tmdb_movies_by(["media_type", "tmdb_id"])
    op.add_column("tmdb_search_cache", sa.Column("media_type", sa.String(8)))
    op.execute(tmdb_search_cache.update().where(tmdb_search_cache.c.tmdb_id.is_not(None)).values(media_type="movie"))
    op.create_table(
        "tmdb_search_candidates",
        sa.Column("query_key", sa.String(400), primary_key=True),
        sa.Column("rank", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("media_type", sa.String(8), nullable=False),
        sa.Column("tmdb_id", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("original_title", sa.Text),
        sa.Column("year", sa.Integer),
        sa.Column("vote_count", sa.Integer),
        sa.Column("popularity", sa.Float),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """The schema before knows movies only: TV rows go, and films matched as TV are looked up again."""
    op.drop_table("tmdb_search_candidates")
    op.execute(tmdb_search_cache.delete().where(tmdb_search_cache.c.media_type == "tv"))
    with op.batch_alter_table("tmdb_search_cache") as batch:
        batch.drop_column("media_type")
    op.execute(
        film_matches.update()
        .where(film_matches.c.media_type == "tv")
        .values(
            status="pending",
            tmdb_id=None,
            confidence=0.0,
            media_type=None,
            reason="matched as TV, which this version cannot store: waiting for TMDB",
        )
    )
    op.execute(tmdb_movies.delete().where(tmdb_movies.c.media_type == "tv"))
    _key_tmdb_movies_by(["tmdb_id"])
    with op.batch_alter_table("tmdb_movies") as batch:
        batch.drop_column("media_type")


def _key_tmdb_movies_by(columns: list[str]) -> None:
    """Make `columns` the primary key of tmdb_movies (and leave media_type without the default that filled it)."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":  # SQLite changes a key only by copying the table into a new one
        existing = sa.Table("tmdb_movies", sa.MetaData(), autoload_with=bind)
        rekeyed = sa.Table(
            "tmdb_movies",
            sa.MetaData(),
            *(
                sa.Column(column.name, column.type, nullable=column.nullable, primary_key=column.name in columns)
                for column in existing.columns
            ),
        )
        with op.batch_alter_table("tmdb_movies", copy_from=rekeyed, recreate="always"):
            pass
        return
    op.drop_constraint(PRIMARY_KEY, "tmdb_movies", type_="primary")
    op.create_primary_key(PRIMARY_KEY, "tmdb_movies", columns)
    if "media_type" in columns:
        op.alter_column("tmdb_movies", "media_type", server_default=None)

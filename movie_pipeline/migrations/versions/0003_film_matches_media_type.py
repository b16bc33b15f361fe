"""film_matches.media_type: movie or tv, null while not found. Every film found so far was a movie.

Revision ID: 0003_film_matches_media_type
Revises: 0002_heartbeats_tmdb_budget
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_film_matches_media_type"
down_revision = "0002_heartbeats_tmdb_budget"
branch_labels = None
depends_on = None

# The table as this revision knows it, not database.film_matches, which later revisions may change.
film_matches = sa.table("film_matches", sa.column("tmdb_id", sa.Integer), sa.column("media_type", sa.String(8)))


def upgrade() -> None:
    op.add_column("film_matches", sa.Column("media_type", sa.String(8)))
    op.execute(film_matches.update().where(film_matches.c.tmdb_id.is_not(None)).values(media_type="movie"))


def downgrade() -> None:
    with op.batch_alter_table("film_matches") as batch:
        batch.drop_column("media_type")

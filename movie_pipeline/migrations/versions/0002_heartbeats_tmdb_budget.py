"""run_heartbeats (run liveness) and the deployment-wide TMDB budget (tmdb_start_schedule, tmdb_connection_leases):
added after the last release before migrations, so a stamped baseline lacks them.

Revision ID: 0002_heartbeats_tmdb_budget
Revises: 0001_baseline
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_heartbeats_tmdb_budget"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_heartbeats",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("upload", sa.String(120)),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_run_heartbeats_heartbeat_at", "run_heartbeats", ["heartbeat_at"])
    op.create_table(
        "tmdb_start_schedule",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("next_start", sa.Float, nullable=False),
    )
    op.create_table(
        "tmdb_connection_leases",
        sa.Column("holder", sa.String(120), primary_key=True),
        sa.Column("connections", sa.Integer, nullable=False),
        sa.Column("wanted", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("tmdb_connection_leases", "tmdb_start_schedule", "run_heartbeats"):
        op.drop_table(table)  # run_heartbeats' index goes with it

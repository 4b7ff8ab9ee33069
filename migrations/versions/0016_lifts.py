"""lifts: lifting a restriction or an objection is a request linked to the one that set it

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 04:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    # Plain nullable ADD COLUMNs (no table rebuild on SQLite); the uniqueness is an index,
    # and the foreign key a constraint where the engine can add one to a live table.
    op.add_column("requests", sa.Column("lift_of_id", sa.Integer(), nullable=True))
    op.add_column(
        "requests",
        sa.Column("lift_reason", sa.String(length=32), server_default="", nullable=False),
    )
    op.create_index("uq_requests_lift_of_id", "requests", ["lift_of_id"], unique=True)
    if op.get_bind().dialect.name != "sqlite":
        op.create_foreign_key(
            "requests_lift_of_id_fkey", "requests", "requests", ["lift_of_id"], ["id"]
        )


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("requests_lift_of_id_fkey", "requests", type_="foreignkey")
    op.drop_index("uq_requests_lift_of_id", table_name="requests")
    op.drop_column("requests", "lift_reason")  # SQLite 3.35+: no table rebuild
    op.drop_column("requests", "lift_of_id")

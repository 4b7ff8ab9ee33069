"""corrections: what the person asked to change, and the officer's decision per field

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 21:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    # A plain nullable ADD COLUMN: nothing makes SQLite rebuild `requests`.
    op.add_column('requests', sa.Column('correction', sa.JSON(), nullable=True))


def downgrade():
    op.drop_column('requests', 'correction')  # SQLite 3.35+: no table rebuild

"""transfer_url: the other company's HTTPS address a portability package is sent to

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN with a constant default: nothing makes SQLite rebuild `requests`.
    op.add_column(
        'requests',
        sa.Column('transfer_url', sa.String(length=2000), nullable=False, server_default=''),
    )


def downgrade():
    op.drop_column('requests', 'transfer_url')  # SQLite 3.35+: no table rebuild

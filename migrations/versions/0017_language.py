"""language: the language the person used, for every later email and letter

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 04:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN with a default: no table rebuild on SQLite; older requests are English.
    op.add_column(
        'requests',
        sa.Column('language', sa.String(length=8), server_default='en', nullable=False),
    )


def downgrade():
    op.drop_column('requests', 'language')  # SQLite 3.35+: no table rebuild

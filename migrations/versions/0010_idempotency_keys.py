"""idempotency keys

An API client may send `Idempotency-Key` with POST /api/v1/requests; a retry with the same
key (after a timeout or a 5xx) gets the request the first call made instead of a duplicate.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN and a unique index: nothing here makes SQLite rebuild `requests`,
    # which every other table references (a rebuild fails with foreign keys on).
    op.add_column('requests', sa.Column('idempotency_key', sa.String(length=200), nullable=True))
    op.add_column(
        'requests',
        sa.Column('idempotency_digest', sa.String(length=64), nullable=False, server_default=''),
    )
    op.create_index(
        'uq_requests_idempotency', 'requests', ['api_key_id', 'idempotency_key'], unique=True
    )


def downgrade():
    op.drop_index('uq_requests_idempotency', table_name='requests')
    op.drop_column('requests', 'idempotency_digest')  # SQLite 3.35+: no table rebuild
    op.drop_column('requests', 'idempotency_key')

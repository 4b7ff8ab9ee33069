"""appeals: an appeal is a request linked to the denied request it contests

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 00:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    # Plain nullable ADD COLUMNs (no table rebuild on SQLite); the uniqueness is an index,
    # and the foreign key a constraint where the engine can add one to a live table.
    op.add_column('requests', sa.Column('appeal_of_id', sa.Integer(), nullable=True))
    op.add_column('requests', sa.Column('appeal_hash', sa.String(length=64), nullable=True))
    op.create_index('uq_requests_appeal_of_id', 'requests', ['appeal_of_id'], unique=True)
    op.create_index('uq_requests_appeal_hash', 'requests', ['appeal_hash'], unique=True)
    if op.get_bind().dialect.name != 'sqlite':
        # PostgreSQL's own name for it, as it would name the model's unnamed key.
        op.create_foreign_key(
            'requests_appeal_of_id_fkey', 'requests', 'requests', ['appeal_of_id'], ['id']
        )


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('requests_appeal_of_id_fkey', 'requests', type_='foreignkey')
    op.drop_index('uq_requests_appeal_hash', table_name='requests')
    op.drop_index('uq_requests_appeal_of_id', table_name='requests')
    op.drop_column('requests', 'appeal_hash')  # SQLite 3.35+: no table rebuild
    op.drop_column('requests', 'appeal_of_id')

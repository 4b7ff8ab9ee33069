"""authorised agents: the agents list, the request's agent, and the purpose of an attached file

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 01:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'agents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('organisation', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_reason', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('email'),
    )
    # Plain nullable ADD COLUMNs: nothing makes SQLite rebuild `requests`.
    op.add_column('requests', sa.Column('agent_id', sa.Integer(), nullable=True))
    op.create_index('ix_requests_agent_id', 'requests', ['agent_id'])
    if op.get_bind().dialect.name != 'sqlite':
        op.create_foreign_key(
            'requests_agent_id_fkey', 'requests', 'agents', ['agent_id'], ['id']
        )
    op.add_column(
        'correspondence',
        sa.Column('purpose', sa.String(length=16), nullable=False, server_default='original'),
    )


def downgrade():
    op.drop_column('correspondence', 'purpose')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('requests_agent_id_fkey', 'requests', type_='foreignkey')
    op.drop_index('ix_requests_agent_id', table_name='requests')
    op.drop_column('requests', 'agent_id')  # SQLite 3.35+: no table rebuild
    op.drop_table('agents')

"""queue indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:00:00.000000

The staff queue pages by (due_on, id) within a status or an assignee's statuses, and counts
per status up to a cap: the old (status, due_on) index gives way to ones that end in id and,
for the first, carry the other filter columns, so those walks read the index alone.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_requests_queue',
        'requests',
        ['status', 'due_on', 'id', 'assignee_id', 'kind', 'regime'],
    )
    op.create_index(
        'ix_requests_assignee_queue', 'requests', ['assignee_id', 'status', 'due_on', 'id']
    )
    op.create_index('ix_requests_due_id', 'requests', ['due_on', 'id'])
    op.drop_index('ix_requests_status_due', table_name='requests')


def downgrade():
    op.create_index('ix_requests_status_due', 'requests', ['status', 'due_on'])
    op.drop_index('ix_requests_due_id', table_name='requests')
    op.drop_index('ix_requests_assignee_queue', table_name='requests')
    op.drop_index('ix_requests_queue', table_name='requests')

"""dashboard indexes: tasks by status, system and finishing time; answers by month

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-29 18:30:00.000000

The staff home counts the requests with a task waiting on its owner or failed, per system,
and each system's tasks finished in the last 90 days (ix_tasks_status: a few index entries
instead of every task), and the answers of the last twelve months with their due dates
(ix_requests_answered: read from the index alone).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_tasks_status', 'tasks', ['status', 'system_id', 'finished_at', 'request_id']
    )
    op.create_index('ix_requests_answered', 'requests', ['status', 'completed_at', 'due_on'])


def downgrade():
    op.drop_index('ix_requests_answered', table_name='requests')
    op.drop_index('ix_tasks_status', table_name='tasks')

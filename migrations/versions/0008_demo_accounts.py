"""demo accounts

The demo world's staff accounts have published passwords. They are marked, so that they stop
signing in once a real admin account exists (dsar.services.accounts.authenticate). Accounts
made before this revision under the demo's addresses are marked too.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 13:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

DEMO_EMAILS = ("admin@example.com", "officer@example.com", "auditor@example.com")


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('demo', sa.Boolean(), nullable=False, server_default=sa.false()))
    users = sa.table('users', sa.column('email', sa.String), sa.column('demo', sa.Boolean))
    op.execute(users.update().where(users.c.email.in_(DEMO_EMAILS)).values(demo=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('demo')

"""api key scopes

Each API key says what it may do (create requests, read its own requests, read every
request, vouch for an identity, download answers). Keys made before this revision keep what
their integrations were documented to do: create requests, vouch for identities, and read the
requests they created; reading other keys' requests and downloading answers, which any key
could do by mistake, now need an admin's grant in the workspace or with
`flask dsar set-api-key-scopes`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'scopes',
                sa.JSON(),
                nullable=False,
                server_default='["requests:create", "requests:read", "requests:vouch"]',
            )
        )
        batch_op.add_column(sa.Column('rotated_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('rotated_at')
        batch_op.drop_column('scopes')

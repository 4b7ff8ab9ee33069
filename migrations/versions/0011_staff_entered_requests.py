"""requests recorded by staff: the note on a late receipt date, and the original correspondence

An officer records a request that came by phone, letter or email, with its true date of
receipt (a reason when it is in the past) and the original attached.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 18:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN and CREATE TABLE: nothing makes SQLite rebuild `requests`.
    op.add_column(
        'requests', sa.Column('received_note', sa.Text(), nullable=False, server_default='')
    )
    op.create_table(
        'correspondence',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=100), nullable=False),
        sa.Column('original_name', sa.String(length=200), nullable=False),
        sa.Column('media_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('added_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['request_id'], ['requests.id']),
        sa.ForeignKeyConstraint(['added_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_correspondence_request_id', 'correspondence', ['request_id'])


def downgrade():
    op.drop_index('ix_correspondence_request_id', table_name='correspondence')
    op.drop_table('correspondence')
    op.drop_column('requests', 'received_note')  # SQLite 3.35+: no table rebuild

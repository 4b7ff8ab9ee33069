"""consent ledger: the person's choices, each system's receipt, one-time links

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29 14:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

REFUSED = "the consent ledger is append-only"


def upgrade():
    op.create_table(
        'consent_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('choice', sa.String(length=32), nullable=False),
        sa.Column('opted_in', sa.Boolean(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('actor', sa.String(length=120), nullable=False),
        sa.Column('notice_version', sa.Integer(), nullable=False),
        sa.Column('made_at', sa.DateTime(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.Column('origin_system_id', sa.Integer(), nullable=True),
        sa.Column('request_id', sa.Integer(), nullable=True),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id']),
        sa.ForeignKeyConstraint(['origin_system_id'], ['data_systems.id']),
        sa.ForeignKeyConstraint(['request_id'], ['requests.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'ix_consent_entries_email_choice', 'consent_entries', ['email', 'choice', 'id']
    )
    op.create_table(
        'choice_receipts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('system_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('found', sa.Integer(), nullable=True),
        sa.Column('receipt', sa.Text(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.String(length=64), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['consent_entries.id']),
        sa.ForeignKeyConstraint(['system_id'], ['data_systems.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_choice_receipts_entry_id', 'choice_receipts', ['entry_id'])
    op.create_table(
        'choice_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    # The ledger is append-only in the database itself, not only in dsar's code.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE FUNCTION consent_entries_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{REFUSED}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER consent_entries_append_only BEFORE UPDATE OR DELETE "
            "ON consent_entries FOR EACH ROW EXECUTE FUNCTION consent_entries_append_only()"
        )
    else:
        for verb in ('UPDATE', 'DELETE'):
            op.execute(
                f"CREATE TRIGGER consent_entries_no_{verb.lower()} BEFORE {verb} "
                f"ON consent_entries BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END"
            )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER consent_entries_append_only ON consent_entries")
        op.execute("DROP FUNCTION consent_entries_append_only()")
    else:
        for verb in ('update', 'delete'):
            op.execute(f"DROP TRIGGER consent_entries_no_{verb}")
    op.drop_table('choice_links')
    op.drop_index('ix_choice_receipts_entry_id', table_name='choice_receipts')
    op.drop_table('choice_receipts')
    op.drop_index('ix_consent_entries_email_choice', table_name='consent_entries')
    op.drop_table('consent_entries')

"""queue search: a folded search line per request, indexed by trigrams; received-date walks

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29 17:30:00.000000

SQLite: an FTS5 table with the trigram tokenizer over requests.search_text (external
content, kept in step by triggers). PostgreSQL: a pg_trgm GIN index on the same column.
Either finds any part of three characters or more of a name, email, phone or reference
without reading every request.
"""
from alembic import op
import sqlalchemy as sa

from dsar.search_text import line


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

BATCH = 5000
_SQLITE_TRIGGERS = {
    "requests_search_insert": (
        "AFTER INSERT ON requests BEGIN "
        "INSERT INTO requests_search(rowid, search_text) VALUES (new.id, new.search_text); END"
    ),
    "requests_search_delete": (
        "AFTER DELETE ON requests BEGIN "
        "INSERT INTO requests_search(requests_search, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); END"
    ),
    "requests_search_update": (
        "AFTER UPDATE OF search_text ON requests BEGIN "
        "INSERT INTO requests_search(requests_search, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); "
        "INSERT INTO requests_search(rowid, search_text) VALUES (new.id, new.search_text); END"
    ),
}


def _backfill(bind):
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, reference, name, email, phone FROM requests WHERE id > :last "
                "ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        bind.execute(
            sa.text("UPDATE requests SET search_text = :text WHERE id = :id"),
            [{"id": r.id, "text": line(r.reference, r.name, r.email, r.phone or "")} for r in rows],
        )
        last = rows[-1].id


def upgrade():
    op.add_column(
        'requests', sa.Column('search_text', sa.Text(), nullable=False, server_default='')
    )
    op.create_index('ix_requests_received', 'requests', ['status', 'received_at', 'id'])
    op.create_index(
        'ix_requests_assignee_received', 'requests', ['assignee_id', 'status', 'received_at', 'id']
    )
    bind = op.get_bind()
    _backfill(bind)
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE requests_search USING fts5("
            "search_text, content='requests', content_rowid='id', tokenize='trigram')"
        )
        for name, body in _SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
        op.execute("INSERT INTO requests_search(requests_search) VALUES ('rebuild')")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_requests_search_trgm ON requests "
            "USING gin (search_text gin_trgm_ops)"
        )


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE requests_search")
    else:
        op.execute("DROP INDEX ix_requests_search_trgm")
    op.drop_index('ix_requests_assignee_received', table_name='requests')
    op.drop_index('ix_requests_received', table_name='requests')
    op.drop_column('requests', 'search_text')  # SQLite 3.35+: no table rebuild

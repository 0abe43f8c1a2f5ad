"""directory_search_later_names (issue 7): PostgreSQL GIN index on the words of each search row's
names after the first, for the name tiers of a search (a prefix query per word instead of
reading every match; the first word is a range of the order index);
the order index covers the whole search order (sort_key, number, entry_id), number in collation
"C" on PostgreSQL as sort_key (a walk in that order needs no sort step)

Revision ID: e7a3c5b1d9f2
Revises: d5f3b0e2a8c4
Create Date: 2026-12-04 09:00:00.000000

SQLite: only the order index (its search reads the FTS5 tables; it compares bytes anyway).
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'e7a3c5b1d9f2'
down_revision = 'd5f3b0e2a8c4'
branch_labels = None
depends_on = None

# As accreditor.directory.models.LATER_NAME_WORDS (migrations never import the app).
LATER_NAME_WORDS = ("array_to_tsvector(array_remove(string_to_array(substr(name_key, "
                    "strpos(name_key, ' ') + 1), ' '), ''))")


def upgrade():
    pg = op.get_bind().dialect.name == 'postgresql'
    with op.batch_alter_table('directory_search', schema=None) as batch_op:
        batch_op.drop_index('ix_directory_search_sort')
        if pg:
            batch_op.alter_column('number', existing_type=sa.String(length=60),
                                  type_=sa.String(length=60, collation='C'),
                                  existing_nullable=False)
        batch_op.create_index('ix_directory_search_sort', ['sort_key', 'number', 'entry_id'],
                              unique=False)
    if pg:
        # Rows written before, as the code writes them now (`flask directory rebuild` would
        # too): the first word of name_key must be sort_key's (the index holds the later
        # words) — a legal name without letters or digits left sort_key empty and name_key
        # starting with a space, now sort_key comes from the names that have words — and no
        # word longer than 255 characters (a lexeme over 2,047 bytes cannot be indexed).
        op.execute("UPDATE directory_search SET sort_key = left(btrim(name_key), 250), "
                   "name_key = btrim(name_key) WHERE sort_key = '' AND btrim(name_key) <> ''")
        op.execute("UPDATE directory_search SET name_key = regexp_replace(name_key, "
                   "'(\\S{255})\\S+', '\\1', 'g') WHERE name_key ~ '\\S{255}\\S'")
        op.create_index('ix_directory_search_later_names', 'directory_search',
                        [sa.text(LATER_NAME_WORDS)], unique=False, postgresql_using='gin')


def downgrade():
    pg = op.get_bind().dialect.name == 'postgresql'
    if pg:
        op.drop_index('ix_directory_search_later_names', table_name='directory_search')
    with op.batch_alter_table('directory_search', schema=None) as batch_op:
        batch_op.drop_index('ix_directory_search_sort')
        if pg:
            batch_op.alter_column('number', existing_type=sa.String(length=60, collation='C'),
                                  type_=sa.String(length=60), existing_nullable=False)
        batch_op.create_index('ix_directory_search_sort', ['sort_key', 'number'], unique=False)

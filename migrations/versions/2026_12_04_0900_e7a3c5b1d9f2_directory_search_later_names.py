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

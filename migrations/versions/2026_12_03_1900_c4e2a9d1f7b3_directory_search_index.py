"""directory_search_index (issue 7): the search rows of the public directory, their filter values,
name words and facet counts; PostgreSQL full text (tsvector + GIN) and pg_trgm, SQLite FTS5

Revision ID: c4e2a9d1f7b3
Revises: b3d1f0c2a9e4
Create Date: 2026-12-03 19:00:00.000000

The index is derived data: after upgrading, ``flask directory rebuild`` fills it.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'c4e2a9d1f7b3'
down_revision = 'b3d1f0c2a9e4'
branch_labels = None
depends_on = None

# As accreditor.directory.models.SQLITE_FTS_DDL (migrations never import the app).
SQLITE_FTS_DDL = (
    "CREATE VIRTUAL TABLE directory_fts USING fts5(doc, "
    "tokenize = 'unicode61 remove_diacritics 0')",
    "CREATE VIRTUAL TABLE directory_fts_words USING fts5(word, content = 'directory_search_words',"
    " content_rowid = 'id', tokenize = 'trigram')",
)


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.create_table('directory_search',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('scope_type', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('until', sa.Date(), nullable=False),
    sa.Column('sort_key', sa.String(length=250).with_variant(sa.String(length=250, collation='C'), 'postgresql'), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('number_key', sa.String(length=60), nullable=False),
    sa.Column('name_key', sa.Text(), nullable=False),
    sa.Column('head', sa.Text(), nullable=False),
    sa.Column('codes', sa.Text(), nullable=False),
    sa.Column('tsv', sa.Text().with_variant(postgresql.TSVECTOR(), 'postgresql'), nullable=True),
    sa.Column('tsw', sa.Text().with_variant(postgresql.TSVECTOR(), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['directory_entries.id'], name=op.f('fk_directory_search_entry_id_directory_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_directory_search_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_directory_search')),
    postgresql_with={'toast_tuple_target': 128}
    )
    if dialect == 'postgresql':
        # As accreditor.directory.models.SEARCH_STORAGE_DDL: what searches read per row stays
        # in the row (only the document goes out of line).
        op.execute(
            "ALTER TABLE directory_search ALTER COLUMN sort_key SET STORAGE PLAIN, "
            "ALTER COLUMN number SET STORAGE PLAIN, ALTER COLUMN number_key SET STORAGE PLAIN, "
            "ALTER COLUMN scope_type SET STORAGE PLAIN, ALTER COLUMN status SET STORAGE PLAIN, "
            "ALTER COLUMN country SET STORAGE PLAIN, ALTER COLUMN name_key SET STORAGE MAIN, "
            "ALTER COLUMN codes SET STORAGE MAIN")
    with op.batch_alter_table('directory_search', schema=None) as batch_op:
        batch_op.create_index('ix_directory_search_filters', ['tenant_id', 'scope_type', 'status', 'country', 'until'], unique=False)
        batch_op.create_index('ix_directory_search_sort', ['sort_key', 'number'], unique=False)
        batch_op.create_index('ix_directory_search_until', ['until'], unique=False)
        batch_op.create_index('ix_directory_search_tsw', ['tsw'], unique=False, postgresql_using='gin')
        batch_op.create_index('ix_directory_search_number_trgm', ['number_key'], unique=False, postgresql_using='gin', postgresql_ops={'number_key': 'gin_trgm_ops'})
        batch_op.create_index('ix_directory_search_number_key', ['number_key'], unique=False)

    op.create_table('directory_search_values',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('value', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['directory_search.entry_id'], name=op.f('fk_directory_search_values_entry_id_directory_search'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('entry_id', 'kind', 'value', name=op.f('pk_directory_search_values'))
    )
    with op.batch_alter_table('directory_search_values', schema=None) as batch_op:
        batch_op.create_index('ix_directory_search_values_value', ['kind', 'value', 'entry_id'], unique=False)

    op.create_table('directory_search_words',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('word', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_search_words')),
    sa.UniqueConstraint('word', name=op.f('uq_directory_search_words_word'))
    )
    with op.batch_alter_table('directory_search_words', schema=None) as batch_op:
        batch_op.create_index('ix_directory_search_words_trgm', ['word'], unique=False, postgresql_using='gin', postgresql_ops={'word': 'gin_trgm_ops'})

    op.create_table('directory_search_counts',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('scope_type', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('until', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('value', sa.String(length=60), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_directory_search_counts_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'scope_type', 'status', 'country', 'until', 'kind', 'value', name=op.f('pk_directory_search_counts'))
    )
    if dialect == 'sqlite':
        for ddl in SQLITE_FTS_DDL:
            op.execute(ddl)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('DROP TABLE IF EXISTS directory_fts_words')
        op.execute('DROP TABLE IF EXISTS directory_fts')
    op.drop_table('directory_search_counts')
    with op.batch_alter_table('directory_search_words', schema=None) as batch_op:
        batch_op.drop_index('ix_directory_search_words_trgm', postgresql_using='gin', postgresql_ops={'word': 'gin_trgm_ops'})

    op.drop_table('directory_search_words')
    with op.batch_alter_table('directory_search_values', schema=None) as batch_op:
        batch_op.drop_index('ix_directory_search_values_value')

    op.drop_table('directory_search_values')
    with op.batch_alter_table('directory_search', schema=None) as batch_op:
        batch_op.drop_index('ix_directory_search_number_key')
        batch_op.drop_index('ix_directory_search_number_trgm', postgresql_using='gin', postgresql_ops={'number_key': 'gin_trgm_ops'})
        batch_op.drop_index('ix_directory_search_tsw', postgresql_using='gin')
        batch_op.drop_index('ix_directory_search_until')
        batch_op.drop_index('ix_directory_search_sort')
        batch_op.drop_index('ix_directory_search_filters')

    op.drop_table('directory_search')
    # pg_trgm stays installed: other databases objects may use it, and it is harmless.

"""directory_search_counts at eight grains (issue 7): each entry counted once per combination of
the single-valued filters kept (programme, status, country: the `grain` bits 1, 2, 4; a column
not kept holds ''), ended entries still listed counted too (by their last listed day), so a
search without words sums the few rows of its filters' grain — the front page the per-AB
totals — instead of the finest combinations plus the ended entries one by one

Revision ID: f1b7d3e9a2c6
Revises: e7a3c5b1d9f2
Create Date: 2026-12-04 13:00:00.000000

The table only summarises directory_search and directory_search_values: it is recreated and
refilled from them (what `flask directory rebuild` would do), on both back ends.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'f1b7d3e9a2c6'
down_revision = 'e7a3c5b1d9f2'
branch_labels = None
depends_on = None

# As accreditor.directory.models.GRAIN_BITS (migrations never import the app).
DIMS = (("scope_type", 1), ("status", 2), ("country", 4))
COLUMNS = "grain, kind, until, tenant_id, scope_type, status, country, value, n"
KEY = "s.until, s.tenant_id, s.scope_type, s.status, s.country"


def upgrade():
    op.drop_table('directory_search_counts')
    op.create_table('directory_search_counts',
    sa.Column('grain', sa.SmallInteger(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('until', sa.Date(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('scope_type', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('value', sa.String(length=60), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_directory_search_counts_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('grain', 'kind', 'until', 'tenant_id', 'scope_type', 'status', 'country', 'value', name=op.f('pk_directory_search_counts'))
    )
    op.execute(
        f"INSERT INTO directory_search_counts ({COLUMNS}) SELECT 7, '', {KEY}, '', COUNT(*) "
        f"FROM directory_search s GROUP BY {KEY} UNION ALL SELECT 7, v.kind, {KEY}, v.value, "
        f"COUNT(*) FROM directory_search s JOIN directory_search_values v "
        f"ON v.entry_id = s.entry_id GROUP BY v.kind, {KEY}, v.value")
    for grain in range(7):
        kept = [f"c.{column}" if grain & bit else "''" for column, bit in DIMS]
        group = "".join(f"{k}, " for k in kept if k != "''")
        op.execute(
            f"INSERT INTO directory_search_counts ({COLUMNS}) SELECT {grain}, c.kind, c.until, "
            f"c.tenant_id, {', '.join(kept)}, c.value, SUM(c.n) FROM directory_search_counts c "
            f"WHERE c.grain = 7 GROUP BY c.kind, c.until, c.tenant_id, {group}c.value")


def downgrade():
    op.drop_table('directory_search_counts')
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
    # the entries listed for good only (ended ones were counted one by one then)
    key = "s.tenant_id, s.scope_type, s.status, s.country, s.until"
    forever = "s.until = '9999-12-31'"
    op.execute(
        "INSERT INTO directory_search_counts (tenant_id, scope_type, status, country, until, "
        f"kind, value, n) SELECT {key}, '', '', COUNT(*) FROM directory_search s WHERE {forever} "
        f"GROUP BY {key} UNION ALL SELECT {key}, v.kind, v.value, COUNT(*) FROM "
        "directory_search s JOIN directory_search_values v ON v.entry_id = s.entry_id "
        f"WHERE {forever} GROUP BY {key}, v.kind, v.value")

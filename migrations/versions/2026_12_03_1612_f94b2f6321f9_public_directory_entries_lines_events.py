"""Public directory: entries, their public scope lines and status history (rules 20, 26, 27)

Revision ID: f94b2f6321f9
Revises: 7032a0fd7fdb
Create Date: 2026-12-03 16:12:28.509821

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f94b2f6321f9'
down_revision = '7032a0fd7fdb'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('directory_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cab_id', sa.Integer(), nullable=False),
    sa.Column('accreditation_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('legal_name', sa.String(length=250), nullable=False),
    sa.Column('trading_names', sa.JSON(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('website', sa.String(length=300), nullable=True),
    sa.Column('locations', sa.JSON(), nullable=False),
    sa.Column('contacts', sa.JSON(), nullable=False),
    sa.Column('programme_code', sa.String(length=20), nullable=False),
    sa.Column('programme_name', sa.String(length=120), nullable=False),
    sa.Column('scope_type', sa.String(length=30), nullable=False),
    sa.Column('standard', sa.String(length=60), nullable=False),
    sa.Column('edition', sa.String(length=20), nullable=False),
    sa.Column('ib_type', sa.String(length=1), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('status_since', sa.Date(), nullable=False),
    sa.Column('sanction_type', sa.String(length=20), nullable=True),
    sa.Column('lines_total', sa.Integer(), nullable=False),
    sa.Column('lines_suspended', sa.Integer(), nullable=False),
    sa.Column('initial_grant_on', sa.Date(), nullable=False),
    sa.Column('cycle_end_on', sa.Date(), nullable=True),
    sa.Column('expiry_on', sa.Date(), nullable=True),
    sa.Column('schedule_issue_no', sa.Integer(), nullable=False),
    sa.Column('schedule_issued_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('visible_until', sa.Date(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('lines_digest', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("(status IN ('expired', 'voluntarily_withdrawn', 'withdrawn')) = (ended_on IS NOT NULL)", name=op.f('ck_directory_entries_ended_dated')),
    sa.CheckConstraint("sanction_type IS NULL OR status IN ('suspended', 'partially_suspended')", name=op.f('ck_directory_entries_sanction_when_suspended')),
    sa.CheckConstraint("status IN ('accredited', 'partially_suspended', 'suspended', 'withdrawn', 'voluntarily_withdrawn', 'expired')", name=op.f('ck_directory_entries_status_public')),
    sa.CheckConstraint('(ended_on IS NULL) = (visible_until IS NULL)', name=op.f('ck_directory_entries_visible_until_set')),
    sa.ForeignKeyConstraint(['accreditation_id'], ['accreditations.id'], name=op.f('fk_directory_entries_accreditation_id_accreditations')),
    sa.ForeignKeyConstraint(['cab_id'], ['cabs.id'], name=op.f('fk_directory_entries_cab_id_cabs')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_directory_entries_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_entries')),
    sa.UniqueConstraint('accreditation_id', name=op.f('uq_directory_entries_accreditation_id')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_directory_entries_tenant_id_number'))
    )
    with op.batch_alter_table('directory_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_directory_entries_cab_id'), ['cab_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_directory_entries_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_directory_entries_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_directory_entries_tenant_name', ['tenant_id', 'legal_name', 'number'], unique=False)

    op.create_table('directory_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('from_status', sa.String(length=30), nullable=True),
    sa.Column('to_status', sa.String(length=30), nullable=False),
    sa.Column('sanction_type', sa.String(length=20), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("to_status IN ('accredited', 'partially_suspended', 'suspended', 'withdrawn', 'voluntarily_withdrawn', 'expired')", name=op.f('ck_directory_events_to_status_public')),
    sa.ForeignKeyConstraint(['entry_id'], ['directory_entries.id'], name=op.f('fk_directory_events_entry_id_directory_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_directory_events_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_events'))
    )
    with op.batch_alter_table('directory_events', schema=None) as batch_op:
        batch_op.create_index('ix_directory_events_entry_on', ['entry_id', 'occurred_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_directory_events_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('directory_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('accredited', 'suspended', 'withdrawn', 'expired')", name=op.f('ck_directory_lines_status_public')),
    sa.ForeignKeyConstraint(['entry_id'], ['directory_entries.id'], name=op.f('fk_directory_lines_entry_id_directory_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_directory_lines_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_lines'))
    )
    with op.batch_alter_table('directory_lines', schema=None) as batch_op:
        batch_op.create_index('ix_directory_lines_entry_position', ['entry_id', 'position', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_directory_lines_tenant_id'), ['tenant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('directory_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_directory_lines_tenant_id'))
        batch_op.drop_index('ix_directory_lines_entry_position')

    op.drop_table('directory_lines')
    with op.batch_alter_table('directory_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_directory_events_tenant_id'))
        batch_op.drop_index('ix_directory_events_entry_on')

    op.drop_table('directory_events')
    with op.batch_alter_table('directory_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_directory_entries_tenant_name')
        batch_op.drop_index(batch_op.f('ix_directory_entries_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_directory_entries_status'))
        batch_op.drop_index(batch_op.f('ix_directory_entries_cab_id'))

    op.drop_table('directory_entries')

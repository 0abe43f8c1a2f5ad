"""CAB requests (resignation, inactive, reactivation); decisions tied to a suspension, a
request or the lighter path; sanction proposals without a finding (rules 18, 22, 29, 39)

Revision ID: 7032a0fd7fdb
Revises: 59d49b7da0af
Create Date: 2026-12-03 16:11:36.484409

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7032a0fd7fdb'
down_revision = '59d49b7da0af'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cab_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cab_id', sa.Integer(), nullable=False),
    sa.Column('accreditation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('extent', sa.String(length=10), nullable=True),
    sa.Column('scope_item_ids', sa.JSON(), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=True),
    sa.Column('client_protection', sa.Text(), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('maker_ids', sa.JSON(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint("extent IS NULL OR extent IN ('full', 'partial')", name=op.f('ck_cab_requests_extent')),
    sa.CheckConstraint("kind <> 'resignation' OR (effective_on IS NOT NULL AND extent IS NOT NULL)", name=op.f('ck_cab_requests_resignation_dated')),
    sa.CheckConstraint("kind IN ('resignation', 'inactive', 'reactivation')", name=op.f('ck_cab_requests_kind')),
    sa.CheckConstraint("status IN ('submitted', 'accepted', 'carried_out', 'declined', 'withdrawn', 'lapsed')", name=op.f('ck_cab_requests_status')),
    sa.ForeignKeyConstraint(['accreditation_id'], ['accreditations.id'], name=op.f('fk_cab_requests_accreditation_id_accreditations')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_cab_requests_answered_by_id_users')),
    sa.ForeignKeyConstraint(['cab_id'], ['cabs.id'], name=op.f('fk_cab_requests_cab_id_cabs')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_cab_requests_submitted_by_id_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_cab_requests_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cab_requests'))
    )
    with op.batch_alter_table('cab_requests', schema=None) as batch_op:
        batch_op.create_index('ix_cab_requests_accreditation_status', ['accreditation_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_cab_requests_cab_id'), ['cab_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cab_requests_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspension_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cab_request_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('light_path', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f('ix_decisions_cab_request_id'), ['cab_request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_decisions_suspension_id'), ['suspension_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_decisions_cab_request_id_cab_requests'), 'cab_requests', ['cab_request_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_decisions_suspension_id_decisions'), 'decisions', ['suspension_id'], ['id'])
        batch_op.create_check_constraint(
            op.f('ck_decisions_extension_targets'),
            "kind <> 'extend_suspension' OR (suspension_id IS NOT NULL AND max_end_on IS NOT NULL)")

    with op.batch_alter_table('sanction_proposals', schema=None) as batch_op:
        batch_op.alter_column('finding_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index('uq_sanction_proposals_accreditation_source_due', ['accreditation_id', 'source', 'due_on'], unique=True, sqlite_where=sa.text('finding_id IS NULL'), postgresql_where=sa.text('finding_id IS NULL'))


def downgrade():
    # Proposals without a finding cannot stay once finding_id is required again.
    op.execute("DELETE FROM sanction_proposals WHERE finding_id IS NULL")
    with op.batch_alter_table('sanction_proposals', schema=None) as batch_op:
        batch_op.drop_index('uq_sanction_proposals_accreditation_source_due', sqlite_where=sa.text('finding_id IS NULL'), postgresql_where=sa.text('finding_id IS NULL'))
        batch_op.alter_column('finding_id',
               existing_type=sa.INTEGER(),
               nullable=False)

    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_decisions_extension_targets'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_decisions_suspension_id_decisions'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_decisions_cab_request_id_cab_requests'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_decisions_suspension_id'))
        batch_op.drop_index(batch_op.f('ix_decisions_cab_request_id'))
        batch_op.drop_column('light_path')
        batch_op.drop_column('cab_request_id')
        batch_op.drop_column('suspension_id')

    with op.batch_alter_table('cab_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cab_requests_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_cab_requests_cab_id'))
        batch_op.drop_index('ix_cab_requests_accreditation_status')

    op.drop_table('cab_requests')

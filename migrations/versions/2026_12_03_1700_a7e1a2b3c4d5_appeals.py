"""appeals: appeals and challenges, their review panels and overdue notices

Revision ID: a7e1a2b3c4d5
Revises: 37e41b2176aa
Create Date: 2026-12-03 17:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7e1a2b3c4d5'
down_revision = '37e41b2176aa'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cab_id', sa.Integer(), nullable=False),
    sa.Column('accreditation_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('finding_id', sa.Integer(), nullable=True),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('lodged_by_id', sa.Integer(), nullable=False),
    sa.Column('on_behalf', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('lodged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notified_on', sa.Date(), nullable=False),
    sa.Column('window_ends_on', sa.Date(), nullable=False),
    sa.Column('ack_due_on', sa.Date(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('outcome_due_on', sa.Date(), nullable=True),
    sa.Column('handler_id', sa.Integer(), nullable=True),
    sa.Column('handler_assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('outcome_reasons', sa.Text(), nullable=True),
    sa.Column('outcome_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.Column('withdrawn_reason', sa.Text(), nullable=True),
    sa.Column('review_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_requested_by_id', sa.Integer(), nullable=True),
    sa.Column('review_reason', sa.Text(), nullable=True),
    sa.Column('review_window_ends_on', sa.Date(), nullable=True),
    sa.Column('panel_appointed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('panel_outcome', sa.String(length=20), nullable=True),
    sa.Column('panel_reasons', sa.Text(), nullable=True),
    sa.Column('panel_decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('panel_recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint("(status = 'withdrawn') = (withdrawn_at IS NOT NULL)", name=op.f('ck_appeals_withdrawn_at')),
    sa.CheckConstraint("kind = 'appeal' OR finding_id IS NOT NULL", name=op.f('ck_appeals_challenge_of_nc')),
    sa.CheckConstraint("kind IN ('appeal', 'challenge')", name=op.f('ck_appeals_kind_known')),
    sa.CheckConstraint("status = 'lodged' OR status = 'withdrawn' OR acknowledged_at IS NOT NULL", name=op.f('ck_appeals_acknowledged_at')),
    sa.CheckConstraint("status NOT IN ('decided', 'review_requested', 'panel_review') OR outcome IS NOT NULL", name=op.f('ck_appeals_decided_has_outcome')),
    sa.CheckConstraint('(decision_id IS NULL) <> (finding_id IS NULL)', name=op.f('ck_appeals_one_subject')),
    sa.CheckConstraint('(outcome IS NULL) = (outcome_at IS NULL)', name=op.f('ck_appeals_outcome_at')),
    sa.CheckConstraint('(panel_outcome IS NULL) = (panel_decided_at IS NULL)', name=op.f('ck_appeals_panel_decided_at')),
    sa.CheckConstraint('outcome IS NULL OR outcome_reasons IS NOT NULL', name=op.f('ck_appeals_outcome_has_reasons')),
    sa.ForeignKeyConstraint(['accreditation_id'], ['accreditations.id'], name=op.f('fk_appeals_accreditation_id_accreditations')),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_appeals_acknowledged_by_id_users')),
    sa.ForeignKeyConstraint(['cab_id'], ['cabs.id'], name=op.f('fk_appeals_cab_id_cabs')),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name=op.f('fk_appeals_decision_id_decisions')),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_appeals_finding_id_findings')),
    sa.ForeignKeyConstraint(['handler_id'], ['users.id'], name=op.f('fk_appeals_handler_id_users')),
    sa.ForeignKeyConstraint(['lodged_by_id'], ['users.id'], name=op.f('fk_appeals_lodged_by_id_users')),
    sa.ForeignKeyConstraint(['outcome_by_id'], ['users.id'], name=op.f('fk_appeals_outcome_by_id_users')),
    sa.ForeignKeyConstraint(['panel_recorded_by_id'], ['users.id'], name=op.f('fk_appeals_panel_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['review_requested_by_id'], ['users.id'], name=op.f('fk_appeals_review_requested_by_id_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_appeals_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['users.id'], name=op.f('fk_appeals_withdrawn_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals')),
    sa.UniqueConstraint('tenant_id', 'year', 'seq', name=op.f('uq_appeals_tenant_id_year_seq'))
    )
    op.create_index(op.f('ix_appeals_accreditation_id'), 'appeals', ['accreditation_id'], unique=False)
    op.create_index(op.f('ix_appeals_cab_id'), 'appeals', ['cab_id'], unique=False)
    op.create_index(op.f('ix_appeals_decision_id'), 'appeals', ['decision_id'], unique=False)
    op.create_index(op.f('ix_appeals_finding_id'), 'appeals', ['finding_id'], unique=False)
    op.create_index(op.f('ix_appeals_handler_id'), 'appeals', ['handler_id'], unique=False)
    op.create_index(op.f('ix_appeals_tenant_id'), 'appeals', ['tenant_id'], unique=False)
    op.create_index('ix_appeals_tenant_status', 'appeals', ['tenant_id', 'status'], unique=False)
    op.create_index('uq_appeals_open_decision', 'appeals', ['decision_id'], unique=True, sqlite_where=sa.text("status NOT IN ('closed', 'withdrawn') AND decision_id IS NOT NULL"), postgresql_where=sa.text("status NOT IN ('closed', 'withdrawn') AND decision_id IS NOT NULL"))
    op.create_index('uq_appeals_open_finding', 'appeals', ['finding_id'], unique=True, sqlite_where=sa.text("status NOT IN ('closed', 'withdrawn') AND finding_id IS NOT NULL"), postgresql_where=sa.text("status NOT IN ('closed', 'withdrawn') AND finding_id IS NOT NULL"))
    op.create_table('appeal_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cab_id', sa.Integer(), nullable=False),
    sa.Column('appeal_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_appeal_notices_appeal_id_appeals')),
    sa.ForeignKeyConstraint(['cab_id'], ['cabs.id'], name=op.f('fk_appeal_notices_cab_id_cabs')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_appeal_notices_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeal_notices')),
    sa.UniqueConstraint('appeal_id', 'kind', 'due_on', name=op.f('uq_appeal_notices_appeal_id_kind_due_on'))
    )
    op.create_index(op.f('ix_appeal_notices_appeal_id'), 'appeal_notices', ['appeal_id'], unique=False)
    op.create_index(op.f('ix_appeal_notices_cab_id'), 'appeal_notices', ['cab_id'], unique=False)
    op.create_index(op.f('ix_appeal_notices_tenant_id'), 'appeal_notices', ['tenant_id'], unique=False)
    op.create_table('appeal_panel_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cab_id', sa.Integer(), nullable=False),
    sa.Column('appeal_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("role IN ('chair', 'member')", name=op.f('ck_appeal_panel_members_role_known')),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_appeal_panel_members_appeal_id_appeals')),
    sa.ForeignKeyConstraint(['cab_id'], ['cabs.id'], name=op.f('fk_appeal_panel_members_cab_id_cabs')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_appeal_panel_members_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_appeal_panel_members_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeal_panel_members')),
    sa.UniqueConstraint('appeal_id', 'user_id', name=op.f('uq_appeal_panel_members_appeal_id_user_id'))
    )
    op.create_index(op.f('ix_appeal_panel_members_appeal_id'), 'appeal_panel_members', ['appeal_id'], unique=False)
    op.create_index(op.f('ix_appeal_panel_members_cab_id'), 'appeal_panel_members', ['cab_id'], unique=False)
    op.create_index(op.f('ix_appeal_panel_members_tenant_id'), 'appeal_panel_members', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_appeal_panel_members_user_id'), 'appeal_panel_members', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_appeal_panel_members_user_id'), table_name='appeal_panel_members')
    op.drop_index(op.f('ix_appeal_panel_members_tenant_id'), table_name='appeal_panel_members')
    op.drop_index(op.f('ix_appeal_panel_members_cab_id'), table_name='appeal_panel_members')
    op.drop_index(op.f('ix_appeal_panel_members_appeal_id'), table_name='appeal_panel_members')
    op.drop_table('appeal_panel_members')
    op.drop_index(op.f('ix_appeal_notices_tenant_id'), table_name='appeal_notices')
    op.drop_index(op.f('ix_appeal_notices_cab_id'), table_name='appeal_notices')
    op.drop_index(op.f('ix_appeal_notices_appeal_id'), table_name='appeal_notices')
    op.drop_table('appeal_notices')
    op.drop_index('uq_appeals_open_finding', table_name='appeals', sqlite_where=sa.text("status NOT IN ('closed', 'withdrawn') AND finding_id IS NOT NULL"), postgresql_where=sa.text("status NOT IN ('closed', 'withdrawn') AND finding_id IS NOT NULL"))
    op.drop_index('uq_appeals_open_decision', table_name='appeals', sqlite_where=sa.text("status NOT IN ('closed', 'withdrawn') AND decision_id IS NOT NULL"), postgresql_where=sa.text("status NOT IN ('closed', 'withdrawn') AND decision_id IS NOT NULL"))
    op.drop_index('ix_appeals_tenant_status', table_name='appeals')
    op.drop_index(op.f('ix_appeals_tenant_id'), table_name='appeals')
    op.drop_index(op.f('ix_appeals_handler_id'), table_name='appeals')
    op.drop_index(op.f('ix_appeals_finding_id'), table_name='appeals')
    op.drop_index(op.f('ix_appeals_decision_id'), table_name='appeals')
    op.drop_index(op.f('ix_appeals_cab_id'), table_name='appeals')
    op.drop_index(op.f('ix_appeals_accreditation_id'), table_name='appeals')
    op.drop_table('appeals')

"""rendered documents and the AB identity

Revision ID: 1e075727b994
Revises: f94b2f6321f9
Create Date: 2026-12-03 16:14:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1e075727b994'
down_revision = 'f94b2f6321f9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rendered_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cab_id', sa.Integer(), nullable=False),
    sa.Column('accreditation_id', sa.Integer(), nullable=False),
    sa.Column('schedule_version_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('page_count', sa.Integer(), nullable=False),
    sa.Column('rendered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('schedule', 'certificate')", name=op.f('ck_rendered_documents_kind_known')),
    sa.CheckConstraint('page_count > 0', name=op.f('ck_rendered_documents_page_count_positive')),
    sa.CheckConstraint('size > 0', name=op.f('ck_rendered_documents_size_positive')),
    sa.ForeignKeyConstraint(['accreditation_id'], ['accreditations.id'], name=op.f('fk_rendered_documents_accreditation_id_accreditations')),
    sa.ForeignKeyConstraint(['cab_id'], ['cabs.id'], name=op.f('fk_rendered_documents_cab_id_cabs')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_rendered_documents_document_id_documents')),
    sa.ForeignKeyConstraint(['schedule_version_id'], ['schedule_versions.id'], name=op.f('fk_rendered_documents_schedule_version_id_schedule_versions')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_rendered_documents_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rendered_documents')),
    sa.UniqueConstraint('schedule_version_id', 'kind', name=op.f('uq_rendered_documents_schedule_version_id_kind'))
    )
    with op.batch_alter_table('rendered_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rendered_documents_accreditation_id'), ['accreditation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rendered_documents_cab_id'), ['cab_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rendered_documents_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_address', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('website', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('public_email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('logo_document_id', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('logo_document_id')
        batch_op.drop_column('public_email')
        batch_op.drop_column('website')
        batch_op.drop_column('public_address')

    with op.batch_alter_table('rendered_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rendered_documents_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_rendered_documents_cab_id'))
        batch_op.drop_index(batch_op.f('ix_rendered_documents_accreditation_id'))

    op.drop_table('rendered_documents')

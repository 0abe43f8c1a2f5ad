"""directory_exports (issue 7): the record of each open-data file of the directory

Revision ID: d5f3b0e2a8c4
Revises: c4e2a9d1f7b3
Create Date: 2026-12-03 19:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'd5f3b0e2a8c4'
down_revision = 'c4e2a9d1f7b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('directory_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=True),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("format IN ('csv', 'jsonl')", name=op.f('ck_directory_exports_format_known')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_directory_exports_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_exports'))
    )
    with op.batch_alter_table('directory_exports', schema=None) as batch_op:
        batch_op.create_index('ix_directory_exports_tenant_format', ['tenant_id', 'format', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('directory_exports', schema=None) as batch_op:
        batch_op.drop_index('ix_directory_exports_tenant_format')

    op.drop_table('directory_exports')

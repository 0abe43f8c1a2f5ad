"""directory_exports (issue 7)

Revision ID: d5f3b0e2a8c4
Revises: c4e2a9d1f7b3
Create Date: 2026-12-03 19:30:00.000000

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

# revision identifiers, used by Alembic.
revision = 'd5f3b0e2a8c4'
down_revision = 'c4e2a9d1f7b3'
branch_labels = None
depends_on = None


def upgrade():
    pass  # SKELETON: filled in by the directory_exports work


def downgrade():
    pass

"""directory_search_index (issue 7)

Revision ID: c4e2a9d1f7b3
Revises: b3d1f0c2a9e4
Create Date: 2026-12-03 19:00:00.000000

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

# revision identifiers, used by Alembic.
revision = 'c4e2a9d1f7b3'
down_revision = 'b3d1f0c2a9e4'
branch_labels = None
depends_on = None


def upgrade():
    pass  # SKELETON: filled in by the directory_search_index work


def downgrade():
    pass

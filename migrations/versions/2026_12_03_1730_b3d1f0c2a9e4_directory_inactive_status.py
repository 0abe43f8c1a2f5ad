"""directory: inactive is a public status (rule 22)

Revision ID: b3d1f0c2a9e4
Revises: a7e1a2b3c4d5
Create Date: 2026-12-03 17:30:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b3d1f0c2a9e4'
down_revision = 'a7e1a2b3c4d5'
branch_labels = None
depends_on = None

OLD = "'accredited', 'partially_suspended', 'suspended', 'withdrawn', 'voluntarily_withdrawn', 'expired'"
NEW = "'accredited', 'inactive', 'partially_suspended', 'suspended', 'withdrawn', 'voluntarily_withdrawn', 'expired'"


def _constraints(statuses: str) -> None:
    with op.batch_alter_table('directory_entries', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_directory_entries_status_public'), type_='check')
        batch_op.create_check_constraint(op.f('ck_directory_entries_status_public'),
                                         f"status IN ({statuses})")
    with op.batch_alter_table('directory_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_directory_events_to_status_public'), type_='check')
        batch_op.create_check_constraint(op.f('ck_directory_events_to_status_public'),
                                         f"to_status IN ({statuses})")


def upgrade():
    _constraints(NEW)


def downgrade():
    # Inactive entries cannot stay: the next publish (or `flask directory rebuild`) writes
    # them again once inactive is public.
    op.execute("DELETE FROM directory_events WHERE to_status = 'inactive'")
    op.execute("DELETE FROM directory_lines WHERE entry_id IN "
               "(SELECT id FROM directory_entries WHERE status = 'inactive')")
    op.execute("DELETE FROM directory_entries WHERE status = 'inactive'")
    _constraints(OLD)

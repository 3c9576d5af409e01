"""national ID number: a competition rule and the members' (masked) number

Revision ID: 9a0100000005
Revises: 9a0100000004
Create Date: 2026-11-27 06:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9a0100000005"
down_revision = "9a0100000004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("competitions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requires_national_id", sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("national_id", sa.String(length=18), nullable=True))


def downgrade():
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.drop_column("national_id")

    with op.batch_alter_table("competitions", schema=None) as batch_op:
        batch_op.drop_column("requires_national_id")

"""security: two-factor log-in, impersonation

Revision ID: 9a0100000003
Revises: 9a0100000002
Create Date: 2026-11-27 05:20:00

"""
import sqlalchemy as sa
from alembic import op

import competition.core.time

# revision identifiers, used by Alembic.
revision = '9a0100000003'
down_revision = '9a0100000002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', competition.core.time.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('totp_recovery_hashes', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_recovery_hashes')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')

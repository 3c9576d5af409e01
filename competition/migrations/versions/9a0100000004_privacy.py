"""privacy: consent, data requests, retention

Revision ID: 9a0100000004
Revises: 9a0100000003
Create Date: 2026-11-27 05:20:00

"""
import sqlalchemy as sa
from alembic import op

import competition.core.time

# revision identifiers, used by Alembic.
revision = '9a0100000004'
down_revision = '9a0100000003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('notice_version', sa.String(length=32), nullable=False),
    sa.Column('accepted_at', competition.core.time.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ip_prefix', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_consents_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consents'))
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consents_user_id'), ['user_id'], unique=False)

    op.create_table('deletion_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('requested_at', competition.core.time.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', competition.core.time.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("state IN ('requested', 'done', 'refused', 'cancelled')", name=op.f('ck_deletion_requests_state_known')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_deletion_requests_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_deletion_requests_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deletion_requests'))
    )
    with op.batch_alter_table('deletion_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deletion_requests_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_deletion_requests_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('competitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived_at', competition.core.time.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('uploads_retention_days', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(batch_op.f('ck_competitions_retention_non_negative'), 'uploads_retention_days >= 0')

    with op.batch_alter_table('submission_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', competition.core.time.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('submission_files', schema=None) as batch_op:
        batch_op.drop_column('purged_at')

    with op.batch_alter_table('competitions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_competitions_retention_non_negative'), type_='check')
        batch_op.drop_column('uploads_retention_days')
        batch_op.drop_column('archived_at')

    with op.batch_alter_table('deletion_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deletion_requests_user_id'))
        batch_op.drop_index(batch_op.f('ix_deletion_requests_state'))

    op.drop_table('deletion_requests')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consents_user_id'))

    op.drop_table('consents')

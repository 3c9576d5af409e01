"""communications: announcements, bulk e-mails

Revision ID: 9a0100000002
Revises: 9a0100000001
Create Date: 2026-11-27 05:20:00

"""
import sqlalchemy as sa
from alembic import op

import competition.core.time

# revision identifiers, used by Alembic.
revision = '9a0100000002'
down_revision = '9a0100000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competition_id', sa.Integer(), nullable=False),
    sa.Column('title_zh', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=300), nullable=False),
    sa.Column('body_zh', sa.Text(), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('pinned', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('published_at', competition.core.time.UTCDateTime(timezone=True), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', competition.core.time.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', competition.core.time.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_announcements_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['competition_id'], ['competitions.id'], name=op.f('fk_announcements_competition_id_competitions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcements'))
    )
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcements_competition_id'), ['competition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_announcements_published_at'), ['published_at'], unique=False)

    op.create_table('mailings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competition_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('segment', sa.JSON(), nullable=False),
    sa.Column('segment_label_zh', sa.String(length=500), nullable=False),
    sa.Column('segment_label_en', sa.String(length=500), nullable=False),
    sa.Column('subject_zh', sa.String(length=200), nullable=False),
    sa.Column('subject_en', sa.String(length=200), nullable=False),
    sa.Column('body_zh', sa.Text(), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('recipient_count', sa.Integer(), nullable=False),
    sa.Column('queued_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', competition.core.time.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], name=op.f('fk_mailings_announcement_id_announcements'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_mailings_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['competition_id'], ['competitions.id'], name=op.f('fk_mailings_competition_id_competitions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailings')),
    sa.UniqueConstraint('token', name=op.f('uq_mailings_token'))
    )
    with op.batch_alter_table('mailings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mailings_competition_id'), ['competition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mailings_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('mailings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mailings_created_at'))
        batch_op.drop_index(batch_op.f('ix_mailings_competition_id'))

    op.drop_table('mailings')
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcements_published_at'))
        batch_op.drop_index(batch_op.f('ix_announcements_competition_id'))

    op.drop_table('announcements')

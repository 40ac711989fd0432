"""assets

Revision ID: security_0001
Revises:
Create Date: 2026-11-22 02:42:07.963742
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'security_0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('asset',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('host', sa.String(length=253), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('host')
    )
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.create_index('ix_asset_owner_id', ['owner_id', 'id'], unique=False)
        batch_op.create_index('ix_asset_status_id', ['status', 'id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('topic', sa.String(length=120), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_published_at'), ['published_at'], unique=False)

    op.create_table('processed_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('consumer', sa.String(length=120), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('consumer', 'event_id')
    )


def downgrade() -> None:
    op.drop_table('processed_event')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_published_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_created_at'))

    op.drop_table('outbox')
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.drop_index('ix_asset_status_id')
        batch_op.drop_index('ix_asset_owner_id')

    op.drop_table('asset')

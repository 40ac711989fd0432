"""organizations and users

Revision ID: identity_0001
Revises:
Create Date: 2026-11-22 02:42:06.655290
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'identity_0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('organization',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('region_code', sa.String(length=15), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('parent_id', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('credit_code')
    )
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.create_index('ix_organization_kind_id', ['kind', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organization_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index('ix_organization_region_id', ['region_code', 'id'], unique=False)

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
    op.create_table('users',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('organization_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('person_uid', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('person_uid'),
    sa.UniqueConstraint('username')
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('ix_users_organization_id', ['organization_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_organization_id')

    op.drop_table('users')
    op.drop_table('processed_event')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_published_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_created_at'))

    op.drop_table('outbox')
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_index('ix_organization_region_id')
        batch_op.drop_index(batch_op.f('ix_organization_parent_id'))
        batch_op.drop_index('ix_organization_kind_id')

    op.drop_table('organization')

"""licences: the electronic licence table (nurse practising certificates first)

Revision ID: licences_0001
Revises: 
Create Date: 2026-11-22 02:43:15.536224
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'licences_0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('licence',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('type_code', sa.String(length=32), nullable=False),
    sa.Column('holder_uid', sa.String(length=40), nullable=False),
    sa.Column('holder_name', sa.String(length=64), nullable=False),
    sa.Column('holder_sex', sa.String(length=8), nullable=False),
    sa.Column('holder_id_number', sa.String(length=18), nullable=False),
    sa.Column('issuer_org_id', sa.String(length=64), nullable=False),
    sa.Column('issuer_name', sa.String(length=100), nullable=False),
    sa.Column('issued_at', sa.Date(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('revoked_at', sa.Date(), nullable=True),
    sa.Column('practice_institution_id', sa.String(length=64), nullable=True),
    sa.Column('practice_institution_name', sa.String(length=100), nullable=True),
    sa.Column('practice_category', sa.String(length=32), nullable=True),
    sa.Column('registered_at', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('licence', schema=None) as batch_op:
        batch_op.create_index('ix_licence_holder_valid_from', ['holder_uid', 'valid_from', 'id'], unique=False)

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
    with op.batch_alter_table('licence', schema=None) as batch_op:
        batch_op.drop_index('ix_licence_holder_valid_from')

    op.drop_table('licence')

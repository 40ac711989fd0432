"""services: the service catalogue (事项, 业务办理项) and applications (办件)

Revision ID: services_0001
Revises: 
Create Date: 2026-11-22 02:46:23.760274
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'services_0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    op.create_table('service_item',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('power_type', sa.String(length=24), nullable=False),
    sa.Column('party', sa.String(length=16), nullable=False),
    sa.Column('online_type', sa.String(length=32), nullable=False),
    sa.Column('dual_publicity', sa.Boolean(), nullable=False),
    sa.Column('xiaosu', sa.Boolean(), nullable=False),
    sa.Column('remark', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq')
    )
    op.create_table('business_item',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('item_id', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('sub_item_name', sa.String(length=100), nullable=True),
    sa.Column('levels', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['service_item.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq')
    )
    with op.batch_alter_table('business_item', schema=None) as batch_op:
        batch_op.create_index('ix_business_item_item_seq', ['item_id', 'seq'], unique=False)

    op.create_table('application',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('business_item_id', sa.String(length=16), nullable=False),
    sa.Column('applicant_uid', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['business_item_id'], ['business_item.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.create_index('ix_application_applicant_created', ['applicant_uid', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_business_item_id'), ['business_item_id'], unique=False)
        batch_op.create_index('ix_application_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_application_status_created', ['status', 'created_at', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index('ix_application_status_created')
        batch_op.drop_index('ix_application_created')
        batch_op.drop_index(batch_op.f('ix_application_business_item_id'))
        batch_op.drop_index('ix_application_applicant_created')

    op.drop_table('application')
    with op.batch_alter_table('business_item', schema=None) as batch_op:
        batch_op.drop_index('ix_business_item_item_seq')

    op.drop_table('business_item')
    op.drop_table('service_item')
    op.drop_table('processed_event')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_published_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_created_at'))

    op.drop_table('outbox')

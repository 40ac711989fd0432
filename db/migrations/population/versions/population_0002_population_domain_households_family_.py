"""population domain: households, family events, deaths, dispatch, checks, sharing, tallies

Revision ID: population_0002
Revises: population_0001
Create Date: 2026-11-22 07:16:18.808885
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'population_0002'
down_revision = 'population_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('check_run',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('persons_checked', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('items_opened', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('items_resolved', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('event_tally',
    sa.Column('region_code', sa.String(length=15), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('detail', sa.String(length=16), nullable=False),
    sa.Column('sex', sa.String(length=8), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('region_code', 'kind', 'day', 'detail', 'sex')
    )
    op.create_table('counter',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('last_value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('person_tally',
    sa.Column('region_code', sa.String(length=15), nullable=False),
    sa.Column('sex', sa.String(length=8), nullable=False),
    sa.Column('birth_month', sa.Integer(), nullable=False),
    sa.Column('mobility', sa.String(length=16), nullable=False),
    sa.Column('person_type', sa.String(length=24), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('region_code', 'sex', 'birth_month', 'mobility', 'person_type')
    )
    op.create_table('person_total',
    sa.Column('region_code', sa.String(length=15), nullable=False),
    sa.Column('sex', sa.String(length=8), nullable=False),
    sa.Column('mobility', sa.String(length=16), nullable=False),
    sa.Column('person_type', sa.String(length=24), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('region_code', 'sex', 'mobility', 'person_type')
    )
    op.create_table('personal_data_access',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=True),
    sa.Column('client_id', sa.String(length=64), nullable=True),
    sa.Column('organization_id', sa.String(length=64), nullable=True),
    sa.Column('person_uid', sa.String(length=40), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('fields', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('personal_data_access', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_personal_data_access_at'), ['at'], unique=False)
        batch_op.create_index('ix_personal_data_access_person_at', ['person_uid', 'at'], unique=False)

    op.create_table('share_record',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=True),
    sa.Column('subject', sa.String(length=64), nullable=True),
    sa.Column('dataset', sa.String(length=24), nullable=False),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('criteria', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('share_record', schema=None) as batch_op:
        batch_op.create_index('ix_share_record_client_at', ['client_id', 'at'], unique=False)
        batch_op.create_index('ix_share_record_dataset_at', ['dataset', 'at'], unique=False)

    op.create_table('work_tally',
    sa.Column('region_code', sa.String(length=15), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('detail', sa.String(length=32), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('region_code', 'kind', 'detail')
    )
    op.create_table('household',
    sa.Column('number', sa.String(length=15), nullable=False),
    sa.Column('region_code', sa.String(length=15), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('house_number', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], ),
    sa.PrimaryKeyConstraint('number')
    )
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_household_region_code'), ['region_code'], unique=False)

    op.create_table('check_item',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('person_uid', sa.String(length=40), nullable=False),
    sa.Column('rule_id', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('dimension', sa.String(length=16), nullable=False),
    sa.Column('region_code', sa.String(length=15), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.String(length=400), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['person_uid'], ['person.uid'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('person_uid', 'rule_id', name='uq_check_item_person_rule')
    )
    with op.batch_alter_table('check_item', schema=None) as batch_op:
        batch_op.create_index('ix_check_item_region_status', ['region_code', 'status', 'category'], unique=False)

    op.create_table('child',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('parent_uid', sa.String(length=40), nullable=False),
    sa.Column('child_uid', sa.String(length=40), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.Column('sex', sa.String(length=8), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=True),
    sa.Column('blood_relation', sa.String(length=16), server_default='BIRTH', nullable=False),
    sa.Column('policy_attribute', sa.String(length=16), nullable=True),
    sa.Column('birth_order', sa.Integer(), nullable=False),
    sa.Column('health_status', sa.String(length=16), nullable=True),
    sa.Column('birth_certificate_no', sa.String(length=20), nullable=True),
    sa.Column('change_date', sa.Date(), nullable=True),
    sa.Column('reported_on', sa.Date(), nullable=True),
    sa.Column('death_date', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=16), server_default='MANUAL', nullable=False),
    sa.Column('region_code', sa.String(length=15), nullable=False),
    sa.Column('deleted', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['child_uid'], ['person.uid'], ),
    sa.ForeignKeyConstraint(['parent_uid'], ['person.uid'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('id_number', name='uq_child_id_number')
    )
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_child_child_uid'), ['child_uid'], unique=False)
        batch_op.create_index('ix_child_parent', ['parent_uid'], unique=False)
        batch_op.create_index('ix_child_region_birth', ['region_code', 'birth_date'], unique=False)

    op.create_table('death_record',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('person_uid', sa.String(length=40), nullable=True),
    sa.Column('id_number', sa.String(length=18), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('police_deregistration_no', sa.String(length=40), nullable=True),
    sa.Column('death_certificate_no', sa.String(length=40), nullable=True),
    sa.Column('death_date', sa.Date(), nullable=False),
    sa.Column('cause', sa.String(length=200), nullable=True),
    sa.Column('responsible_region_code', sa.String(length=15), nullable=True),
    sa.Column('routed_by', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('return_reason', sa.String(length=200), nullable=True),
    sa.Column('return_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('feedback', sa.Text(), nullable=True),
    sa.Column('processed_by', sa.String(length=64), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_uid'], ['person.uid'], ),
    sa.ForeignKeyConstraint(['responsible_region_code'], ['region.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('death_record', schema=None) as batch_op:
        batch_op.create_index('ix_death_record_death_date', ['death_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_death_record_id_number'), ['id_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_death_record_person_uid'), ['person_uid'], unique=False)
        batch_op.create_index('ix_death_record_region_status', ['responsible_region_code', 'status'], unique=False)

    op.create_table('dispatch_order',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('person_uid', sa.String(length=40), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('origin_region_code', sa.String(length=15), nullable=False),
    sa.Column('target_region_code', sa.String(length=15), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('contact', sa.String(length=64), nullable=True),
    sa.Column('contact_phone', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_comment', sa.String(length=200), nullable=True),
    sa.Column('origin_acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['origin_region_code'], ['region.code'], ),
    sa.ForeignKeyConstraint(['person_uid'], ['person.uid'], ),
    sa.ForeignKeyConstraint(['target_region_code'], ['region.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dispatch_order', schema=None) as batch_op:
        batch_op.create_index('ix_dispatch_order_origin_status', ['origin_region_code', 'status'], unique=False)
        batch_op.create_index('ix_dispatch_order_person_status', ['person_uid', 'status'], unique=False)
        batch_op.create_index('ix_dispatch_order_target_status', ['target_region_code', 'status'], unique=False)

    op.create_table('marriage_event',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('person_uid', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('reported_on', sa.Date(), nullable=True),
    sa.Column('spouse_name', sa.String(length=64), nullable=True),
    sa.Column('spouse_id_number', sa.String(length=18), nullable=True),
    sa.Column('spouse_ethnicity', sa.String(length=2), nullable=True),
    sa.Column('spouse_birth_date', sa.Date(), nullable=True),
    sa.Column('spouse_education', sa.String(length=24), nullable=True),
    sa.Column('spouse_phone', sa.String(length=20), nullable=True),
    sa.Column('spouse_household_region_code', sa.String(length=15), nullable=True),
    sa.Column('spouse_residence_region_code', sa.String(length=15), nullable=True),
    sa.Column('deleted', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_uid'], ['person.uid'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('marriage_event', schema=None) as batch_op:
        batch_op.create_index('ix_marriage_event_person_date', ['person_uid', 'event_date'], unique=False)

    op.create_table('person_history',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('person_uid', sa.String(length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('comment', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['person_uid'], ['person.uid'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('person_history', schema=None) as batch_op:
        batch_op.create_index('ix_person_history_person_at', ['person_uid', 'at'], unique=False)

    op.create_table('support_enrollment',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('person_uid', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('policy', sa.String(length=100), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('exit_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_uid'], ['person.uid'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('support_enrollment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_enrollment_person_uid'), ['person_uid'], unique=False)

    op.create_table('death_evidence',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('death_record_id', sa.String(length=36), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('media_type', sa.String(length=80), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['death_record_id'], ['death_record.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('death_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_death_evidence_death_record_id'), ['death_record_id'], unique=False)

    op.create_table('death_record_event',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('death_record_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('region_code', sa.String(length=15), nullable=True),
    sa.Column('comment', sa.String(length=400), nullable=True),
    sa.ForeignKeyConstraint(['death_record_id'], ['death_record.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('death_record_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_death_record_event_death_record_id'), ['death_record_id'], unique=False)

    op.create_table('dispatch_event',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('order_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['dispatch_order.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dispatch_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_event_order_id'), ['order_id'], unique=False)

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_no', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('identity_code', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('identity_kind', sa.String(length=16), server_default='RESIDENT', nullable=False))
        batch_op.add_column(sa.Column('other_id_number', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('ethnicity', sa.String(length=2), server_default='01', nullable=False))
        batch_op.add_column(sa.Column('marital_status', sa.String(length=12), server_default='UNMARRIED', nullable=False))
        batch_op.add_column(sa.Column('hukou_type', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('education', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('person_type', sa.String(length=24), server_default='HOUSEHOLD_REGISTERED', nullable=False))
        batch_op.add_column(sa.Column('mobility', sa.String(length=16), server_default='RESIDENT', nullable=False))
        batch_op.add_column(sa.Column('occupation', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('household_address', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('residence_address', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('household_no', sa.String(length=15), nullable=True))
        batch_op.add_column(sa.Column('relation_to_head', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('children_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('boys_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('youngest_child_birth_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('status', sa.String(length=12), server_default='NORMAL', nullable=False))
        batch_op.add_column(sa.Column('deleted', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('cancelled_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('death_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.alter_column('id_number',
               existing_type=sa.VARCHAR(length=18),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_person_household_no'), ['household_no'], unique=False)
        batch_op.create_foreign_key('fk_person_household_no', 'household', ['household_no'], ['number'])

    # Records from before this revision: the person number is the graph key, and a resident's unified
    # identity code is the ID number (§1.3).
    op.execute("UPDATE person SET person_no = uid, identity_code = COALESCE(id_number, uid)")
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.alter_column('person_no', existing_type=sa.String(length=24), nullable=False)
        batch_op.alter_column('identity_code', existing_type=sa.String(length=80), nullable=False)
        batch_op.create_unique_constraint('uq_person_person_no', ['person_no'])
        batch_op.create_unique_constraint('uq_person_identity_code', ['identity_code'])



def downgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_constraint('fk_person_household_no', type_='foreignkey')
        batch_op.drop_constraint('uq_person_identity_code', type_='unique')
        batch_op.drop_constraint('uq_person_person_no', type_='unique')
        batch_op.drop_index(batch_op.f('ix_person_household_no'))
        batch_op.alter_column('id_number',
               existing_type=sa.VARCHAR(length=18),
               nullable=False)
        batch_op.drop_column('version')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('death_date')
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('cancelled_on')
        batch_op.drop_column('deleted')
        batch_op.drop_column('status')
        batch_op.drop_column('youngest_child_birth_date')
        batch_op.drop_column('boys_count')
        batch_op.drop_column('children_count')
        batch_op.drop_column('relation_to_head')
        batch_op.drop_column('household_no')
        batch_op.drop_column('residence_address')
        batch_op.drop_column('household_address')
        batch_op.drop_column('occupation')
        batch_op.drop_column('mobility')
        batch_op.drop_column('person_type')
        batch_op.drop_column('education')
        batch_op.drop_column('hukou_type')
        batch_op.drop_column('marital_status')
        batch_op.drop_column('ethnicity')
        batch_op.drop_column('other_id_number')
        batch_op.drop_column('identity_kind')
        batch_op.drop_column('identity_code')
        batch_op.drop_column('person_no')

    with op.batch_alter_table('dispatch_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_event_order_id'))

    op.drop_table('dispatch_event')
    with op.batch_alter_table('death_record_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_death_record_event_death_record_id'))

    op.drop_table('death_record_event')
    with op.batch_alter_table('death_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_death_evidence_death_record_id'))

    op.drop_table('death_evidence')
    with op.batch_alter_table('support_enrollment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_enrollment_person_uid'))

    op.drop_table('support_enrollment')
    with op.batch_alter_table('person_history', schema=None) as batch_op:
        batch_op.drop_index('ix_person_history_person_at')

    op.drop_table('person_history')
    with op.batch_alter_table('marriage_event', schema=None) as batch_op:
        batch_op.drop_index('ix_marriage_event_person_date')

    op.drop_table('marriage_event')
    with op.batch_alter_table('dispatch_order', schema=None) as batch_op:
        batch_op.drop_index('ix_dispatch_order_target_status')
        batch_op.drop_index('ix_dispatch_order_person_status')
        batch_op.drop_index('ix_dispatch_order_origin_status')

    op.drop_table('dispatch_order')
    with op.batch_alter_table('death_record', schema=None) as batch_op:
        batch_op.drop_index('ix_death_record_region_status')
        batch_op.drop_index(batch_op.f('ix_death_record_person_uid'))
        batch_op.drop_index(batch_op.f('ix_death_record_id_number'))
        batch_op.drop_index('ix_death_record_death_date')

    op.drop_table('death_record')
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.drop_index('ix_child_region_birth')
        batch_op.drop_index('ix_child_parent')
        batch_op.drop_index(batch_op.f('ix_child_child_uid'))

    op.drop_table('child')
    with op.batch_alter_table('check_item', schema=None) as batch_op:
        batch_op.drop_index('ix_check_item_region_status')

    op.drop_table('check_item')
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_household_region_code'))

    op.drop_table('household')
    op.drop_table('work_tally')
    with op.batch_alter_table('share_record', schema=None) as batch_op:
        batch_op.drop_index('ix_share_record_dataset_at')
        batch_op.drop_index('ix_share_record_client_at')

    op.drop_table('share_record')
    with op.batch_alter_table('personal_data_access', schema=None) as batch_op:
        batch_op.drop_index('ix_personal_data_access_person_at')
        batch_op.drop_index(batch_op.f('ix_personal_data_access_at'))

    op.drop_table('personal_data_access')
    op.drop_table('person_total')
    op.drop_table('person_tally')
    op.drop_table('counter')
    op.drop_table('event_tally')
    op.drop_table('check_run')

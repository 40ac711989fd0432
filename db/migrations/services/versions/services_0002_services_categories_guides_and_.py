"""services: categories, guides and materials, application events, documents and materials, licence holdings, appointments, handover slips, publicity, notices, bundles

Revision ID: services_0002
Revises: services_0001
Create Date: 2026-11-22 10:55:43.527372
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'services_0002'
down_revision = 'services_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bundle',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('handover_slip',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('hall_code', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('application_ids', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hall_code', 'day', name='uq_handover_slip_hall_day')
    )
    op.create_table('licence_holding',
    sa.Column('licence_id', sa.String(length=40), nullable=False),
    sa.Column('type_code', sa.String(length=32), nullable=False),
    sa.Column('holder_uid', sa.String(length=40), nullable=True),
    sa.Column('holder_org_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('licence_id')
    )
    with op.batch_alter_table('licence_holding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licence_holding_holder_org_id'), ['holder_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_licence_holding_holder_uid'), ['holder_uid'], unique=False)

    op.create_table('notice',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('blocks_submission', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('publicity',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('application_id', sa.String(length=40), nullable=False),
    sa.Column('business_item_id', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('decision', sa.String(length=500), nullable=False),
    sa.Column('decision_number', sa.String(length=40), nullable=True),
    sa.Column('region_code', sa.String(length=12), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('application_id')
    )
    with op.batch_alter_table('publicity', schema=None) as batch_op:
        batch_op.create_index('ix_publicity_kind_published', ['kind', 'published_at'], unique=False)

    op.create_table('search_count',
    sa.Column('keyword', sa.String(length=50), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('keyword', 'day')
    )
    op.create_table('service_category',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('parent_code', sa.String(length=32), nullable=True),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('bundle_case',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('business_id', sa.String(length=40), nullable=False),
    sa.Column('bundle_code', sa.String(length=32), nullable=False),
    sa.Column('applicant_uid', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=True),
    sa.Column('cancel_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bundle_code'], ['bundle.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('business_id')
    )
    with op.batch_alter_table('bundle_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bundle_case_applicant_uid'), ['applicant_uid'], unique=False)
        batch_op.create_index('ix_bundle_case_status_created', ['status', 'created_at'], unique=False)

    op.create_table('bundle_step',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('bundle_code', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('department', sa.String(length=64), nullable=False),
    sa.Column('item_code', sa.String(length=40), nullable=True),
    sa.Column('depends_on', sa.JSON(), nullable=False),
    sa.Column('editable_fields', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['bundle_code'], ['bundle.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bundle_code', 'code', name='uq_bundle_step_code')
    )
    with op.batch_alter_table('bundle_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bundle_step_bundle_code'), ['bundle_code'], unique=False)

    op.create_table('appointment',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('applicant_uid', sa.String(length=40), nullable=False),
    sa.Column('business_item_id', sa.String(length=16), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('hall_code', sa.String(length=40), nullable=False),
    sa.Column('slot_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('slot_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('suggested_slot', sa.DateTime(timezone=True), nullable=True),
    sa.Column('application_id', sa.String(length=40), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['business_item_id'], ['business_item.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_applicant_uid'), ['applicant_uid'], unique=False)
        batch_op.create_index('ix_appointment_hall_slot', ['hall_code', 'slot_start'], unique=False)

    op.create_table('bundle_case_version',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('corrected_step', sa.String(length=32), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['bundle_case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'version', name='uq_bundle_case_version')
    )
    with op.batch_alter_table('bundle_case_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bundle_case_version_case_id'), ['case_id'], unique=False)

    op.create_table('bundle_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=40), nullable=False),
    sa.Column('step_code', sa.String(length=32), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['bundle_case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bundle_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bundle_event_case_id'), ['case_id'], unique=False)

    op.create_table('bundle_sub_case',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('case_id', sa.String(length=40), nullable=False),
    sa.Column('step_code', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['bundle_case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'step_code', name='uq_bundle_sub_case_step')
    )
    with op.batch_alter_table('bundle_sub_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bundle_sub_case_case_id'), ['case_id'], unique=False)

    op.create_table('service_guide',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('business_item_id', sa.String(length=16), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('legal_basis', sa.JSON(), nullable=False),
    sa.Column('fees', sa.JSON(), nullable=False),
    sa.Column('statutory_days', sa.Integer(), nullable=False),
    sa.Column('promised_days', sa.Integer(), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('halls', sa.JSON(), nullable=False),
    sa.Column('scenarios', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['business_item_id'], ['business_item.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('business_item_id', 'region_code', name='uq_service_guide_item_region')
    )
    op.create_table('application_document',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('application_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('visible_to_applicant', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('application_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_document_application_id'), ['application_id'], unique=False)

    op.create_table('application_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.String(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=32), nullable=True),
    sa.Column('to_status', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.String(length=1000), nullable=True),
    sa.Column('documents', sa.JSON(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('application_id', 'seq', name='uq_application_event_seq')
    )
    with op.batch_alter_table('application_event', schema=None) as batch_op:
        batch_op.create_index('ix_application_event_action_at', ['action', 'at'], unique=False)
        batch_op.create_index('ix_application_event_at', ['at'], unique=False)

    op.create_table('application_material',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('application_id', sa.String(length=40), nullable=False),
    sa.Column('requirement_code', sa.String(length=32), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('content_type', sa.String(length=32), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('licence_id', sa.String(length=40), nullable=True),
    sa.Column('reused_from_material_id', sa.String(length=40), nullable=True),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('application_material', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_material_application_id'), ['application_id'], unique=False)

    op.create_table('material_requirement',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('guide_id', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('template_url', sa.String(length=200), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('mandatory', sa.Boolean(), nullable=False),
    sa.Column('licence_type', sa.String(length=32), nullable=True),
    sa.Column('kinds', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['guide_id'], ['service_guide.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('guide_id', 'code', name='uq_material_requirement_code')
    )
    with op.batch_alter_table('material_requirement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_material_requirement_guide_id'), ['guide_id'], unique=False)

    op.create_table('material_file',
    sa.Column('material_id', sa.String(length=40), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['material_id'], ['application_material.id'], ),
    sa.PrimaryKeyConstraint('material_id')
    )
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('applicant_type', sa.String(length=16), server_default='INDIVIDUAL', nullable=False))
        batch_op.add_column(sa.Column('applicant_org_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('applicant_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('applicant_id_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('region_code', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('organization_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('channel', sa.String(length=16), server_default='ONLINE', nullable=False))
        batch_op.add_column(sa.Column('form_data', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('suspended_from', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('rectification_due', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('certificate_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('delivery_method', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('delivery_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('carrier', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('waybill_number', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('rating', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('evaluation_comment', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('licence_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('source_licence_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('previous_application_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('bundle_case_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_index(batch_op.f('ix_application_applicant_id_digest'), ['applicant_id_digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_applicant_org_id'), ['applicant_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_bundle_case_id'), ['bundle_case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_region_code'), ['region_code'], unique=False)

    with op.batch_alter_table('business_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('licence_type', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('enabled', sa.Boolean(), server_default=sa.true(), nullable=False))

    with op.batch_alter_table('service_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category_code', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('business_area', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('channels', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('enabled', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.create_index(batch_op.f('ix_service_item_category_code'), ['category_code'], unique=False)

    # Rows from before this revision get empty JSON before the columns become required.
    op.execute("UPDATE application SET form_data = '{}' WHERE form_data IS NULL")
    op.execute("UPDATE service_item SET channels = '[]' WHERE channels IS NULL")
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.alter_column('form_data', existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table('service_item', schema=None) as batch_op:
        batch_op.alter_column('channels', existing_type=sa.JSON(), nullable=False)



def downgrade() -> None:
    with op.batch_alter_table('service_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_item_category_code'))
        batch_op.drop_column('enabled')
        batch_op.drop_column('channels')
        batch_op.drop_column('business_area')
        batch_op.drop_column('category_code')

    with op.batch_alter_table('business_item', schema=None) as batch_op:
        batch_op.drop_column('enabled')
        batch_op.drop_column('licence_type')
        batch_op.drop_column('kind')

    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_region_code'))
        batch_op.drop_index(batch_op.f('ix_application_organization_id'))
        batch_op.drop_index(batch_op.f('ix_application_due_at'))
        batch_op.drop_index(batch_op.f('ix_application_bundle_case_id'))
        batch_op.drop_index(batch_op.f('ix_application_applicant_org_id'))
        batch_op.drop_index(batch_op.f('ix_application_applicant_id_digest'))
        batch_op.drop_column('version')
        batch_op.drop_column('bundle_case_id')
        batch_op.drop_column('previous_application_id')
        batch_op.drop_column('source_licence_id')
        batch_op.drop_column('licence_id')
        batch_op.drop_column('evaluation_comment')
        batch_op.drop_column('rating')
        batch_op.drop_column('waybill_number')
        batch_op.drop_column('carrier')
        batch_op.drop_column('delivery_status')
        batch_op.drop_column('delivery_method')
        batch_op.drop_column('certificate_status')
        batch_op.drop_column('rectification_due')
        batch_op.drop_column('due_at')
        batch_op.drop_column('completed_at')
        batch_op.drop_column('accepted_at')
        batch_op.drop_column('suspended_from')
        batch_op.drop_column('form_data')
        batch_op.drop_column('channel')
        batch_op.drop_column('organization_id')
        batch_op.drop_column('region_code')
        batch_op.drop_column('applicant_id_digest')
        batch_op.drop_column('applicant_name')
        batch_op.drop_column('applicant_org_id')
        batch_op.drop_column('applicant_type')
        batch_op.drop_column('kind')

    op.drop_table('material_file')
    with op.batch_alter_table('material_requirement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_material_requirement_guide_id'))

    op.drop_table('material_requirement')
    with op.batch_alter_table('application_material', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_material_application_id'))

    op.drop_table('application_material')
    with op.batch_alter_table('application_event', schema=None) as batch_op:
        batch_op.drop_index('ix_application_event_at')
        batch_op.drop_index('ix_application_event_action_at')

    op.drop_table('application_event')
    with op.batch_alter_table('application_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_document_application_id'))

    op.drop_table('application_document')
    op.drop_table('service_guide')
    with op.batch_alter_table('bundle_sub_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bundle_sub_case_case_id'))

    op.drop_table('bundle_sub_case')
    with op.batch_alter_table('bundle_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bundle_event_case_id'))

    op.drop_table('bundle_event')
    with op.batch_alter_table('bundle_case_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bundle_case_version_case_id'))

    op.drop_table('bundle_case_version')
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_hall_slot')
        batch_op.drop_index(batch_op.f('ix_appointment_applicant_uid'))

    op.drop_table('appointment')
    with op.batch_alter_table('bundle_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bundle_step_bundle_code'))

    op.drop_table('bundle_step')
    with op.batch_alter_table('bundle_case', schema=None) as batch_op:
        batch_op.drop_index('ix_bundle_case_status_created')
        batch_op.drop_index(batch_op.f('ix_bundle_case_applicant_uid'))

    op.drop_table('bundle_case')
    op.drop_table('service_category')
    op.drop_table('search_count')
    with op.batch_alter_table('publicity', schema=None) as batch_op:
        batch_op.drop_index('ix_publicity_kind_published')

    op.drop_table('publicity')
    op.drop_table('notice')
    with op.batch_alter_table('licence_holding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_licence_holding_holder_uid'))
        batch_op.drop_index(batch_op.f('ix_licence_holding_holder_org_id'))

    op.drop_table('licence_holding')
    op.drop_table('handover_slip')
    op.drop_table('bundle')

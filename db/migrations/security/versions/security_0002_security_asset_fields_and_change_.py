"""security: asset fields and change history, incidents with recipients, disposal reports and change requests, protection records and change requests, drills, ops tickets, notices with deliveries and materials, alerts

Revision ID: security_0002
Revises: security_0001
Create Date: 2026-11-22 11:31:54.056612
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'security_0002'
down_revision = 'security_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('drill',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('drill_type', sa.String(length=16), nullable=False),
    sa.Column('sensitivity', sa.Integer(), nullable=False),
    sa.Column('org_ids', sa.JSON(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('ops_staff',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('ops_ticket',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('requester', sa.String(length=64), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=True),
    sa.Column('fault_type', sa.String(length=24), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('handler', sa.String(length=64), nullable=True),
    sa.Column('dispatched_by', sa.String(length=64), nullable=True),
    sa.Column('dispatch_count', sa.Integer(), nullable=False),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('ops_ticket', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ops_ticket_handler'), ['handler'], unique=False)
        batch_op.create_index(batch_op.f('ix_ops_ticket_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_ops_ticket_status_created', ['status', 'created_at'], unique=False)

    op.create_table('protection_change_request',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.String(length=40), nullable=True),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('proposed', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opinion', sa.String(length=500), nullable=True),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('protection_change_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_protection_change_request_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_protection_change_request_record_id'), ['record_id'], unique=False)

    op.create_table('protection_record',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('system_name', sa.String(length=128), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=True),
    sa.Column('asset_id', sa.String(length=64), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('filing_number', sa.String(length=40), nullable=True),
    sa.Column('filing_authority', sa.String(length=100), nullable=True),
    sa.Column('filed_on', sa.Date(), nullable=True),
    sa.Column('evaluated_on', sa.Date(), nullable=True),
    sa.Column('evaluation_body', sa.String(length=100), nullable=True),
    sa.Column('conclusion', sa.String(length=16), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('filing_number')
    )
    with op.batch_alter_table('protection_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_protection_record_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_protection_record_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_protection_record_region_code'), ['region_code'], unique=False)

    op.create_table('security_alert',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('attack_ip', sa.String(length=45), nullable=True),
    sa.Column('asset_id', sa.String(length=64), nullable=True),
    sa.Column('org_id', sa.String(length=40), nullable=True),
    sa.Column('region_code', sa.String(length=12), nullable=True),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handled_by', sa.String(length=64), nullable=True),
    sa.Column('incident_id', sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_id')
    )
    with op.batch_alter_table('security_alert', schema=None) as batch_op:
        batch_op.create_index('ix_security_alert_detected', ['detected_at'], unique=False)
        batch_op.create_index('ix_security_alert_handled', ['handled_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_security_alert_org_id'), ['org_id'], unique=False)

    op.create_table('security_incident',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('incident_type', sa.String(length=24), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('affected_org_id', sa.String(length=40), nullable=False),
    sa.Column('affected_asset_ids', sa.JSON(), nullable=False),
    sa.Column('affected_data', sa.String(length=200), nullable=True),
    sa.Column('region_code', sa.String(length=12), nullable=True),
    sa.Column('requirements', sa.Text(), nullable=False),
    sa.Column('measures_advice', sa.Text(), nullable=False),
    sa.Column('reporter', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('progress', sa.String(length=16), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('security_incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_incident_affected_org_id'), ['affected_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_security_incident_deadline'), ['deadline'], unique=False)
        batch_op.create_index('ix_security_incident_issued', ['issued_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_security_incident_region_code'), ['region_code'], unique=False)

    op.create_table('security_notice',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('notice_type', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('materials', sa.JSON(), nullable=False),
    sa.Column('material_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('edit_reason', sa.String(length=200), nullable=True),
    sa.Column('sender', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('asset_change',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('asset_id', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['asset.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('asset_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_asset_change_asset_id'), ['asset_id'], unique=False)

    op.create_table('disposal_report',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('incident_id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_by', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['security_incident.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('incident_id', 'org_id', name='uq_disposal_report_unit')
    )
    with op.batch_alter_table('disposal_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disposal_report_incident_id'), ['incident_id'], unique=False)

    op.create_table('drill_file',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('drill_id', sa.String(length=40), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['drill_id'], ['drill.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('drill_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drill_file_drill_id'), ['drill_id'], unique=False)

    op.create_table('drill_view_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('drill_id', sa.String(length=40), nullable=False),
    sa.Column('viewer', sa.String(length=64), nullable=False),
    sa.Column('content', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['drill_id'], ['drill.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('drill_view_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drill_view_log_drill_id'), ['drill_id'], unique=False)

    op.create_table('drill_viewer',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('drill_id', sa.String(length=40), nullable=False),
    sa.Column('principal', sa.String(length=64), nullable=False),
    sa.Column('max_sensitivity', sa.Integer(), nullable=False),
    sa.Column('granted_by', sa.String(length=64), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['drill_id'], ['drill.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('drill_id', 'principal', name='uq_drill_viewer')
    )
    with op.batch_alter_table('drill_viewer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drill_viewer_drill_id'), ['drill_id'], unique=False)

    op.create_table('incident_recipient',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('incident_id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('viewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminders', sa.Integer(), nullable=False),
    sa.Column('last_reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['security_incident.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('incident_id', 'org_id', name='uq_incident_recipient')
    )
    with op.batch_alter_table('incident_recipient', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_recipient_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_recipient_org_id'), ['org_id'], unique=False)

    op.create_table('notice_delivery',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('notice_id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refusal_reason', sa.String(length=200), nullable=True),
    sa.Column('material_status', sa.String(length=16), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.String(length=500), nullable=True),
    sa.Column('reminders', sa.Integer(), nullable=False),
    sa.Column('last_reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['security_notice.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('notice_id', 'org_id', name='uq_notice_delivery')
    )
    with op.batch_alter_table('notice_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_delivery_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_delivery_org_id'), ['org_id'], unique=False)

    op.create_table('ops_ticket_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.String(length=40), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ops_ticket.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ops_ticket_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ops_ticket_event_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('disposal_change_request',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('report_id', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('proposed', sa.JSON(), nullable=False),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opinion', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['report_id'], ['disposal_report.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('disposal_change_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disposal_change_request_report_id'), ['report_id'], unique=False)

    op.create_table('notice_material',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('submitted_by', sa.String(length=64), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['notice_delivery.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notice_material', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_material_delivery_id'), ['delivery_id'], unique=False)

    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('icp_filing_number', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('ip_segment', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('location', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('online_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('department', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('contact_name', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('region_code', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_index(batch_op.f('ix_asset_region_code'), ['region_code'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_asset_region_code'))
        batch_op.drop_column('version')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('verified_at')
        batch_op.drop_column('region_code')
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_name')
        batch_op.drop_column('department')
        batch_op.drop_column('online_date')
        batch_op.drop_column('location')
        batch_op.drop_column('ip_segment')
        batch_op.drop_column('icp_filing_number')

    with op.batch_alter_table('notice_material', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_material_delivery_id'))

    op.drop_table('notice_material')
    with op.batch_alter_table('disposal_change_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disposal_change_request_report_id'))

    op.drop_table('disposal_change_request')
    with op.batch_alter_table('ops_ticket_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ops_ticket_event_ticket_id'))

    op.drop_table('ops_ticket_event')
    with op.batch_alter_table('notice_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_delivery_org_id'))
        batch_op.drop_index(batch_op.f('ix_notice_delivery_notice_id'))

    op.drop_table('notice_delivery')
    with op.batch_alter_table('incident_recipient', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_recipient_org_id'))
        batch_op.drop_index(batch_op.f('ix_incident_recipient_incident_id'))

    op.drop_table('incident_recipient')
    with op.batch_alter_table('drill_viewer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drill_viewer_drill_id'))

    op.drop_table('drill_viewer')
    with op.batch_alter_table('drill_view_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drill_view_log_drill_id'))

    op.drop_table('drill_view_log')
    with op.batch_alter_table('drill_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drill_file_drill_id'))

    op.drop_table('drill_file')
    with op.batch_alter_table('disposal_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disposal_report_incident_id'))

    op.drop_table('disposal_report')
    with op.batch_alter_table('asset_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_asset_change_asset_id'))

    op.drop_table('asset_change')
    op.drop_table('security_notice')
    with op.batch_alter_table('security_incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_security_incident_region_code'))
        batch_op.drop_index('ix_security_incident_issued')
        batch_op.drop_index(batch_op.f('ix_security_incident_deadline'))
        batch_op.drop_index(batch_op.f('ix_security_incident_affected_org_id'))

    op.drop_table('security_incident')
    with op.batch_alter_table('security_alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_security_alert_org_id'))
        batch_op.drop_index('ix_security_alert_handled')
        batch_op.drop_index('ix_security_alert_detected')

    op.drop_table('security_alert')
    with op.batch_alter_table('protection_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_protection_record_region_code'))
        batch_op.drop_index(batch_op.f('ix_protection_record_org_id'))
        batch_op.drop_index(batch_op.f('ix_protection_record_asset_id'))

    op.drop_table('protection_record')
    with op.batch_alter_table('protection_change_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_protection_change_request_record_id'))
        batch_op.drop_index(batch_op.f('ix_protection_change_request_org_id'))

    op.drop_table('protection_change_request')
    with op.batch_alter_table('ops_ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ops_ticket_status_created')
        batch_op.drop_index(batch_op.f('ix_ops_ticket_org_id'))
        batch_op.drop_index(batch_op.f('ix_ops_ticket_handler'))

    op.drop_table('ops_ticket')
    op.drop_table('ops_staff')
    op.drop_table('drill')

"""licences: standards, ingestion and quality control, all eleven types, electronic licences, presentation and verification

Revision ID: licences_0002
Revises: licences_0001
Create Date: 2026-11-22 10:10:38.491174
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'licences_0002'
down_revision = 'licences_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chain_head',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('length', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('ingestion_auth_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('principal', sa.String(length=64), nullable=True),
    sa.Column('type_code', sa.String(length=32), nullable=True),
    sa.Column('accessed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('allowed', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ingestion_auth_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingestion_auth_log_accessed_at'), ['accessed_at'], unique=False)

    op.create_table('ingestion_batch',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('type_code', sa.String(length=32), nullable=False),
    sa.Column('standard_version_id', sa.String(length=40), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('submitted_by', sa.String(length=64), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('record_count', sa.Integer(), nullable=False),
    sa.Column('stored_count', sa.Integer(), nullable=False),
    sa.Column('updated_count', sa.Integer(), nullable=False),
    sa.Column('issue_count', sa.Integer(), nullable=False),
    sa.Column('resubmission_of', sa.String(length=40), nullable=True),
    sa.Column('records', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ingestion_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingestion_batch_resubmission_of'), ['resubmission_of'], unique=False)
        batch_op.create_index('ix_ingestion_batch_type_submitted', ['type_code', 'submitted_at'], unique=False)

    op.create_table('licence_operation_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('licence_id', sa.String(length=40), nullable=False),
    sa.Column('type_code', sa.String(length=32), nullable=False),
    sa.Column('operation', sa.String(length=16), nullable=False),
    sa.Column('operator', sa.String(length=64), nullable=False),
    sa.Column('operated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('licence_operation_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licence_operation_log_licence_id'), ['licence_id'], unique=False)
        batch_op.create_index('ix_operation_log_type_time', ['type_code', 'operated_at'], unique=False)

    op.create_table('licence_standard',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('type_code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('enabled_version_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('type_code')
    )
    op.create_table('presentation_client',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('allowed_types', sa.JSON(), nullable=False),
    sa.Column('allowed_scenarios', sa.JSON(), nullable=False),
    sa.Column('disclosure', sa.String(length=16), nullable=False),
    sa.Column('daily_limit', sa.Integer(), nullable=False),
    sa.Column('yearly_limit', sa.Integer(), nullable=False),
    sa.Column('blocked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('blocked_reason', sa.String(length=200), nullable=True),
    sa.Column('registered_by', sa.String(length=64), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('client_id')
    )
    op.create_table('presentation_record',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('presented_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('operator', sa.String(length=64), nullable=False),
    sa.Column('scenario', sa.String(length=64), nullable=False),
    sa.Column('type_code', sa.String(length=32), nullable=False),
    sa.Column('licence_id', sa.String(length=40), nullable=True),
    sa.Column('licence_number', sa.String(length=40), nullable=True),
    sa.Column('holder_name', sa.String(length=100), nullable=True),
    sa.Column('holder_id_number', sa.String(length=18), nullable=True),
    sa.Column('query', sa.JSON(), nullable=False),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('presentation_record', schema=None) as batch_op:
        batch_op.create_index('ix_presentation_client_time', ['client_id', 'presented_at'], unique=False)
        batch_op.create_index('ix_presentation_holder', ['holder_id_number'], unique=False)
        batch_op.create_index('ix_presentation_time', ['presented_at'], unique=False)
        batch_op.create_index('ix_presentation_type_time', ['type_code', 'presented_at'], unique=False)

    op.create_table('presentation_token',
    sa.Column('nonce', sa.String(length=40), nullable=False),
    sa.Column('licence_id', sa.String(length=40), nullable=False),
    sa.Column('holder_uid', sa.String(length=40), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('nonce')
    )
    with op.batch_alter_table('presentation_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_presentation_token_licence_id'), ['licence_id'], unique=False)

    op.create_table('presentation_usage',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('daily_lifted', sa.Integer(), server_default='0', nullable=False),
    sa.Column('yearly_lifted', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('client_id', 'day')
    )
    op.create_table('holder_link',
    sa.Column('id_digest', sa.String(length=64), nullable=False),
    sa.Column('uid', sa.String(length=40), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id_digest')
    )
    with op.batch_alter_table('holder_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holder_link_uid'), ['uid'], unique=False)

    op.create_table('signing_key',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('private_pem', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('upload_permission',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('principal', sa.String(length=64), nullable=False),
    sa.Column('type_code', sa.String(length=32), nullable=False),
    sa.Column('granted_by', sa.String(length=64), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_by', sa.String(length=64), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('upload_permission', schema=None) as batch_op:
        batch_op.create_index('ix_upload_permission_principal', ['principal', 'type_code'], unique=False)

    op.create_table('verification_record',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verifier', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('type_code', sa.String(length=32), nullable=True),
    sa.Column('licence_id', sa.String(length=40), nullable=True),
    sa.Column('token_nonce', sa.String(length=40), nullable=True),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('verification_record', schema=None) as batch_op:
        batch_op.create_index('ix_verification_time', ['verified_at'], unique=False)

    op.create_table('electronic_licence',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('licence_id', sa.String(length=40), nullable=False),
    sa.Column('template_id', sa.String(length=40), nullable=False),
    sa.Column('generation_mode', sa.String(length=16), nullable=False),
    sa.Column('preview', sa.Text(), nullable=False),
    sa.Column('face_digest', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=200), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['licence_id'], ['licence.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('licence_id')
    )
    op.create_table('licence_standard_version',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('standard_id', sa.String(length=40), nullable=False),
    sa.Column('version_no', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('change_summary', sa.String(length=500), nullable=False),
    sa.Column('diff', sa.JSON(), nullable=False),
    sa.Column('based_on_version_id', sa.String(length=40), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_comment', sa.String(length=500), nullable=True),
    sa.Column('enabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['standard_id'], ['licence_standard.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('standard_id', 'version_no', name='uq_standard_version_no')
    )
    with op.batch_alter_table('licence_standard_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licence_standard_version_standard_id'), ['standard_id'], unique=False)

    op.create_table('quality_issue',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.String(length=40), nullable=False),
    sa.Column('rule_code', sa.String(length=40), nullable=False),
    sa.Column('dimension', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('type_code', sa.String(length=32), nullable=False),
    sa.Column('issuer_name', sa.String(length=100), nullable=True),
    sa.Column('record_index', sa.Integer(), nullable=True),
    sa.Column('record_key', sa.String(length=200), nullable=True),
    sa.Column('field', sa.String(length=64), nullable=True),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('detected_on', sa.Date(), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ticket_id', sa.String(length=40), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['ingestion_batch.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('quality_issue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_issue_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index('ix_quality_issue_day', ['detected_on', 'rule_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_issue_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('rectification_ticket',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('batch_id', sa.String(length=40), nullable=False),
    sa.Column('type_code', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resubmitted_batch_id', sa.String(length=40), nullable=True),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['ingestion_batch.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('batch_id')
    )
    op.create_table('standard_change_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('standard_id', sa.String(length=40), nullable=False),
    sa.Column('version_id', sa.String(length=40), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('operator', sa.String(length=64), nullable=False),
    sa.Column('operated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['standard_id'], ['licence_standard.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('standard_change_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_standard_change_log_standard_id'), ['standard_id'], unique=False)

    op.create_table('data_element',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('version_id', sa.String(length=40), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('data_type', sa.String(length=16), nullable=False),
    sa.Column('max_length', sa.Integer(), nullable=True),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('value_domain', sa.JSON(), nullable=True),
    sa.Column('is_primary_key', sa.Boolean(), nullable=False),
    sa.Column('is_business_date', sa.Boolean(), nullable=False),
    sa.Column('envelope', sa.String(length=32), nullable=True),
    sa.Column('definition', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['licence_standard_version.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version_id', 'code', name='uq_data_element_code')
    )
    with op.batch_alter_table('data_element', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_element_version_id'), ['version_id'], unique=False)

    # The first licence table keyed certificates by number alone and had only nurse certificates: the
    # existing rows get the columns every type now has (their number is their business key) before the
    # columns become required, and the unnamed unique constraint on number gives way to (type, number).
    with op.batch_alter_table('licence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('business_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('holder_kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('holder_org_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('holder_id_type', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('holder_credit_code', sa.String(length=18), nullable=True))
        batch_op.add_column(sa.Column('holder_id_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('source_status', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('valid_flag', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('revoked_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('employer_org_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('fields', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('standard_version_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('batch_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('source_application_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('collection_source', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('collected_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ingested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    op.execute(
        "UPDATE licence SET business_key = number, holder_kind = 'PERSON', fields = '{}', "
        "collection_source = '', collected_at = created_at, ingested_at = created_at"
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint('licence_number_key', 'licence', type_='unique')
        unnamed: dict[str, str] = {}
    else:
        # SQLite's batch mode rebuilds the table; naming the reflected constraint lets it be dropped.
        unnamed = {'uq': 'uq_%(table_name)s_%(column_0_name)s'}
    with op.batch_alter_table('licence', schema=None, naming_convention=unnamed) as batch_op:
        if unnamed:
            batch_op.drop_constraint('uq_licence_number', type_='unique')
        for column in ('business_key', 'holder_kind', 'fields', 'collection_source'):
            batch_op.alter_column(column, existing_type=sa.JSON() if column == 'fields' else sa.String(),
                                  nullable=False)
        batch_op.alter_column('number', existing_type=sa.VARCHAR(length=32), type_=sa.String(length=40),
                              existing_nullable=False)
        batch_op.alter_column('holder_name', existing_type=sa.VARCHAR(length=64), type_=sa.String(length=100),
                              existing_nullable=False)
        for column in ('holder_uid', 'holder_sex', 'holder_id_number', 'issuer_org_id'):
            batch_op.alter_column(column, existing_type=sa.String(), nullable=True)
        for column in ('valid_from', 'valid_until'):
            batch_op.alter_column(column, existing_type=sa.DATE(), nullable=True)
        batch_op.create_index('ix_licence_employer', ['employer_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_licence_holder_id_digest'), ['holder_id_digest'], unique=False)
        batch_op.create_index('ix_licence_holder_id_number', ['holder_id_number', 'type_code'], unique=False)
        batch_op.create_index('ix_licence_holder_org', ['holder_org_id', 'type_code'], unique=False)
        batch_op.create_index('ix_licence_type_ingested', ['type_code', 'ingested_at', 'id'], unique=False)
        batch_op.create_unique_constraint('uq_licence_type_business_key', ['type_code', 'business_key'])
        batch_op.create_unique_constraint('uq_licence_type_number', ['type_code', 'number'])
        batch_op.create_unique_constraint('uq_licence_source_application', ['source_application_id'])



def downgrade() -> None:
    # Only the nurse certificates the first table could hold survive a downgrade.
    op.execute("DELETE FROM licence WHERE type_code <> 'NURSE_PRACTICE' OR holder_uid IS NULL "
               "OR valid_until IS NULL")
    with op.batch_alter_table('licence', schema=None) as batch_op:
        batch_op.drop_constraint('uq_licence_source_application', type_='unique')
        batch_op.drop_constraint('uq_licence_type_number', type_='unique')
        batch_op.drop_constraint('uq_licence_type_business_key', type_='unique')
        batch_op.drop_index('ix_licence_type_ingested')
        batch_op.drop_index('ix_licence_holder_org')
        batch_op.drop_index('ix_licence_holder_id_number')
        batch_op.drop_index('ix_licence_employer')
        batch_op.drop_index(batch_op.f('ix_licence_holder_id_digest'))
        for column in ('valid_until', 'valid_from'):
            batch_op.alter_column(column, existing_type=sa.DATE(), nullable=False)
        for column in ('issuer_org_id', 'holder_id_number', 'holder_sex', 'holder_uid'):
            batch_op.alter_column(column, existing_type=sa.String(), nullable=False)
        batch_op.alter_column('holder_name', existing_type=sa.String(length=100), type_=sa.VARCHAR(length=64),
                              existing_nullable=False)
        batch_op.alter_column('number', existing_type=sa.String(length=40), type_=sa.VARCHAR(length=32),
                              existing_nullable=False)
        batch_op.create_unique_constraint('licence_number_key', ['number'])
        for column in ('version', 'ingested_at', 'collected_at', 'collection_source', 'source_application_id',
                       'batch_id', 'standard_version_id', 'fields', 'employer_org_id', 'revoked_reason',
                       'valid_flag', 'source_status', 'holder_id_digest', 'holder_credit_code', 'holder_id_type', 'holder_org_id',
                       'holder_kind', 'business_key'):
            batch_op.drop_column(column)

    with op.batch_alter_table('data_element', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_element_version_id'))

    op.drop_table('data_element')
    with op.batch_alter_table('standard_change_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_standard_change_log_standard_id'))

    op.drop_table('standard_change_log')
    op.drop_table('rectification_ticket')
    with op.batch_alter_table('quality_issue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_issue_ticket_id'))
        batch_op.drop_index('ix_quality_issue_day')
        batch_op.drop_index(batch_op.f('ix_quality_issue_batch_id'))

    op.drop_table('quality_issue')
    with op.batch_alter_table('licence_standard_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_licence_standard_version_standard_id'))

    op.drop_table('licence_standard_version')
    op.drop_table('electronic_licence')
    with op.batch_alter_table('verification_record', schema=None) as batch_op:
        batch_op.drop_index('ix_verification_time')

    op.drop_table('verification_record')
    with op.batch_alter_table('upload_permission', schema=None) as batch_op:
        batch_op.drop_index('ix_upload_permission_principal')

    op.drop_table('upload_permission')
    op.drop_table('signing_key')
    with op.batch_alter_table('holder_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_holder_link_uid'))

    op.drop_table('holder_link')
    op.drop_table('presentation_usage')
    with op.batch_alter_table('presentation_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_presentation_token_licence_id'))

    op.drop_table('presentation_token')
    with op.batch_alter_table('presentation_record', schema=None) as batch_op:
        batch_op.drop_index('ix_presentation_type_time')
        batch_op.drop_index('ix_presentation_time')
        batch_op.drop_index('ix_presentation_holder')
        batch_op.drop_index('ix_presentation_client_time')

    op.drop_table('presentation_record')
    op.drop_table('presentation_client')
    op.drop_table('licence_standard')
    with op.batch_alter_table('licence_operation_log', schema=None) as batch_op:
        batch_op.drop_index('ix_operation_log_type_time')
        batch_op.drop_index(batch_op.f('ix_licence_operation_log_licence_id'))

    op.drop_table('licence_operation_log')
    with op.batch_alter_table('ingestion_batch', schema=None) as batch_op:
        batch_op.drop_index('ix_ingestion_batch_type_submitted')
        batch_op.drop_index(batch_op.f('ix_ingestion_batch_resubmission_of'))

    op.drop_table('ingestion_batch')
    with op.batch_alter_table('ingestion_auth_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ingestion_auth_log_accessed_at'))

    op.drop_table('ingestion_auth_log')
    op.drop_table('chain_head')

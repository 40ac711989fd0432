"""licences: the signing key ring (every key keeps its public key; a configured key stores no private part)

Revision ID: licences_0003
Revises: licences_0002
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives import serialization

revision = 'licences_0003'
down_revision = 'licences_0002'
branch_labels = None
depends_on = None

signing_key = sa.table('signing_key', sa.column('id', sa.String()), sa.column('private_pem', sa.Text()),
                       sa.column('public_pem', sa.Text()))


def _public_pem(private_pem: str) -> str:
    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def upgrade() -> None:
    with op.batch_alter_table('signing_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_pem', sa.Text(), nullable=True))
    connection = op.get_bind()
    # The keys stored so far are the library's own: each one's public key comes from its private key.
    for key_id, private_pem in connection.execute(sa.select(signing_key.c.id, signing_key.c.private_pem)).all():
        connection.execute(signing_key.update().where(signing_key.c.id == key_id)
                           .values(public_pem=_public_pem(private_pem)))
    with op.batch_alter_table('signing_key', schema=None) as batch_op:
        batch_op.alter_column('public_pem', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('private_pem', existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    # Keys without a private part (configured keys) cannot be kept by the earlier table.
    op.execute(signing_key.delete().where(signing_key.c.private_pem.is_(None)))
    with op.batch_alter_table('signing_key', schema=None) as batch_op:
        batch_op.alter_column('private_pem', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('public_pem')

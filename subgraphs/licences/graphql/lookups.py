"""Public lookups (护士执业信息查询, 医师执业信息查询, 医疗机构执业许可证查询; 5.2.3.6-5.2.3.8) and the health
certificate views (从业人员健康证在线查询, 5.2.3.5).

The lookups need no sign-in and show the PUBLIC face (licences.md §7.6). So that nobody can walk the
register, a person lookup needs the exact name with the certificate number or the ID number, and an
institution lookup a part of the name of at least two characters or the exact registration number, and
answers at most 20 licences. Invalidated records (validFlag 0) are left out; revoked ones show as INVALID,
which is what the public needs to know.

An employee sees only their own health certificate (FULL); an employer only its own staff's, with names in
full and personal details masked; anyone else none.
"""

from __future__ import annotations

import strawberry
from sqlalchemy import ColumnElement, select, true

from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.paging import Connection, PageRequest
from subgraphs.licences import models
from subgraphs.licences.codes import LicenceTypeCode
from subgraphs.licences.domain.statistics import status_condition
from subgraphs.licences.graphql.licences import UPLOADED, clean_text, contains, newest_first, uploaded_key
from subgraphs.licences.status import LicenceStatus, today_in_china
from subgraphs.licences.types import HEALTH_CERTIFICATE, Info, Licence, View, visible

L = models.Licence
T = LicenceTypeCode
MAX_MATCHES = 20
MIN_NAME_PART = 2
NURSE_TYPES = (T.NURSE_PRACTICE,)
# 医师执业信息查询 covers the practising and the qualification certificates of every kind of doctor.
DOCTOR_TYPES = (T.PHYSICIAN_PRACTICE, T.PHYSICIAN_QUALIFICATION, T.RURAL_DOCTOR_PRACTICE, T.TCM_SPECIALTY_PRACTICE,
                T.TCM_SPECIALTY_QUALIFICATION)
INSTITUTION_TYPES = (T.MEDICAL_INSTITUTION_PRACTICE, T.TCM_CLINIC_FILING)


async def _person_lookup(info: Info, types: tuple[LicenceTypeCode, ...], name: str, number: str | None,
                         id_number: str | None) -> list[Licence]:
    holder = clean_text(name)
    number, id_number = clean_text(number), clean_text(id_number)
    if holder is None:
        raise bad_input("The name is required.", argument="name")
    if number is None and id_number is None:
        raise bad_input("Give the certificate number or the ID number with the name.", argument="number")
    conditions: list[ColumnElement[bool]] = [
        L.type_code.in_([t.value for t in types]), L.holder_name == holder, L.valid_flag == true()]
    if number is not None:
        conditions.append(L.number == number)
    if id_number is not None:
        conditions.append(L.holder_id_number == id_number.upper())
    async with info.context.session() as session:
        rows = list((await session.scalars(
            select(L).where(*conditions).order_by(L.issued_at.desc(), L.id).limit(MAX_MATCHES))).all())
    return visible(info, rows, View.PUBLIC)


def _signed_in(info: Info) -> None:
    caller = info.context.caller
    if caller is None or caller.anonymous:
        raise domain_error(ErrorCode.UNAUTHENTICATED, "Sign in to see health certificates.")


@strawberry.type
class LookupQueries:
    @strawberry.field(description="护士执业信息查询 (public): a nurse's practising certificates by exact name and "
                                  "certificate number or ID number, newest first.")
    async def nurse_lookup(self, info: Info, name: str, number: str | None = None,
                           id_number: str | None = None) -> list[Licence]:
        return await _person_lookup(info, NURSE_TYPES, name, number, id_number)

    @strawberry.field(description="医师执业信息查询 (public): a doctor's practising and qualification certificates "
                                  "(医师, 乡村医生, 中医（专长）医师) by exact name and certificate number or ID "
                                  "number, newest first.")
    async def doctor_lookup(self, info: Info, name: str, number: str | None = None,
                            id_number: str | None = None) -> list[Licence]:
        return await _person_lookup(info, DOCTOR_TYPES, name, number, id_number)

    @strawberry.field(description="医疗机构执业许可证查询 (public): medical institution licences and TCM clinic "
                                  "filings by a part of the institution's name (at least 2 characters) and/or the "
                                  f"exact registration number (机构登记号 / 证照编号); at most {MAX_MATCHES}.")
    async def institution_lookup(self, info: Info, name: str | None = None,
                                 registration_no: str | None = None) -> list[Licence]:
        part, number = clean_text(name), clean_text(registration_no)
        if part is None and number is None:
            raise bad_input("Give a part of the institution's name or its registration number.", argument="name")
        if part is not None and len(part) < MIN_NAME_PART:
            raise bad_input(f"Give at least {MIN_NAME_PART} characters of the name.", argument="name")
        conditions: list[ColumnElement[bool]] = [
            L.type_code.in_([t.value for t in INSTITUTION_TYPES]), L.valid_flag == true()]
        if part is not None:
            conditions.append(contains(L.holder_name, part))
        if number is not None:
            conditions.append(L.number == number)
        async with info.context.session() as session:
            rows = list((await session.scalars(
                select(L).where(*conditions).order_by(L.holder_name, L.issued_at.desc(), L.id)
                .limit(MAX_MATCHES))).all())
        return visible(info, rows, View.PUBLIC)

    @strawberry.field(description="我的健康证: the signed-in person's own health certificates, newest first, with "
                                  "the whole face.")
    async def my_health_certificates(self, info: Info) -> list[Licence]:
        _signed_in(info)
        caller = info.context.caller
        if caller is None or not caller.person_uid:
            raise forbidden("Your account is not linked to a person, so it holds no health certificate.")
        async with info.context.session() as session:
            rows = list((await session.scalars(
                select(L).where(L.holder_uid == caller.person_uid, L.type_code == HEALTH_CERTIFICATE)
                .order_by(L.valid_from.desc(), L.id.desc()))).all())
        return visible(info, rows, View.DIRECT)

    @strawberry.field(description="本单位职工健康证: the health certificates of the signed-in employer's staff, newest "
                                  "upload first: names, numbers, validity and status; personal details masked.")
    async def staff_health_certificates(self, info: Info, name: str | None = None,
                                        status: LicenceStatus | None = None, first: int = 20,
                                        after: str | None = None) -> Connection[Licence]:
        _signed_in(info)
        caller = info.context.caller
        if caller is None or not caller.organization_id:
            raise forbidden("Staff health certificates are for the users of an employer (用人单位).")
        conditions: list[ColumnElement[bool]] = [
            L.type_code == HEALTH_CERTIFICATE, L.employer_org_id == caller.organization_id]
        if part := clean_text(name):
            conditions.append(contains(L.holder_name, part))
        if status is not None:
            conditions.append(status_condition(status, today_in_china()))
        async with info.context.session() as session:
            return await newest_first(session, select(L).where(*conditions), UPLOADED, L.id, uploaded_key,
                                      Licence.from_row, PageRequest(first=first, after=after))


queries: list[type] = [LookupQueries]
mutations: list[type] = []

"""Application materials: uploads checked by content, electronic licences instead (免提交), reuse of an earlier
application's material, and the download of a material's file (domain/materials.py has the rules)."""

from __future__ import annotations

import base64
import binascii

import strawberry

from subgraphs.common.errors import bad_input
from subgraphs.services import access
from subgraphs.services.domain import applications as domain
from subgraphs.services.domain import materials as rules
from subgraphs.services.types import ApplicationMaterial, Info


@strawberry.type(description="A material's file: base64 bytes with the type detected on upload.")
class MaterialContent:
    material: ApplicationMaterial
    content_type: str | None
    content_base64: str


def _decode(content_base64: str) -> bytes:
    # The declared size is checked before decoding would allocate more than the limit allows.
    if len(content_base64) > (rules.max_bytes() * 4) // 3 + 8:
        raise bad_input(f"The file is larger than the limit of {rules.max_bytes()} bytes.", argument="contentBase64",
                        limit=rules.max_bytes())
    try:
        return base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise bad_input("contentBase64 is not base64.", argument="contentBase64") from None


@strawberry.type
class MaterialQueries:
    @strawberry.field(description="The current materials of an application (its applicant and the staff who "
                                  "see it).")
    async def materials(self, info: Info, application_id: strawberry.ID) -> list[ApplicationMaterial]:
        async with info.context.session() as session:
            row = await domain.get_application(session, str(application_id))
            if not access.may_see(info.context.caller, row):
                raise domain.not_found(f"No application {application_id}.", argument="applicationId")
            return [ApplicationMaterial.from_row(m) for m in await rules.current_materials(session, row.id)]

    @strawberry.field(description="Download a material's file (its applicant and the staff who see it).")
    async def material_content(self, info: Info, id: strawberry.ID) -> MaterialContent:
        async with info.context.session() as session:
            material, content = await rules.content_of(session, info.context.caller, str(id))
        return MaterialContent(material=ApplicationMaterial.from_row(material), content_type=material.content_type,
                               content_base64=base64.b64encode(content).decode())


@strawberry.type
class MaterialMutations:
    @strawberry.mutation(description="Upload a material (PDF or JPG, judged by the bytes, not the name; at most "
                                     "SERVICES_MAX_MATERIAL_BYTES, 10 MiB by default) while the application is "
                                     "the applicant's to edit.")
    async def upload_material(self, info: Info, application_id: strawberry.ID, file_name: str,
                              content_base64: str, requirement_code: str | None = None,
                              name: str | None = None) -> ApplicationMaterial:
        content = _decode(content_base64)
        caller = info.context.caller
        async with info.context.session() as session, session.begin():
            application = await domain.get_application(session, str(application_id), for_update=True)
            if not access.may_see(caller, application):
                raise domain.not_found(f"No application {application_id}.", argument="applicationId")
            material = await rules.upload(session, caller, application, content=content, file_name=file_name,
                                          requirement_code=requirement_code, name=name)
        return ApplicationMaterial.from_row(material)

    @strawberry.mutation(description="免提交: an electronic licence the applicant holds (valid, of the type the "
                                     "requirement accepts) instead of an upload.")
    async def attach_licence_material(self, info: Info, application_id: strawberry.ID, requirement_code: str,
                                      licence_id: strawberry.ID) -> ApplicationMaterial:
        caller = info.context.caller
        async with info.context.session() as session, session.begin():
            application = await domain.get_application(session, str(application_id), for_update=True)
            if not access.may_see(caller, application):
                raise domain.not_found(f"No application {application_id}.", argument="applicationId")
            material = await rules.attach_licence(session, caller, application, requirement_code=requirement_code,
                                                  licence_id=str(licence_id))
        return ApplicationMaterial.from_row(material)

    @strawberry.mutation(description="历史办件复用: copy a material of the applicant's earlier completed application "
                                     "for the same service item.")
    async def reuse_material(self, info: Info, application_id: strawberry.ID, material_id: strawberry.ID,
                             requirement_code: str | None = None) -> ApplicationMaterial:
        caller = info.context.caller
        async with info.context.session() as session, session.begin():
            application = await domain.get_application(session, str(application_id), for_update=True)
            if not access.may_see(caller, application):
                raise domain.not_found(f"No application {application_id}.", argument="applicationId")
            material = await rules.reuse(session, caller, application, material_id=str(material_id),
                                         requirement_code=requirement_code)
        return ApplicationMaterial.from_row(material)


queries: list[type] = [MaterialQueries]
mutations: list[type] = [MaterialMutations]

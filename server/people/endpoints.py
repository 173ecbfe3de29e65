"""Structures, professionals, persons (usagers) and API clients."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import select

from server import authz
from server.audit.trail import AuditTrail, audited
from server.auth.browser_session import end_user_sessions
from server.auth.security import new_api_token
from server.authz import AdminAccount, Capability, DirectoryManager
from server.deps import SessionDep
from server.errors import Conflict, InvalidInput, NotFound
from server.models import ApiClient, CercleMember, Person, Professional, Structure, User
from server.models.person import MemberKind, Role
from server.people.accounts import (
    ADMIN_ROLE,
    DEACTIVATED_REASON,
    REVOKED_REASON,
    end_live_sessions,
    revoke_client,
    set_user_active,
    user_action,
)
from server.people.identifiers import INS_OIDS
from server.people.schemas import (
    ApiClientCreate,
    ApiClientCreated,
    ApiClientListed,
    PersonCreate,
    PersonRead,
    PersonUpdate,
    ProfessionalCreate,
    ProfessionalRead,
    StructureCreate,
    StructureRead,
    UserRead,
    UserUpdate,
)

router = APIRouter(prefix="/api", tags=["people"])


@router.post("/structures", status_code=status.HTTP_201_CREATED, response_model=StructureRead)
async def create_structure(
    body: StructureCreate, session: SessionDep, principal: DirectoryManager
) -> Structure:
    """Register a structure (ESMS, service, practice) by its FINESS (professionals, admins)."""
    if await session.scalar(select(Structure.id).where(Structure.finess == body.finess)):
        raise Conflict(f"Une structure avec le FINESS {body.finess} existe déjà.")
    structure = Structure(**body.model_dump())
    session.add(structure)
    await session.flush()
    return structure


@router.get("/structures", response_model=list[StructureRead])
async def list_structures(session: SessionDep, principal: DirectoryManager) -> list[Structure]:
    """List structures (professionals, administrators)."""
    return list(await session.scalars(select(Structure).order_by(Structure.name)))


@router.post("/professionals", status_code=status.HTTP_201_CREATED, response_model=ProfessionalRead)
async def create_professional(
    body: ProfessionalCreate, session: SessionDep, principal: DirectoryManager
) -> Professional:
    """Register a professional (RPPS optional, checked when given; professionals, admins)."""
    if body.rpps and await session.scalar(
        select(Professional.id).where(Professional.rpps == body.rpps)
    ):
        raise Conflict(f"Un professionnel avec le RPPS {body.rpps} existe déjà.")
    if body.structure_id is not None and await session.get(Structure, body.structure_id) is None:
        raise NotFound("Structure introuvable.")
    professional = Professional(**body.model_dump())
    session.add(professional)
    await session.flush()
    return professional


@router.get("/professionals", response_model=list[ProfessionalRead])
async def list_professionals(
    session: SessionDep, principal: DirectoryManager, structure_id: str | None = None
) -> list[Professional]:
    """List professionals, optionally of one structure (professionals, administrators)."""
    query = select(Professional).order_by(Professional.last_name, Professional.first_name)
    if structure_id:
        query = query.where(Professional.structure_id == structure_id)
    return list(await session.scalars(query))


@router.post("/persons", status_code=status.HTTP_201_CREATED, response_model=PersonRead)
async def create_person(
    body: PersonCreate,
    audit: Annotated[AuditTrail, audited("person.create", account=authz.professional_account)],
    session: SessionDep,
) -> PersonRead:
    """Register a person (usager) with their INS (professionals); the creator becomes
    coordinator of the cercle."""
    principal = audit.principal
    if body.ins_system is None:
        raise RuntimeError("body.ins_system is None")
    oid = INS_OIDS[body.ins_system]
    if await session.scalar(
        select(Person.id).where(Person.ins_oid == oid, Person.ins_matricule == body.ins_matricule)
    ):
        raise Conflict("Une personne avec ce matricule INS est déjà enregistrée.")
    if body.structure_id is not None and await session.get(Structure, body.structure_id) is None:
        raise NotFound("Structure introuvable.")
    data = body.model_dump(exclude={"ins_system"})
    person = Person(**data, ins_oid=oid, created_by=principal.id)
    session.add(person)
    await session.flush()
    session.add(
        CercleMember(
            person_id=person.id,
            kind=MemberKind.PROFESSIONAL.value,
            role=Role.COORDINATOR.value,
            user_id=principal.id,
            professional_id=principal.professional_id,
            display_name=principal.display_name,
            added_by=principal.id,
        )
    )
    audit.record("person", person.id, person_id=person.id, role=Role.COORDINATOR.value)
    return PersonRead.model_validate(person).model_copy(update={"my_role": "coordinator"})


@router.get("/persons", response_model=list[PersonRead])
async def list_persons(
    audit: Annotated[AuditTrail, audited("person.list")], session: SessionDep
) -> list[PersonRead]:
    """Persons whose cercle the caller belongs to (and who did not oppose sharing)."""
    persons = list(
        await session.scalars(
            authz.persons_with(audit.principal, Capability.SEE_PERSON).order_by(
                Person.birth_family_name, Person.id
            )
        )
    )
    roles = await audit.each("person", [(p.id, p.id) for p in persons])
    return [
        PersonRead.model_validate(person).model_copy(update={"my_role": roles[person.id]})
        for person in persons
    ]


@router.get("/persons/{person_id}", response_model=PersonRead)
async def get_person(
    person_id: str, audit: Annotated[AuditTrail, audited("person.read")], session: SessionDep
) -> PersonRead:
    """One person's identity."""
    person = await authz.get_person(session, audit.principal, person_id, Capability.SEE_PERSON)
    role = await authz.role_value(session, audit.principal, person.id)
    audit.record("person", person.id, person_id=person.id, role=role)
    return PersonRead.model_validate(person).model_copy(update={"my_role": role})


@router.patch("/persons/{person_id}", response_model=PersonRead)
async def update_person(
    person_id: str,
    body: PersonUpdate,
    audit: Annotated[AuditTrail, audited("person.update")],
    session: SessionDep,
) -> PersonRead:
    """Update administrative fields (coordinator). INS traits are not edited here."""
    person = await authz.get_person(session, audit.principal, person_id, Capability.MANAGE_CERCLE)
    changes = body.model_dump(exclude_unset=True)
    if (
        changes.get("structure_id")
        and await session.get(Structure, changes["structure_id"]) is None
    ):
        raise NotFound("Structure introuvable.")
    admitted = changes.get("admission_date")
    if admitted is not None and admitted < person.birth_date:
        message = "date d'admission avant la date de naissance"
        raise InvalidInput(
            "La date d'admission ne peut pas précéder la date de naissance "
            f"({person.birth_date:%d/%m/%Y}).",
            extra={"problems": [{"path": "admission_date", "message": message}]},
        )
    for key, value in changes.items():
        setattr(person, key, value)
    audit.record("person", person.id, person_id=person.id, role=Role.COORDINATOR.value)
    await session.flush()
    return PersonRead.model_validate(person).model_copy(update={"my_role": "coordinator"})


@router.post("/api-clients", status_code=status.HTTP_201_CREATED, response_model=ApiClientCreated)
async def create_api_client(
    body: ApiClientCreate,
    audit: Annotated[AuditTrail, audited("api_client.create", account=authz.admin_account)],
    session: SessionDep,
) -> ApiClientCreated:
    """Create an API client for a structure's software (administrators). The token is shown once."""
    if body.structure_id is not None and await session.get(Structure, body.structure_id) is None:
        raise NotFound("Structure introuvable.")
    token, prefix, token_hash = new_api_token()
    client = ApiClient(
        name=body.name,
        structure_id=body.structure_id,
        token_prefix=prefix,
        token_hash=token_hash,
    )
    session.add(client)
    await session.flush()
    audit.record("api_client", client.id, person_id=None, role=ADMIN_ROLE)
    return ApiClientCreated(
        id=client.id,
        name=client.name,
        structure_id=client.structure_id,
        token_prefix=prefix,
        revoked_at=None,
        token=token,
    )


@router.get("/api-clients", response_model=list[ApiClientListed])
async def list_api_clients(session: SessionDep, principal: AdminAccount) -> list[ApiClient]:
    """Every API client, revoked ones included, oldest first (administrators). No token is shown,
    not even its prefix."""
    return list(
        await session.scalars(select(ApiClient).order_by(ApiClient.created_at, ApiClient.id))
    )


@router.delete("/api-clients/{client_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_client(
    client_id: str,
    audit: Annotated[AuditTrail, audited("api_client.revoke", account=authz.admin_account)],
    session: SessionDep,
    request: Request,
) -> Response:
    """Revoke an API client (administrators): its token is refused (401) from the next request.
    Revoking it again changes nothing (204)."""
    client = await session.get(ApiClient, client_id)
    if client is None:
        raise NotFound("Client d'API introuvable.")
    if revoke_client(client):
        audit.record("api_client", client.id, person_id=None, role=ADMIN_ROLE)
    await session.commit()  # before closing its live connections: they must not reconnect
    await end_live_sessions(request.app.state, client.id, REVOKED_REASON)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch("/users/{user_id}", response_model=UserRead)
async def update_user(
    user_id: str,
    body: UserUpdate,
    audit: Annotated[AuditTrail, audited("user.update", account=authz.admin_account)],
    session: SessionDep,
    request: Request,
) -> UserRead:
    """Deactivate (``{"is_active": false}``) or reactivate a login (administrators). A deactivated
    account's tokens are refused (401) from the next request and it cannot log in; reactivating
    it restores both. An administrator cannot deactivate their own account."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("Compte utilisateur introuvable.")
    if user.id == audit.principal.id and not body.is_active:
        raise Conflict("Vous ne pouvez pas désactiver votre propre compte.")
    if set_user_active(user, body.is_active):
        audit.record(
            "user", user.id, person_id=None, role=ADMIN_ROLE, action=user_action(body.is_active)
        )
    if not body.is_active:
        await end_user_sessions(session, user.id)
        await session.commit()  # before closing its live connections: they must not reconnect
        await end_live_sessions(request.app.state, user.id, DEACTIVATED_REASON)
    return UserRead.model_validate(user)

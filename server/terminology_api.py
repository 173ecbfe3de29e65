"""SERAFIN-PH nomenclature: search, tree, one code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from editor.terminology import Concept, Kind, TreeNode, terminology
from server.auth.deps import CurrentPrincipal
from server.errors import NotFound

router = APIRouter(prefix="/api/terminology/serafin", tags=["terminology"])


class ConceptRead(BaseModel):
    code: str
    label: str
    kind: str
    parent: str | None
    deprecated: bool


class TreeNodeRead(ConceptRead):
    children: list[TreeNodeRead]


def _concept(concept: Concept) -> ConceptRead:
    return ConceptRead(
        code=concept.code,
        label=concept.label,
        kind=concept.kind.value,
        parent=concept.parent,
        deprecated=concept.deprecated,
    )


def _node(node: TreeNode) -> TreeNodeRead:
    return TreeNodeRead(
        **_concept(node.concept).model_dump(), children=[_node(child) for child in node.children]
    )


@router.get("", response_model=list[ConceptRead])
async def search(
    _principal: CurrentPrincipal,
    q: Annotated[str, Query(min_length=1, max_length=100, description="Code prefix or words")],
    kind: Kind | None = None,
    include_deprecated: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ConceptRead]:
    """Search by code prefix (``1.3.2``) or words (``logement``), accent- and case-insensitive.

    Deprecated codes are hidden unless ``include_deprecated`` (they stay valid on import).
    """
    found = terminology().search(q, kind, include_deprecated=include_deprecated, limit=limit)
    return [_concept(c) for c in found]


@router.get("/tree", response_model=list[TreeNodeRead])
async def tree(
    _principal: CurrentPrincipal, kind: Kind | None = None, include_deprecated: bool = False
) -> list[TreeNodeRead]:
    """The nomenclature as a tree (one root per bloc: besoins, prestations directes, indirectes)."""
    return [_node(n) for n in terminology().tree(kind, include_deprecated=include_deprecated)]


@router.get("/{code}", response_model=ConceptRead)
async def get_code(_principal: CurrentPrincipal, code: str) -> ConceptRead:
    """One code with its official label."""
    concept = terminology().get(code)
    if concept is None:
        raise NotFound(f"Code SERAFIN-PH inconnu : {code}")
    return _concept(concept)

"""``/api/nodes``: register, rotate, remove and list classroom nodes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from hub.api.deps import HubDep, require_admin

__all__ = ["router"]

router = APIRouter(prefix="/api/nodes", tags=["nodes"], dependencies=[Depends(require_admin)])

NodeId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class NodeCreate(BaseModel):
    node: NodeId


class NodeSecret(BaseModel):
    node: str
    #: The MQTT password; shown only in this answer, stored only as a hash.
    secret: str


@router.post("", status_code=201, response_model=NodeSecret)
async def add_node(body: NodeCreate, hub: HubDep) -> NodeSecret:
    return NodeSecret(node=body.node, secret=await hub.add_node(body.node))


@router.post("/{node}/rotate", response_model=NodeSecret)
async def rotate_node(node: str, hub: HubDep) -> NodeSecret:
    return NodeSecret(node=node, secret=await hub.rotate_node(node))


@router.delete("/{node}", status_code=204)
async def remove_node(node: str, hub: HubDep) -> Response:
    await hub.remove_node(node)
    return Response(status_code=204)


@router.get("")
async def list_nodes(hub: HubDep) -> list[dict[str, Any]]:
    return [
        {
            "node": info.node,
            "online": info.view.online,
            "last_seen_ms": info.view.last_seen_ms,
            "heartbeat_ms": info.view.heartbeat_ms,
            "heartbeat": info.view.heartbeat,
        }
        for info in await hub.list_nodes()
    ]

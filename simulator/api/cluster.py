"""GET /cluster/status: one ClusterInfo per healthy node."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.api.common import state
from simulator.auth import require_admin


async def cluster_status(request: Request) -> JSONResponse:
    require_admin(request)
    return JSONResponse([
        {"id": n.id, "version": n.version, "schema_version": n.schema_version, "config_hash": n.config_hash,
         "ipaddress": n.ipaddress, "hostname": n.hostname}
        for n in state(request).scenario.nodes
    ])


ROUTES = [Route("/api/v4/cluster/status", cluster_status, methods=["GET"])]

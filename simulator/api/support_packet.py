"""GET /system/support_packet: Mattermost's support packet zip, for system admins of a licensed server."""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from simulator import errors
from simulator.api.common import state
from simulator.auth import require_admin
from simulator.support_packet import build_packet, packet_filename, zip_chunks


def no_license() -> errors.AppError:
    return errors.AppError("api.no_license", "E10 or E20 license required to use this method.", 403)


async def support_packet(request: Request) -> StreamingResponse:
    # manage_system, refused to admins restricted by ExperimentalSettings.RestrictSystemAdmin (MM-42271).
    require_admin(request)
    st = state(request)
    if st.config["ExperimentalSettings"]["RestrictSystemAdmin"]:
        raise errors.permission_denied()
    if st.scenario.license is None:
        raise no_license()
    # Only the exact string "false" leaves the logs out. plugin_packets selects opt-in plugins (manifest prop
    # support_packet); no simulated plugin declares one, so the parameter changes nothing here.
    include_logs = request.query_params.get("basic_server_logs") != "false"
    now = int(time.time() * 1000)
    data = await run_in_threadpool(build_packet, st.scenario, st.config, include_logs=include_logs,
                                   generated_at_ms=now)
    return StreamingResponse(iter(zip_chunks(data)), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{packet_filename(st.scenario, now)}"',
        "Cache-Control": "no-cache, no-store, must-revalidate",
    })


ROUTES = [Route("/api/v4/system/support_packet", support_packet, methods=["GET"])]

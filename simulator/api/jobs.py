"""GET /jobs: newest first, filtered by job_type and status, paged."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.api.common import page_of, paging, state
from simulator.auth import require_admin


async def list_jobs(request: Request) -> JSONResponse:
    # Plain users hold no read_*_job permission, so every job type is refused to them.
    require_admin(request)
    job_type = request.query_params.get("job_type", "")
    status = request.query_params.get("status", "")
    jobs = [j for j in state(request).scenario.jobs
            if (not job_type or j.type == job_type) and (not status or j.status == status)]
    page, per_page = paging(request)
    return JSONResponse([
        {"id": j.id, "type": j.type, "priority": j.priority, "create_at": j.create_at, "start_at": j.start_at,
         "last_activity_at": j.last_activity_at, "status": j.status, "progress": j.progress, "data": j.data}
        for j in page_of(jobs, page, per_page)
    ])


ROUTES = [Route("/api/v4/jobs", list_jobs, methods=["GET"])]

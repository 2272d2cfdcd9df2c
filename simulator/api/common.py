"""Small helpers every handler uses: the simulator state, Mattermost's query-parameter and body parsing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from simulator import errors

if TYPE_CHECKING:
    from simulator.state import SimulatorState

PER_PAGE_DEFAULT = 60
PER_PAGE_MAX = 200
_TRUE = {"1", "t", "T", "true", "TRUE", "True"}  # strconv.ParseBool's spellings of true


def state(request: Request) -> SimulatorState:
    return request.app.state.sim


async def json_body(request: Request, name: str) -> Any:
    """The request's JSON (None when empty); a body that does not parse is Mattermost's invalid `name`."""
    try:
        return json.loads(await request.body() or b"null")
    except json.JSONDecodeError:
        raise errors.invalid_param(name) from None


def query_bool(request: Request, name: str) -> bool:
    return request.query_params.get(name, "") in _TRUE


def paging(request: Request) -> tuple[int, int]:
    """page and per_page as Mattermost reads them: invalid values fall back to the defaults, per_page is
    capped at 200 rather than refused."""
    page = _non_negative_int(request.query_params.get("page"), 0)
    per_page = min(_non_negative_int(request.query_params.get("per_page"), PER_PAGE_DEFAULT), PER_PAGE_MAX)
    return page, per_page


def page_of(items: list[Any] | tuple[Any, ...], page: int, per_page: int) -> list[Any]:
    return list(items[page * per_page:(page + 1) * per_page])


def _non_negative_int(raw: str | None, default: int) -> int:
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    return value if value >= 0 else default

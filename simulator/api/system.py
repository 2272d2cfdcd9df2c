"""GET /system/ping, /config, /config/client and /license/client."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator import errors
from simulator.api.common import query_bool, state
from simulator.auth import optional_session, require_admin
from simulator.model import License
from simulator.sanitize import FAKE_SETTING

STATUS_OK = "OK"
STATUS_UNHEALTHY = "UNHEALTHY"

# Keys a caller without read_license_information does not get (GetSanitizedClientLicense, v11).
_LICENSE_PRIVATE_KEYS = ("Id", "Name", "Email", "IssuedAt", "StartsAt", "ExpiresAt", "SkuName")


async def ping(request: Request) -> JSONResponse:
    st = state(request)
    health = st.scenario.health
    requirements = st.config["ClientRequirements"]
    body: dict[str, Any] = {
        "ActiveSearchBackend": health.active_search_backend,
        "AndroidLatestVersion": requirements["AndroidLatestVersion"],
        "AndroidMinVersion": requirements["AndroidMinVersion"],
        "IosLatestVersion": requirements["IosLatestVersion"],
        "IosMinVersion": requirements["IosMinVersion"],
        "status": STATUS_OK if health.goroutines_ok else STATUS_UNHEALTHY,
    }
    headers: dict[str, str] = {}
    # Only the explicit "true" triggers the database write and file-store test, as in v11.
    if request.query_params.get("get_server_status") == "true":
        body["database_status"] = STATUS_OK if health.database_ok else STATUS_UNHEALTHY
        body["filestore_status"] = STATUS_OK if health.filestore_ok else STATUS_UNHEALTHY
        if not (health.database_ok and health.filestore_ok):
            body["status"] = STATUS_UNHEALTHY
        headers = {k: body[k] for k in ("status", "database_status", "filestore_status")}
        session = optional_session(request)
        if session is not None and session.is_admin:
            body["root_status"] = health.running_as_root
    unhealthy = body["status"] != STATUS_OK and request.query_params.get("use_rest_semantics") != "true"
    # Go marshals the map with sorted keys.
    return JSONResponse(dict(sorted(body.items())), status_code=500 if unhealthy else 200, headers=headers)


# What GitHub's "latest release" of mattermost/mattermost says, as the server relays it. Real servers without
# internet access answer 500 here; the simulator plays one that can reach GitHub.
LATEST_RELEASE = {"tag_name": "v11.7.1", "name": "v11.7.1", "draft": False, "prerelease": False,
                  "html_url": "https://github.com/mattermost/mattermost/releases/tag/v11.7.1",
                  "published_at": "2026-11-14T16:00:00Z", "body": "Mattermost v11.7.1 release notes."}


async def patch_config(request: Request) -> JSONResponse:
    require_admin(request)
    try:
        patch = await request.json()
    except ValueError:
        raise errors.invalid_param("config") from None
    if not isinstance(patch, dict):
        raise errors.invalid_param("config")
    if not patch.get("ServiceSettings", {}).get("SiteURL", "keep"):
        # Clearing the Site URL through a patch is refused by the real server.
        raise errors.invalid_param("config")
    state(request).patch_config(patch)
    return JSONResponse(state(request).sanitized_config)


async def latest_version(request: Request) -> JSONResponse:
    require_admin(request)
    return JSONResponse(LATEST_RELEASE)


async def get_config(request: Request) -> JSONResponse:
    require_admin(request)
    config = state(request).sanitized_config
    if query_bool(request, "remove_masked"):
        config = _without_masked(config)
    return JSONResponse(config)


def _without_masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_masked(v) for k, v in value.items() if v != FAKE_SETTING}
    if isinstance(value, list):
        return [_without_masked(v) for v in value if v != FAKE_SETTING]
    return value


async def client_config(request: Request) -> JSONResponse:
    # v11 ignores `format` (older servers required format=old; clients still send it).
    st = state(request)
    logged_in = optional_session(request) is not None
    return JSONResponse(st.client_config if logged_in else st.limited_client_config)


async def client_license(request: Request) -> JSONResponse:
    fmt = request.query_params.get("format", "")
    if fmt == "":
        raise errors.license_format_required()
    if fmt != "old":
        raise errors.invalid_param("format")
    props = license_props(state(request).scenario.license)
    session = optional_session(request)
    if session is None or not session.is_admin:
        props = {k: v for k, v in props.items() if k not in _LICENSE_PRIVATE_KEYS}
    return JSONResponse(props)


def license_props(lic: License | None) -> dict[str, str]:
    """The client licence: every value a string, keys sorted as Go marshals a map."""
    props = {"IsLicensed": "true" if lic is not None else "false"}
    if lic is not None:
        props.update({
            "Id": lic.id,
            "SkuName": lic.sku_name,
            "SkuShortName": lic.sku_short_name,
            "Users": str(lic.users),
            "IssuedAt": str(lic.issued_at),
            "StartsAt": str(lic.starts_at),
            "ExpiresAt": str(lic.expires_at),
            "Name": lic.customer_name,
            "Email": lic.customer_email,
            "Company": lic.company,
            "IsTrial": "true" if lic.is_trial else "false",
            "IsGovSku": "true" if lic.is_gov_sku else "false",
        })
        props.update({feature: "true" if on else "false" for feature, on in lic.features.items()})
    return dict(sorted(props.items()))


ROUTES = [
    Route("/api/v4/system/ping", ping, methods=["GET"]),
    Route("/api/v4/config", get_config, methods=["GET"]),
    Route("/api/v4/latest_version", latest_version, methods=["GET"]),
    Route("/api/v4/config/patch", patch_config, methods=["PUT"]),
    Route("/api/v4/config/client", client_config, methods=["GET"]),
    Route("/api/v4/license/client", client_license, methods=["GET"]),
]

"""GET /plugins (manifests, active and inactive) and /plugins/statuses (one row per plugin per node)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator import errors
from simulator.api.common import state
from simulator.auth import require_admin
from simulator.model import Plugin

_EXECUTABLE_PLATFORMS = ("linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64", "windows-amd64")


def manifest_json(p: Plugin) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "homepage_url": p.homepage_url,
        "support_url": p.support_url,
        "icon_path": "assets/icon.svg",
        "version": p.version,
        "min_server_version": p.min_server_version,
    }
    if p.has_server:
        manifest["server"] = {"executables": {
            platform: f"server/dist/plugin-{platform}{'.exe' if platform.startswith('windows') else ''}"
            for platform in _EXECUTABLE_PLATFORMS}}
    if p.has_webapp:
        manifest["webapp"] = {"bundle_path": "webapp/dist/main.js"}
    if p.settings:
        manifest["settings_schema"] = {
            "header": "",
            "footer": "",
            "settings": [
                {"key": s.key, "display_name": s.display_name, "type": s.type, "help_text": "",
                 "placeholder": "", "default": s.default, "hosting": "", "secret": s.secret}
                for s in p.settings
            ],
        }
    return manifest


def _require_plugins(request: Request) -> None:
    # The server checks that plugins are enabled before it checks permissions.
    if not state(request).config["PluginSettings"]["Enable"]:
        raise errors.plugins_disabled()
    require_admin(request)


async def get_plugins(request: Request) -> JSONResponse:
    _require_plugins(request)
    plugins = state(request).scenario.plugins
    return JSONResponse({
        "active": [manifest_json(p) for p in plugins if p.enabled],
        "inactive": [manifest_json(p) for p in plugins if not p.enabled],
    })


async def get_plugin_statuses(request: Request) -> JSONResponse:
    _require_plugins(request)
    s = state(request).scenario
    manifests = {p.id: p for p in s.plugins}
    plugin_dir = state(request).config["PluginSettings"]["Directory"].removeprefix("./")
    return JSONResponse([
        {
            "plugin_id": row.plugin_id,
            "cluster_id": row.node_id,
            "plugin_path": f"{plugin_dir}/{row.plugin_id}",
            "state": row.state,
            "error": row.error,
            "name": manifests[row.plugin_id].name,
            "description": manifests[row.plugin_id].description,
            "version": manifests[row.plugin_id].version,
        }
        for row in s.plugin_statuses
    ])


ROUTES = [
    Route("/api/v4/plugins", get_plugins, methods=["GET"]),
    Route("/api/v4/plugins/statuses", get_plugin_statuses, methods=["GET"]),
]

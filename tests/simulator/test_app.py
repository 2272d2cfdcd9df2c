"""What every answer has in common: X-Version-ID, request ids, JSON, and 404s for unknown API paths."""

from __future__ import annotations

import httpx
import pytest

from simulator import RunningSimulator
from simulator.server_config import build_config, client_config_hash

PATHS = ["/system/ping", "/config", "/config/client?format=old", "/license/client?format=old", "/analytics/old",
         "/users/stats", "/users/me", "/plugins", "/plugins/statuses", "/cluster/status", "/jobs", "/teams",
         "/no/such/thing", "/license/client"]


def _expected_version_id(sim: RunningSimulator) -> str:
    b = sim.model.build
    return f"{b.version}.{b.build_number}.{client_config_hash(sim.model, build_config(sim.model))}.true"


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_has_version_and_json(simulator: RunningSimulator, admin: httpx.Client, anon: httpx.Client,
                                           path: str) -> None:
    for client in (admin, anon):
        response = client.get(path)
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-version-id"] == _expected_version_id(simulator)
        assert len(response.headers["x-request-id"]) == 26


def test_version_id_layout(anon: httpx.Client) -> None:
    header = anon.get("/system/ping").headers["x-version-id"]
    parts = header.split(".")
    assert parts[:6] == ["11", "6", "1", "11", "6", "1"]
    assert len(parts[6]) == 32 and parts[7] == "true"


def test_unknown_api_path_and_wrong_method_are_404(admin: httpx.Client) -> None:
    for response in (admin.get("/does/not/exist"), admin.delete("/system/ping"), admin.post("/teams")):
        assert response.status_code == 404
        assert response.json()["id"] == "api.context.404.app_error"


def test_error_request_id_matches_header(anon: httpx.Client) -> None:
    response = anon.get("/users/me")
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_request_ids_are_unique(anon: httpx.Client) -> None:
    assert anon.get("/system/ping").headers["x-request-id"] != anon.get("/system/ping").headers["x-request-id"]

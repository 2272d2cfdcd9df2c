"""Mattermost's error body."""

from __future__ import annotations

import json

from simulator import errors


def test_body_has_mattermost_fields_in_order() -> None:
    body = errors.permission_denied().body("req123")
    assert list(body) == ["id", "message", "detailed_error", "request_id", "status_code"]
    assert body["request_id"] == "req123" and body["status_code"] == 403
    assert body["detailed_error"] == ""  # production servers wipe it


def test_response_carries_the_status() -> None:
    response = errors.session_expired().response("r")
    assert response.status_code == 401
    assert json.loads(response.body)["id"] == "api.context.session_expired.app_error"


def test_injected_statuses_reuse_real_ids_where_they_exist() -> None:
    assert errors.injected(401).error_id == "api.context.session_expired.app_error"
    assert errors.injected(404).error_id == "api.context.404.app_error"
    five = errors.injected(503)
    assert five.status_code == 503 and five.message == "Service Unavailable"
    assert errors.injected(599).message == "Error"

"""/__simulator__/faults: faults set from outside the process."""

from __future__ import annotations

import httpx

from simulator import RunningSimulator


def _control(sim: RunningSimulator, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=f"{sim.url}/__simulator__", headers=headers, timeout=5, verify=False)


def test_put_get_delete(simulator: RunningSimulator, anon: httpx.Client) -> None:
    with _control(simulator, simulator.admin_token) as control:
        assert control.get("/faults").json() == []
        put = control.put("/faults", json={"pattern": "/api/v4/system/ping", "status": 503})
        assert put.status_code == 200
        assert put.json() == [{"pattern": "/api/v4/system/ping", "latency_ms": 0, "status": 503,
                               "malformed_json": False, "hang": False}]
        assert anon.get("/system/ping").status_code == 503
        control.put("/faults", json={"pattern": "/api/v4/jobs", "latency_ms": 10})
        remaining = control.request("DELETE", "/faults", json={"pattern": "/api/v4/system/ping"}).json()
        assert [f["pattern"] for f in remaining] == ["/api/v4/jobs"]
        assert anon.get("/system/ping").status_code == 200
        assert control.delete("/faults").json() == []
    assert simulator.faults.list() == []


def test_delete_by_query_parameter(simulator: RunningSimulator) -> None:
    simulator.faults.set("/a", status=500)
    simulator.faults.set("/b", status=500)
    with _control(simulator, simulator.admin_token) as control:
        assert [f["pattern"] for f in control.delete("/faults", params={"pattern": "/a"}).json()] == ["/b"]


def test_needs_an_admin_token(simulator: RunningSimulator) -> None:
    with _control(simulator, None) as anon, _control(simulator, simulator.user_token) as user:
        assert anon.get("/faults").status_code == 401
        assert user.put("/faults", json={"pattern": "*", "hang": True}).status_code == 403
    assert simulator.faults.list() == []


def test_bad_bodies_are_400(simulator: RunningSimulator) -> None:
    with _control(simulator, simulator.admin_token) as control:
        for body in (b"{", b"[1]", b'{"pattern": ""}', b'{"pattern": "*", "status": 42}',
                     b'{"pattern": "*", "latency_ms": "slow"}'):
            response = control.put("/faults", content=body)
            assert response.status_code == 400, body
            assert response.json()["status_code"] == 400
    assert simulator.faults.list() == []

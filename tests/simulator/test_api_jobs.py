"""/jobs: newest first, filters and paging."""

from __future__ import annotations

import httpx

from simulator import RunningSimulator
from tests.simulator.conftest import client_for


def test_newest_first_default_page(simulator: RunningSimulator, admin: httpx.Client) -> None:
    jobs = admin.get("/jobs").json()
    assert len(jobs) == 60
    assert [j["id"] for j in jobs] == [j.id for j in simulator.model.jobs[:60]]
    created = [j["create_at"] for j in jobs]
    assert created == sorted(created, reverse=True)
    assert {j["status"] for j in jobs} == {"success"}


def test_filters(degraded: RunningSimulator) -> None:
    with client_for(degraded, degraded.admin_token) as admin:
        ldap = admin.get("/jobs", params={"job_type": "ldap_sync", "per_page": 200}).json()
        assert ldap and {j["type"] for j in ldap} == {"ldap_sync"}
        assert ldap[0]["status"] == "in_progress"
        errors = admin.get("/jobs", params={"status": "error", "per_page": 200}).json()
        assert {"ldap_sync", "elasticsearch_post_indexing"} <= {j["type"] for j in errors}
        assert all(j["data"]["error"] for j in errors)
        both = admin.get("/jobs", params={"status": "error", "job_type": "elasticsearch_post_indexing"}).json()
        assert len(both) == 2 and "circuit_breaking_exception" in both[0]["data"]["error"]


def test_paging_through_hundreds_of_jobs(large: RunningSimulator) -> None:
    with client_for(large, large.admin_token) as admin:
        assert len(admin.get("/jobs", params={"per_page": 500}).json()) == 200
        ids: list[str] = []
        page = 0
        while batch := admin.get("/jobs", params={"page": page, "per_page": 200}).json():
            ids += [j["id"] for j in batch]
            page += 1
    assert len(ids) == len(set(ids)) == len(large.model.jobs) > 500

"""/system/ping, /config, /config/client and /license/client as a dashboard reads them."""

from __future__ import annotations

import time

import httpx

from simulator import RunningSimulator
from simulator.sanitize import FAKE_SETTING
from simulator.scenarios import DAY_MS
from tests.simulator.conftest import client_for


def test_ping_basic(anon: httpx.Client) -> None:
    response = anon.get("/system/ping")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "OK" and body["ActiveSearchBackend"] == "elasticsearch"
    assert "database_status" not in body and "status" not in response.headers


def test_ping_with_server_status(anon: httpx.Client, admin: httpx.Client) -> None:
    response = anon.get("/system/ping", params={"get_server_status": "true"})
    body = response.json()
    assert (body["database_status"], body["filestore_status"]) == ("OK", "OK")
    assert "root_status" not in body  # only for a manage_system session
    assert response.headers["database_status"] == "OK" and response.headers["filestore_status"] == "OK"
    assert admin.get("/system/ping", params={"get_server_status": "true"}).json()["root_status"] is False


def test_degraded_ping_is_500_unless_rest_semantics(degraded: RunningSimulator) -> None:
    with client_for(degraded) as anon:
        assert anon.get("/system/ping").status_code == 200  # the file store is only tested on request
        failing = anon.get("/system/ping", params={"get_server_status": "true"})
        assert failing.status_code == 500
        assert failing.json()["status"] == "UNHEALTHY" and failing.json()["filestore_status"] == "UNHEALTHY"
        assert failing.headers["status"] == "UNHEALTHY"
        rest = anon.get("/system/ping", params={"get_server_status": "true", "use_rest_semantics": "true"})
        assert rest.status_code == 200 and rest.json()["status"] == "UNHEALTHY"


def test_config_is_sanitized(simulator: RunningSimulator, admin: httpx.Client) -> None:
    cfg = admin.get("/config").json()
    assert cfg["SqlSettings"]["DataSource"] == FAKE_SETTING
    assert cfg["FileSettings"]["AmazonS3SecretAccessKey"] == FAKE_SETTING
    assert cfg["EmailSettings"]["SMTPPassword"] == FAKE_SETTING
    assert cfg["PluginSettings"]["Plugins"]["jira"]["secret"] == FAKE_SETTING
    assert cfg["ServiceSettings"]["SiteURL"] == simulator.model.settings.site_url
    assert cfg["TeamSettings"]["SiteName"] == simulator.model.settings.site_name


def test_config_remove_masked(admin: httpx.Client) -> None:
    cfg = admin.get("/config", params={"remove_masked": "true"}).json()
    assert "DataSource" not in cfg["SqlSettings"]
    assert "secret" not in cfg["PluginSettings"]["Plugins"]["jira"]
    assert FAKE_SETTING not in str(cfg)


def test_degraded_config_logs_at_debug(degraded: RunningSimulator) -> None:
    with client_for(degraded, degraded.admin_token) as admin:
        logs = admin.get("/config").json()["LogSettings"]
    assert logs["ConsoleLevel"] == logs["FileLevel"] == "DEBUG"


def test_client_config_with_and_without_session(simulator: RunningSimulator, anon: httpx.Client,
                                                user: httpx.Client) -> None:
    limited = anon.get("/config/client", params={"format": "old"}).json()
    full = user.get("/config/client", params={"format": "old"}).json()
    assert limited["Version"] == "11.6.1" and limited["SiteURL"] == simulator.model.settings.site_url
    assert "SchemaVersion" not in limited
    assert full["SchemaVersion"] == "159" and full["NoAccounts"] == "false"
    assert full["DiagnosticId"] == full["TelemetryId"] == simulator.model.diagnostic_id
    assert anon.get("/config/client").json() == limited  # v11 ignores format


def test_license_needs_format_old(anon: httpx.Client) -> None:
    missing = anon.get("/license/client")
    assert missing.status_code == 400
    assert missing.json()["id"] == "api.license.client.old_format.app_error"
    other = anon.get("/license/client", params={"format": "new"})
    assert other.status_code == 400
    assert other.json()["id"] == "api.context.invalid_body_param.app_error"


def test_license_full_for_admin_sanitized_for_others(simulator: RunningSimulator, admin: httpx.Client,
                                                     user: httpx.Client, anon: httpx.Client) -> None:
    full = admin.get("/license/client", params={"format": "old"}).json()
    lic = simulator.model.license
    assert lic is not None
    assert full["IsLicensed"] == "true" and full["Users"] == "2000" and full["SkuShortName"] == "enterprise"
    assert full["Id"] == lic.id and full["ExpiresAt"] == str(lic.expires_at)
    assert full["LDAP"] == "true" and full["Cloud"] == "false"
    for client in (user, anon):
        subset = client.get("/license/client", params={"format": "old"}).json()
        assert subset["IsLicensed"] == "true" and subset["Users"] == "2000"
        assert not {"Id", "Name", "Email", "IssuedAt", "StartsAt", "ExpiresAt", "SkuName"} & set(subset)


def test_license_dates_follow_the_clock(admin: httpx.Client, degraded: RunningSimulator) -> None:
    now = time.time() * 1000
    expires = int(admin.get("/license/client", params={"format": "old"}).json()["ExpiresAt"])
    assert 239 * DAY_MS < expires - now <= 240 * DAY_MS
    with client_for(degraded, degraded.admin_token) as client:
        lic = client.get("/license/client", params={"format": "old"}).json()
    assert 8 * DAY_MS < int(lic["ExpiresAt"]) - now <= 9 * DAY_MS
    assert int(lic["Users"]) < degraded.model.usage.active_users

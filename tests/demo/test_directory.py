"""The demo's LDAP directory: a real slapd per demo environment holding the simulator's people under the base DN
and bind account its Mattermost config names, reached the way each scenario's admin set it up; the collector
reads it, the rules judge, and the bind password stays a secret. What goes wrong on a real machine (no slapd,
a taken port, a stale folder, a slapd that exits at start) leaves the demo running and says why."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from collectors import SourceStatus, collect_all
from collectors import ldap as ldap_collector
from demo import directory as demo_directory
from demo import processes
from demo.services import DemoService
from demo.slapd import find_binaries
from health.engine import evaluate
from health.findings import State
from health.inputs import from_snapshot
from settings import EnvironmentSettings, MattermostSettings
from simulator import RunningSimulator, start_simulator
from simulator.server_config import build_config
from tests.servers.postgres import missing_server
from tests.servers.slapd import INSTALL_HINT


def require_slapd() -> None:
    if find_binaries() is None:
        missing_server(INSTALL_HINT)


@pytest.fixture(scope="module")
def others() -> Iterator[dict[str, RunningSimulator]]:
    with start_simulator("degraded") as staging, start_simulator("development") as dev:
        yield {"staging": staging, "dev": dev}


@pytest.fixture(scope="module")
def simulators(simulator_session, others) -> dict[str, RunningSimulator]:
    return {"production": simulator_session, **others}


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demo")


@pytest.fixture(scope="module")
def directories(demo_folder, simulators) -> Iterator[DemoService]:
    require_slapd()
    service = demo_directory.start(demo_folder, simulators)
    yield service
    service.stop()


def environment(name: str, sim: RunningSimulator, service: DemoService) -> EnvironmentSettings:
    return EnvironmentSettings(name=name, label=name.title(), **service.settings[name],
                               mattermost=MattermostSettings(url=sim.url, token=SecretStr(sim.admin_token)))


def test_each_environment_connects_as_its_scenario_says(directories, demo_folder):
    part = directories.part
    assert part.running and part.add_with is None
    settings = {name: s["ldap"] for name, s in directories.settings.items()}
    assert {name: (s.url.split("://")[0], s.security) for name, s in settings.items()} == {
        "production": ("ldaps", "tls"), "staging": ("ldap", "none"), "dev": ("ldap", "starttls")}
    assert settings["production"].ca_bundle == demo_folder / "directory" / "production" / "ca.crt"
    assert settings["staging"].ca_bundle is None
    assert "the bind password travels in clear" in part.detail


async def test_the_directory_holds_what_mattermost_reports(directories, simulators):
    for name, sim in simulators.items():
        snapshot = await collect_all(environment(name, sim, directories), deadline_s=20)
        ldap, mattermost = snapshot.sources["ldap"], snapshot.sources["mattermost"]
        assert ldap.status is SourceStatus.OK and mattermost.status is SourceStatus.OK, ldap.error
        config = build_config(sim.model)["LdapSettings"]
        facts = ldap.data
        assert (facts.base_dn, facts.bind_dn) == (config["BaseDN"], config["BindUsername"])
        assert facts.naming_contexts == (config["BaseDN"],)
        assert facts.users.complete and facts.users.count == mattermost.data.counts.active_users, name
        assert facts.groups.count == len(sim.model.teams) + 1  # a group per team, and the admins
        assert facts.vendor == "OpenLDAP" and facts.vendor_version  # the bind account may read cn=Monitor


async def test_the_ldap_rules_judge_production_clean_and_staging_binding_in_clear(directories, simulators):
    states = {}
    for name in ("production", "staging"):
        snapshot = await collect_all(environment(name, simulators[name], directories), deadline_s=20)
        states[name] = {f.code: f.state for f in evaluate(from_snapshot(snapshot))
                        if f.code in ("LDAP_CLEARTEXT_BIND", "LDAP_PROBE_FAILED")}
    assert states == {"production": {"LDAP_CLEARTEXT_BIND": State.OK, "LDAP_PROBE_FAILED": State.OK},
                      "staging": {"LDAP_CLEARTEXT_BIND": State.FIRING, "LDAP_PROBE_FAILED": State.OK}}


async def test_the_bind_password_is_a_secret(directories, demo_folder, simulators, caplog):
    settings = directories.settings["staging"]["ldap"]
    password = settings.bind_password.get_secret_value()
    assert len(password) >= 24 and password not in repr(settings) and password not in directories.part.detail
    assert password != directories.settings["production"]["ldap"].bind_password.get_secret_value()
    with caplog.at_level(logging.DEBUG):
        result = await ldap_collector.collect(settings, None)
    assert result.status is SourceStatus.OK and password not in caplog.text
    for path in (demo_folder / "directory").rglob("*"):  # only its salted hash is stored, in the data folder
        assert not path.is_file() or password.encode() not in path.read_bytes(), path
    wrong = await ldap_collector.collect(settings.model_copy(update={"bind_password": SecretStr("nope")}), None)
    assert wrong.status is SourceStatus.ERROR and "wrong password" in wrong.error


def test_a_missing_slapd_is_named_with_the_command_that_adds_it(monkeypatch, tmp_path, simulator):
    monkeypatch.setattr(demo_directory, "find_binaries", lambda: None)
    service = demo_directory.start(tmp_path, {"production": simulator})
    assert not service.part.running and service.settings == {}
    assert service.part.add_with == "sudo apt-get install --no-install-recommends slapd"


def test_a_taken_port_is_retried_on_another(monkeypatch, tmp_path, simulator):
    require_slapd()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        offered = iter([(busy, busy)])  # both of slapd's ports taken on the first try
        real = processes.free_ports
        monkeypatch.setattr(processes, "free_ports", lambda count=1: next(offered, None) or real(count))
        service = demo_directory.start(tmp_path, {"production": simulator})
        try:
            assert service.part.running, service.part.detail
            assert not service.settings["production"]["ldap"].url.endswith(f":{busy}")
            assert "Address already in use" in (tmp_path / "directory" / "production" / "slapd.log").read_text()
        finally:
            service.stop()


def test_a_slapd_that_exits_at_start_shows_its_log(monkeypatch, tmp_path, simulator):
    require_slapd()
    fake = tmp_path / "slapd"
    fake.write_text("#!/bin/sh\necho 'slapd: could not open the database: MDB_INVALID' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(demo_directory, "find_binaries", lambda: (str(fake), find_binaries()[1]))
    service = demo_directory.start(tmp_path / "demo", {"production": simulator})
    assert not service.part.running and service.settings == {}
    assert "production did not start: slapd exited at start (status 1)" in service.part.detail
    assert "MDB_INVALID" in service.part.detail


def test_whatever_was_in_the_folder_is_replaced(tmp_path, simulator):
    require_slapd()
    root = tmp_path / "directory" / "production"
    (root / "data").mkdir(parents=True)
    (root / "data" / "data.mdb").write_bytes(b"left by an older layout")
    service = demo_directory.start(tmp_path, {"production": simulator})
    try:
        assert service.part.running, service.part.detail
    finally:
        service.stop()
    root.rename(tmp_path / "moved")
    root.write_text("a file where the folder belongs")
    service = demo_directory.start(tmp_path, {"production": simulator})
    try:
        assert service.part.running and root.is_dir(), service.part.detail
    finally:
        service.stop()


def test_a_second_demo_on_the_same_folder_gets_a_scratch_copy(directories, demo_folder, simulator):
    second = demo_directory.start(demo_folder, {"production": simulator})
    try:
        assert second.part.running
        ca_bundle = second.settings["production"]["ldap"].ca_bundle
        assert ca_bundle.parent.parent == demo_folder / "directory" and ca_bundle.parent.name != "production"
    finally:
        second.stop()
    assert not ca_bundle.parent.exists()
    assert (demo_folder / "directory" / "production" / "ca.crt").is_file()  # the first demo's files are intact

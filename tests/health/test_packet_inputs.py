"""The rules on packets we own: every problem the packet holds is reported, from the file that holds it, and a
fact is judged the same way whichever source it came from. Fixtures follow upstream's
server/platform/shared/healthcheck/packet/testdata shapes (see tests/fixtures/packet_fixtures.py)."""

from __future__ import annotations

import dataclasses
import json
import zipfile

import pytest

from collectors.database_models import ServerVersion
from collectors.support_packet import parse_packet
from health.engine import evaluate, run_rule
from health.findings import State
from health.inputs import Fact, Node
from health.packet_inputs import from_packet
from health.rules import RULES
from tests.fixtures.packet_fixtures import build_fixture
from tests.health.conftest import make_inputs
from tests.health.test_database_rules import HEALTHY

BY_CODE = {rule.code: rule for rule in RULES}


def judged(path):
    return evaluate(from_packet(parse_packet(path), path.name))


def by_code(findings, code, subject=None):
    return next(f for f in findings if f.code == code and (subject is None or f.subject == subject))


def test_every_problem_in_a_v12_packet_is_reported_from_its_file(tmp_path):
    """The five problems a real v12 packet held but went unreported (descriptors at 95 %, a licence about to
    expire, PostgreSQL 13, MFA off, an enabled plugin that is not running) and the packet's other failures fire,
    each naming the member it read."""
    findings = judged(build_fixture("v12_standalone", tmp_path / "p.zip"))
    expected = {
        "NODE_FD_EXHAUSTION": "diagnostics.yaml", "LICENSE_EXPIRING": "diagnostics.yaml",
        "DB_POSTGRES_UNSUPPORTED": "diagnostics.yaml", "MFA_DISABLED": "sanitized_config.json",
        "PLUGIN_NOT_RUNNING": "plugins.json", "FILESTORE_UNREACHABLE": "diagnostics.yaml",
        "LDAP_PROBE_FAILED": "diagnostics.yaml", "SMTP_UNREACHABLE": "diagnostics.yaml", "JOB_FAILED": "jobs.yaml",
        "LOG_DEBUG_PROD": "sanitized_config.json",
    }
    firing = {f.code: f for f in findings if f.state is State.FIRING}
    for code, member in expected.items():
        assert code in firing, code
        assert member in firing[code].evidence, (code, firing[code].evidence)
    assert "62,259 of 65,536" in firing["NODE_FD_EXHAUSTION"].observed
    assert "12 days left" in firing["LICENSE_EXPIRING"].observed
    assert firing["PLUGIN_NOT_RUNNING"].subject == "jira"
    assert "13.14" in firing["DB_POSTGRES_UNSUPPORTED"].observed


def test_ha_packet_per_node_checks(tmp_path):
    """Version skew and configuration drift per node, judged against the leader."""
    findings = judged(build_fixture("v12_ha", tmp_path / "p.zip"))
    skew = by_code(findings, "CLUSTER_VERSION_SKEW", "app-3.example.com")
    assert skew.state is State.FIRING and "11.5.4" in skew.observed
    drift = by_code(findings, "CLUSTER_CONFIG_MISMATCH", "app-1.example.com")
    assert drift.state is State.FIRING and "LogSettings.FileLevel" in drift.observed
    assert by_code(findings, "CLUSTER_CONFIG_MISMATCH", "app-3.example.com").state is State.OK
    assert by_code(findings, "CLUSTER_NODE_MISSING").state is State.OK
    # The leader's configuration has MFA on; app-1's (first by name) has it off.
    assert by_code(findings, "MFA_DISABLED").state is State.OK
    assert "app-2.example.com/sanitized_config.json (the leader's)" in by_code(findings, "MFA_DISABLED").evidence


def test_a_node_missing_from_an_ha_packet_fires(tmp_path):
    """The leader counts three nodes; the packet has folders for two."""
    findings = judged(build_fixture("v12_ha", tmp_path / "p.zip", drop=["app-3.example.com"]))
    missing = by_code(findings, "CLUSTER_NODE_MISSING")
    assert missing.state is State.FIRING and "2 of 3" in missing.observed


def test_a_setting_missing_from_the_config_is_unknown_never_false(tmp_path):
    """No ServiceSettings.EnableMultifactorAuthentication in the config: MFA_DISABLED cannot judge."""
    source = build_fixture("v12_standalone", tmp_path / "full.zip")
    with zipfile.ZipFile(source) as zf:
        config = json.loads(zf.read("sanitized_config.json"))
    del config["ServiceSettings"]["EnableMultifactorAuthentication"]
    path = build_fixture("v12_standalone", tmp_path / "p.zip", replace={"sanitized_config.json": json.dumps(config)})
    finding = by_code(judged(path), "MFA_DISABLED")
    assert finding.state is State.UNKNOWN and "EnableMultifactorAuthentication" in finding.evidence


def test_v11_packet_without_descriptors_leaves_that_rule_unknown(tmp_path):
    finding = by_code(judged(build_fixture("v11_ha_no_leader", tmp_path / "p.zip")), "NODE_FD_EXHAUSTION")
    assert finding.state is State.UNKNOWN


@pytest.mark.parametrize("open_fds, firing", [(62_259, True), (1_200, False)])
def test_one_rule_two_sources_file_descriptors(tmp_path, open_fds, firing):
    """The same descriptor counts fire the same way from a packet's diagnostics.yaml and from live nodes."""
    live = run_rule(BY_CODE["NODE_FD_EXHAUSTION"], make_inputs(nodes=Fact(
        (Node("mm.example.com", open_fds=open_fds, max_fds=65_536),), "GET /api/v4/cluster/status")))
    with zipfile.ZipFile(build_fixture("v12_standalone", tmp_path / "src.zip")) as zf:
        text = zf.read("diagnostics.yaml").decode().replace("62259", str(open_fds))
    packet = run_rule(BY_CODE["NODE_FD_EXHAUSTION"], from_packet(parse_packet(
        build_fixture("v12_standalone", tmp_path / "p.zip", replace={"diagnostics.yaml": text})), "p.zip"))
    assert [f.state for f in live] == [f.state for f in packet] == [State.FIRING if firing else State.OK]
    assert live[0].observed == packet[0].observed
    assert "cluster/status" in live[0].evidence and "diagnostics.yaml" in packet[0].evidence


def test_one_rule_two_sources_postgres_version():
    """PostgreSQL 13 fires from the database collector and from the diagnostics' database.version alike."""
    from_db = run_rule(BY_CODE["DB_POSTGRES_UNSUPPORTED"], make_inputs(database=Fact(
        dataclasses.replace(HEALTHY, server=ServerVersion(130014, "13.14")), "database")))
    from_diag = run_rule(BY_CODE["DB_POSTGRES_UNSUPPORTED"], make_inputs(
        database_version=Fact("13.14", "diagnostics.yaml")))
    assert from_db[0].state is from_diag[0].state is State.FIRING
    assert from_db[0].observed == from_diag[0].observed == "PostgreSQL 13.14"
    neither = run_rule(BY_CODE["DB_POSTGRES_UNSUPPORTED"], make_inputs())
    assert neither[0].state is State.UNKNOWN

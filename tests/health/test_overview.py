"""The health page's view of facts: KPI tiles, tables and notes a reader would otherwise have to work out."""

from datetime import UTC, datetime, timedelta

from collectors import Snapshot, SourceResult, SourceStatus
from collectors.mattermost_models import (
    ClusterNode,
    Counts,
    Job,
    LicenseInfo,
    MattermostFacts,
    Plugin,
    PluginNode,
    ServerInfo,
)
from health import overview

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
SERVER = ServerInfo("11.6.1", "123", "abcdef1234567890", None, None, True, "Acme Chat", "https://chat.acme.test",
                    "diag", "140", "OK", "OK", "OK", "database")


def facts(**overrides) -> MattermostFacts:
    base = dict(
        url="https://chat.acme.test", server=SERVER,
        license=LicenseInfo(True, "Enterprise", "enterprise", 2000, "Acme", "Acme Inc", "it@acme.test",
                            expires_at=NOW + timedelta(days=12, hours=1)),
        counts=Counts(registered_users=1500, active_users=1200, inactive_users=300, posts=2_100_000, teams=8,
                      public_channels=300, private_channels=100, daily_active_users=400, monthly_active_users=1000),
    )
    base.update(overrides)
    return MattermostFacts(**base)


def test_kpis_show_what_an_admin_checks_first():
    tiles = {k.label: k for k in overview.kpis(facts(), now=NOW)}
    assert tiles["Version"].value == "11.6.1" and "abcdef1234" in tiles["Version"].help
    assert tiles["Edition"].value == "Enterprise Edition"
    assert tiles["License days left"].value == "12" and tiles["License days left"].delta == "expires soon"
    assert tiles["Users"].value == "1,500" and tiles["Users"].delta == "60% of seats"
    assert tiles["DAU / MAU"].value == "400 / 1,000"
    assert tiles["Posts"].value == "2,100,000"
    assert tiles["Channels"].value == "400"


def test_kpis_say_unknown_rather_than_inventing():
    tiles = {k.label: k for k in overview.kpis(facts(license=None, counts=Counts(),
                                                     missing={"License": "License: HTTP 503"}), now=NOW)}
    assert tiles["License"].value == "unknown" and tiles["License"].help == "License: HTTP 503"
    assert tiles["Users"].value == "n/a" and tiles["Channels"].value == "n/a"


def test_unlicensed_and_team_edition():
    unlicensed = facts(license=LicenseInfo(False))
    assert {k.label: k.value for k in overview.kpis(unlicensed, now=NOW)}["License"] == "none"
    team = facts(server=ServerInfo(*[*SERVER.__dict__.values()][:5], False, *[*SERVER.__dict__.values()][6:]))
    assert team.edition == "Team Edition"


def test_plugins_table_summarises_per_node_state():
    plugins = (
        Plugin("com.mattermost.calls", "Calls", "1.2.0", True,
               (PluginNode("n1", "running", None), PluginNode("n2", "failed to start", "port in use"))),
        Plugin("jira", "Jira", "4.1.0", False),
    )
    table = overview.plugins_table(facts(plugins=plugins))
    calls = table.iloc[0]
    assert calls["State"] == "running on 1/2 nodes"
    assert calls["Problems"] == "n2: failed to start (port in use)"
    assert not calls["Healthy"]
    assert table.iloc[1]["State"] == "disabled" and table.iloc[1]["Healthy"]


def test_plugin_problems_name_the_host_and_ignore_disabled_plugins():
    nodes = (ClusterNode("n2", "app2", "10.0.0.2", "11.6.1", "140", "h"),)
    plugins = (Plugin("calls", "Calls", "1.2.0", True, (PluginNode("n2", "failed to start", None),)),
               Plugin("jira", "Jira", "4.1.0", False, (PluginNode("n2", "not running", None),)))
    table = overview.plugins_table(facts(plugins=plugins, cluster_nodes=nodes))
    assert list(table["Problems"]) == ["app2: failed to start", ""]


def test_seats_exceeded_turns_the_arrow_red_and_unhealthy_ping_is_spotted():
    over = facts(counts=Counts(registered_users=2500, active_users=2100))
    users = {k.label: k for k in overview.kpis(over, now=NOW)}["Users"]
    assert users.delta == "105% of seats" and users.delta_color == "inverse"
    assert not overview.server_unhealthy(facts())
    sick = ServerInfo(*[*SERVER.__dict__.values()][:10], "UNHEALTHY", "OK", "UNHEALTHY", "database")
    assert overview.server_unhealthy(facts(server=sick))


def test_cluster_notes_spot_version_and_config_drift():
    nodes = (ClusterNode("a", "app1", "10.0.0.1", "11.6.1", "140", "h1"),
             ClusterNode("b", "app2", "10.0.0.2", "11.5.0", "139", "h2"))
    notes = overview.cluster_notes(facts(cluster_nodes=nodes))
    assert any("different versions: 11.5.0, 11.6.1" in n for n in notes)
    assert any("configuration hashes" in n for n in notes)
    assert overview.cluster_notes(facts(cluster_nodes=nodes[:1])) == []


def test_empty_tables_keep_their_columns():
    assert list(overview.jobs_table(facts()).columns) == ["Type", "Status", "Error", "Created", "Last activity",
                                                          "Progress %"]
    assert overview.plugins_table(facts()).empty


def test_jobs_table_carries_errors():
    job = Job("j1", "ldap_sync", "error", NOW, NOW, NOW, 40, "LDAP server unreachable")
    assert overview.jobs_table(facts(jobs=(job,))).iloc[0]["Error"] == "LDAP server unreachable"


def test_source_lines_carry_status_timing_and_sentence():
    snapshot = Snapshot("prod", NOW, 12.0, {
        "mattermost": SourceResult("mattermost", SourceStatus.ERROR, error="Nothing is listening.", elapsed_ms=5),
    })
    [(_result, line)] = overview.source_lines(snapshot, {"mattermost": "Mattermost API"})
    assert line == "**Mattermost API**: error (5 ms). Nothing is listening."


def test_server_and_license_facts_list_what_support_asks_for():
    server = dict(overview.server_facts(facts()).values)
    assert server["Version"] == "11.6.1" and server["Build hash"] == "abcdef1234567890"
    assert server["Enterprise build hash"] == "unknown"
    lic = dict(overview.license_facts(facts()).values)
    assert lic["Seats"] == "2,000" and lic["Licensed to"] == "Acme" and lic["Trial"] == "no"
    assert lic["Expires"] == "2026-12-05"
    assert dict(overview.license_facts(facts(license=LicenseInfo(False))).values) == {"License": "none installed"}
    assert dict(overview.license_facts(facts(license=None, missing={"License": "HTTP 503"})).values) == {
        "License": "HTTP 503"}


def test_source_summary_leads_with_problems_and_folds_the_rest():
    snapshot = Snapshot("prod", NOW, 12.0, {
        "mattermost": SourceResult("mattermost", SourceStatus.OK, data=1, elapsed_ms=40),
        "ldap": SourceResult("ldap", SourceStatus.NOT_CONFIGURED, error="set X"),
        "saml": SourceResult("saml", SourceStatus.DEGRADED, data=1, error="no signing certificate", elapsed_ms=3),
        "elasticsearch": SourceResult("elasticsearch", SourceStatus.ERROR, error="refused", elapsed_ms=2),
    })
    summary = overview.source_summary(snapshot, {"mattermost": "Mattermost API", "ldap": "LDAP"})
    assert [r.source for r, _ in summary.problems] == ["elasticsearch", "saml"]
    assert summary.collected == "**Collected**: Mattermost API (40 ms)"
    assert summary.not_configured == ["LDAP"]

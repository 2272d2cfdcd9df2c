"""Parsers for Mattermost's JSON: by name not position, -1 means 'not computed', epoch ms become datetimes."""

from datetime import UTC, date, datetime

import pytest

from collectors import mattermost_models as models


def test_version_header():
    assert models.parse_version_header("11.6.1.17123.abcdef0123.true") == ("11.6.1", True)
    assert models.parse_version_header("garbage") == (None, None)
    assert models.parse_version_header(None) == (None, None)


def test_license_dates_and_features():
    raw = {"IsLicensed": "true", "SkuName": "Enterprise", "Users": "500", "ExpiresAt": "1798761600000",
           "IsTrial": "false", "LDAP": "true", "SAML": "false", "Name": "Acme"}
    lic = models.parse_license(raw)
    assert lic.seats == 500 and lic.licensee == "Acme"
    assert lic.expires_at == datetime(2027, 1, 1, tzinfo=UTC)
    assert lic.features == {"LDAP": True, "SAML": False}
    assert lic.days_left(datetime(2026, 12, 31, tzinfo=UTC)) == 1
    assert models.parse_license({"IsLicensed": "false"}).days_left() is None


def test_analytics_rows_are_matched_by_name():
    rows = [{"name": "post_count", "value": 10}, {"name": "channel_open_count", "value": 3}]
    counts = models.parse_counts(models.analytics_rows(rows), {}, 7)
    assert counts.posts == 10 and counts.public_channels == 3 and counts.active_users == 7
    assert counts.channels is None  # private count unknown: no made-up total


def test_registered_users_count_the_deactivated_and_active_users_do_not():
    """The "standard" rows of server/channels/app/analytics.go (getStandardAnalytics): unique_user_count is
    User().Count with no options (people not deactivated, no bots), inactive_user_count the deactivated ones; the
    support packet's registered_users (support_packet.go, IncludeDeleted) is both together."""
    rows = [{"name": "unique_user_count", "value": 1187}, {"name": "inactive_user_count", "value": 46},
            {"name": "daily_active_users", "value": 742}, {"name": "monthly_active_users", "value": 1103}]
    counts = models.parse_counts(models.analytics_rows(rows), {}, None)
    assert (counts.registered_users, counts.active_users, counts.inactive_users) == (1233, 1187, 46)
    assert (counts.daily_active_users, counts.monthly_active_users) == (742, 1103)
    on_a_team = models.parse_counts({"unique_user_count": 30, "inactive_user_count": -1}, {}, None)
    assert on_a_team.active_users == 30 and on_a_team.registered_users is None  # -1: not counted per team


def test_minus_one_means_not_counted():
    counts = models.parse_counts({"post_count": -1}, {}, None)
    assert counts.posts is None
    assert models.parse_daily([{"name": "", "value": -1}]) is None


def test_daily_rows_come_back_oldest_first():
    rows = [{"name": "2026-11-02", "value": 5}, {"name": "2026-11-01", "value": 3}]
    assert [d.day for d in models.parse_daily(rows)] == [date(2026, 11, 1), date(2026, 11, 2)]


def test_unexpected_shapes_raise_value_errors():
    with pytest.raises(ValueError):
        models.analytics_rows({"not": "a list"})
    with pytest.raises(ValueError):
        models.parse_daily([{"name": "yesterday", "value": 1}])


def test_plugins_join_statuses_per_node():
    listing = {"active": [{"id": "calls", "name": "Calls", "version": "1.0"}],
               "inactive": [{"id": "jira", "name": "Jira", "version": "4.0"}]}
    statuses = [{"plugin_id": "calls", "cluster_id": "n1", "state": 2},
                {"plugin_id": "calls", "cluster_id": "n2", "state": 3, "error": "boom"}]
    calls, jira = models.parse_plugins(listing, statuses)
    assert [n.state for n in calls.nodes] == ["running", "failed to start"]
    assert not calls.healthy and jira.healthy and not jira.enabled


def test_jobs_carry_their_error():
    [job] = models.parse_jobs([{"id": "j", "type": "ldap_sync", "status": "error", "create_at": 1798761600000,
                                "data": {"error": "timeout"}}])
    assert job.error == "timeout" and job.created_at.year == 2027

"""Rule inputs built from the simulator's healthy scenario: a realistic base each test changes one thing in."""

import copy
from datetime import UTC, datetime, timedelta

import pytest

from collectors.mattermost_models import LicenseInfo
from health.inputs import Fact, Node, RuleInputs, Usage, absent
from simulator.sanitize import sanitize_config
from simulator.scenarios import build_scenario
from simulator.server_config import build_config

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
_SCENARIO = build_scenario("healthy", now_ms=int(NOW.timestamp() * 1000))
BASE_CONFIG = sanitize_config(build_config(_SCENARIO), _SCENARIO.plugins)


def make_inputs(*, config_changes: dict[str, object] | None = None, **overrides) -> RuleInputs:
    """Healthy inputs; `config_changes` maps dotted paths to new values, other keywords replace whole facts."""
    config = copy.deepcopy(BASE_CONFIG)
    for path, value in (config_changes or {}).items():
        *parents, leaf = path.split(".")
        node = config
        for part in parents:
            node = node[part]
        node[leaf] = value
    base = dict(
        origin="test",
        config=Fact(config, "config"),
        license=Fact(LicenseInfo(True, "Enterprise", "enterprise", 2000, "Acme", expires_at=NOW + timedelta(days=200)),
                     "license"),
        version=Fact("11.6.1", "version"),
        latest_version=Fact("11.6.1", "latest"),
        usage=Fact(Usage(registered_users=1200, active_users=1100, daily_active_users=400, monthly_active_users=900,
                         posts=2_000_000, channels=400, teams=8, incoming_webhooks=60, outgoing_webhooks=4,
                         master_db_connections=40, replica_db_connections=10), "usage"),
        nodes=Fact((Node("app1", "n1", "11.6.1"), Node("app2", "n2", "11.6.1")), "nodes"),
        jobs=Fact((), "jobs"),
        plugins=Fact((), "plugins"),
        server_status=Fact({"status": "OK", "database_status": "OK", "filestore_status": "OK",
                            "root_status": False}, "ping"),
        probes=Fact({}, "probes"),
        now=NOW,
    )
    base.update(overrides)
    return RuleInputs(**base)


@pytest.fixture
def inputs_factory():
    return make_inputs


__all__ = ["NOW", "Fact", "absent", "make_inputs"]

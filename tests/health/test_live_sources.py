"""The rules over a real collection from every source the tests can run: the facts' shapes line up."""

import pytest
from pydantic import SecretStr

from collectors import SourceStatus, collect_all
from health.engine import evaluate
from health.findings import State
from health.inputs import from_snapshot
from settings import ElasticsearchSettings, EnvironmentSettings, MattermostSettings, SamlSettings
from simulator.saml_idp import start_saml_idp
from simulator.search_engine import start_search_engine


@pytest.fixture
def outdated_search_engine():
    engine = start_search_engine("elasticsearch-7.17", health="yellow", analysis_icu=False)
    yield engine
    engine.stop()


@pytest.fixture
def identity_provider():
    idp = start_saml_idp()
    yield idp
    idp.stop()


async def test_rules_judge_facts_from_every_source(simulator_factory, outdated_search_engine, identity_provider,
                                                   ldap_settings):
    sim = simulator_factory("degraded")
    env = EnvironmentSettings(
        name="staging", label="Staging",
        mattermost=MattermostSettings(url=sim.url, token=SecretStr(sim.admin_token)),
        elasticsearch=ElasticsearchSettings(url=outdated_search_engine.url),
        saml=SamlSettings(metadata_url=identity_provider.metadata_url("keycloak")),
        ldap=ldap_settings(security="none"),
    )
    snapshot = await collect_all(env, deadline_s=20)
    statuses = {name: r.status for name, r in snapshot.sources.items()}
    assert statuses == {"mattermost": SourceStatus.OK, "ldap": SourceStatus.OK, "elasticsearch": SourceStatus.OK,
                        "saml": SourceStatus.OK, "database": SourceStatus.NOT_CONFIGURED,
                        "prometheus": SourceStatus.NOT_CONFIGURED}
    states = {(f.code, f.subject): f.state for f in evaluate(from_snapshot(snapshot))}
    for code in ("ES_VERSION_UNSUPPORTED", "ES_MISSING_ICU", "ES_CLUSTER_HEALTH", "SAML_CERT_EXPIRING",
                 "LDAP_CLEARTEXT_BIND", "LICENSE_EXPIRING", "SERVER_UNHEALTHY"):
        assert states[(code, None)] is State.FIRING, code
    for code in ("LDAP_PROBE_FAILED", "SAML_METADATA_UNREACHABLE", "ES_SERVER_ERROR"):
        assert states[(code, None)] in (State.OK,), code

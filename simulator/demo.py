"""The demo deployment: a simulated Mattermost with the search cluster and identity provider beside it.

What `make run` shows with nothing configured. Each demo environment gets its own Mattermost simulator
and search-engine stand-in; one stand-in identity provider serves every environment's metadata.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import SecretStr

from settings import ElasticsearchSettings, EnvironmentSettings, MattermostSettings, SamlSettings
from simulator.saml_idp import RunningIdp, start_saml_idp
from simulator.search_engine import RunningSearchEngine, start_search_engine
from simulator.server import RunningSimulator, start_simulator


@dataclass(frozen=True)
class DemoShape:
    """How a scenario's surroundings look: the search cluster's release and state, the IdP's metadata style."""

    search_release: str
    search_health: str
    analysis_icu: bool
    idp_style: str


SHAPES = {
    "healthy": DemoShape("elasticsearch-8", "green", True, "shibboleth"),
    "degraded": DemoShape("elasticsearch-7.17", "yellow", False, "keycloak"),  # signing cert expires in 10 days
    "large": DemoShape("opensearch-2", "green", True, "adfs"),
}


@dataclass
class DemoDeployment:
    mattermost: RunningSimulator
    search: RunningSearchEngine
    idp: RunningIdp
    idp_style: str

    def environment(self, env: EnvironmentSettings) -> EnvironmentSettings:
        """`env` pointed at this deployment's servers (loopback only)."""
        return env.model_copy(update={
            "mattermost": MattermostSettings(url=self.mattermost.url, token=SecretStr(self.mattermost.admin_token)),
            "elasticsearch": ElasticsearchSettings(url=self.search.url),
            "saml": SamlSettings(metadata_url=self.idp.metadata_url(self.idp_style)),
        })

    def stop(self) -> None:
        self.mattermost.stop()
        self.search.stop()


def start_demo(scenario: str, idp: RunningIdp) -> DemoDeployment:
    shape = SHAPES[scenario]
    mattermost = start_simulator(scenario=scenario, host="127.0.0.1", port=0)
    try:
        search = start_search_engine(shape.search_release, health=shape.search_health,
                                     analysis_icu=shape.analysis_icu)
    except BaseException:
        mattermost.stop()
        raise
    return DemoDeployment(mattermost, search, idp, shape.idp_style)


def start_identity_provider() -> RunningIdp:
    return start_saml_idp()


@contextlib.contextmanager
def demo_environment(env: EnvironmentSettings) -> Iterator[EnvironmentSettings]:
    """`env` itself, or for a demo environment the same pointed at a demo deployment started for the duration
    (for the command lines, which have no page to keep one running)."""
    if not env.is_demo:
        yield env
        return
    idp = start_identity_provider()
    try:
        demo = start_demo(env.demo_scenario, idp)
        try:
            yield demo.environment(env)
        finally:
            demo.stop()
    finally:
        idp.stop()

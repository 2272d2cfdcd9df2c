"""The demo deployment: a simulated Mattermost per environment with its search cluster, one identity provider,
and the real servers beside them (demo/database.py, demo/prometheus.py, demo/directory.py).

What `make run` shows with nothing configured. Each demo environment gets its own Mattermost simulator
and search-engine stand-in; one stand-in identity provider serves every environment's metadata.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from demo import database, directory, prometheus
from demo.services import DemoPart, DemoService, data_folder
from settings import ElasticsearchSettings, EnvironmentSettings, MattermostSettings, SamlSettings, Settings
from simulator.saml_idp import RunningIdp, start_saml_idp
from simulator.search_engine import RunningSearchEngine, start_search_engine
from simulator.server import RunningSimulator, start_simulator

log = logging.getLogger("mmdash.demo")


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
    # One search node, so the replicas the index settings ask for stay unassigned: yellow, as on most dev servers.
    "development": DemoShape("opensearch-2", "yellow", True, "okta"),
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


@dataclass
class Demo:
    """Every demo environment's deployment and the servers started beside them, for the life of a process."""

    deployments: dict[str, DemoDeployment]
    idp: RunningIdp
    services: list[DemoService]

    def environment(self, env: EnvironmentSettings) -> EnvironmentSettings:
        """`env` pointed at its simulator and at every demo server that runs (loopback only)."""
        pointed = self.deployments[env.name].environment(env)
        extra: dict[str, Any] = {}
        for service in self.services:
            extra.update(service.settings.get(env.name, {}))
        return pointed.model_copy(update=extra) if extra else pointed

    def simulator(self, environment: str) -> RunningSimulator:
        return self.deployments[environment].mattermost

    @property
    def parts(self) -> list[DemoPart]:
        return [service.part for service in self.services]

    def started_line(self) -> str:
        """The banner's summary of what runs beside the simulators."""
        running = sum(part.running for part in self.parts)
        return f"What the demo started ({running} of {len(self.parts)} servers run beside the simulator)"

    def stop(self) -> None:
        for service in reversed(self.services):
            try:
                service.stop()
            except Exception:  # one part that will not stop must not keep the others running
                log.exception("stopping the demo's %s failed", service.part.name)
        for deployment in self.deployments.values():
            deployment.stop()
        self.idp.stop()


def _started(name: str, start: Callable[[], DemoService]) -> DemoService:
    """A part that fails to start is reported on the page and in the log; the rest of the demo goes on."""
    try:
        return start()
    except Exception as exc:
        log.exception("the demo's %s did not start", name)
        return DemoService(DemoPart(name, False, f"did not start: {exc}"))


def start_demo_environments(scenarios: Mapping[str, str], folder: Path | None = None) -> Demo:
    """One deployment per environment (name -> scenario), then the shared servers beside them, concurrently."""
    folder = folder or data_folder()
    idp = start_identity_provider()
    deployments: dict[str, DemoDeployment] = {}
    try:
        for name, scenario in scenarios.items():
            deployments[name] = start_demo(scenario, idp)
        simulators = {name: deployment.mattermost for name, deployment in deployments.items()}
        starters = {
            "Mattermost database (PostgreSQL)": lambda: database.start(folder, simulators),
            "Prometheus": lambda: prometheus.start(folder, simulators),
            "LDAP directory (OpenLDAP)": lambda: directory.start(folder, simulators),
        }
        with ThreadPoolExecutor(max_workers=len(starters)) as pool:
            futures = [pool.submit(_started, name, start) for name, start in starters.items()]
            services = [future.result() for future in futures]
    except BaseException:
        for deployment in deployments.values():
            deployment.stop()
        idp.stop()
        raise
    return Demo(deployments, idp, services)


_running: dict[tuple[tuple[str, str], ...], Demo] = {}
_running_lock = threading.Lock()


def banner_sentence(username: str) -> str:
    """What every demo page says first (Markdown)."""
    return (f"**Demo mode**: nothing is configured, so this dashboard watches an embedded Mattermost simulator and "
            f"signed you in automatically as the demo admin @{username}. The README explains how to connect your "
            "own deployment.")


def demo_scenarios(settings: Settings) -> tuple[tuple[str, str], ...]:
    """(environment, simulator scenario) of each demo environment."""
    return tuple((name, env.demo_scenario) for name, env in settings.environments.items() if env.demo_scenario)


def started_demo(settings: Settings) -> Demo | None:
    """The process's demo when it has already started; never starts it, never waits for it."""
    return _running.get(demo_scenarios(settings))


def running_demo(settings: Settings) -> Demo | None:
    """The process's demo for `settings`' demo environments, started on first use and stopped at exit; None
    when no environment is a demo. Pages, the watcher and the endpoints share it."""
    key = demo_scenarios(settings)
    if not key:
        return None
    with _running_lock:
        demo = _running.get(key)
        if demo is None:
            demo = start_demo_environments(dict(key))
            _running[key] = demo
            atexit.register(demo.stop)
        return demo


def stop_running_demos() -> None:
    """Stop every demo this process started: serve.py calls it on shutdown, because a server stopped by SIGTERM
    re-raises the signal and never reaches atexit, which would leave the demo's servers running."""
    with _running_lock:
        while _running:
            _, demo = _running.popitem()
            atexit.unregister(demo.stop)
            demo.stop()


@contextlib.contextmanager
def demo_environments(settings: Settings, names: list[str]) -> Iterator[dict[str, EnvironmentSettings]]:
    """The named environments, demo ones pointed at a demo started for the duration (for the command lines,
    which have no page to keep one running)."""
    scenarios = {name: settings.environment(name).demo_scenario for name in names
                 if settings.environment(name).demo_scenario}
    if not scenarios:
        yield {name: settings.environment(name) for name in names}
        return
    demo = start_demo_environments(scenarios)
    try:
        yield {name: demo.environment(settings.environment(name)) if name in scenarios
               else settings.environment(name) for name in names}
    finally:
        demo.stop()


@contextlib.contextmanager
def demo_environment(env: EnvironmentSettings) -> Iterator[EnvironmentSettings]:
    """`env` itself, or for a demo environment the same pointed at a demo started for the duration."""
    if not env.is_demo:
        yield env
        return
    demo = start_demo_environments({env.name: env.demo_scenario})
    try:
        yield demo.environment(env)
    finally:
        demo.stop()


def effective(settings: Settings, env: EnvironmentSettings) -> EnvironmentSettings:
    """Demo environments point at the process's demo; configured ones are used as they are."""
    if not env.demo_scenario:
        return env
    demo = running_demo(settings)
    return demo.environment(env) if demo is not None and env.name in demo.deployments else env

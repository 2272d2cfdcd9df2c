"""Process-wide resources (settings, store, demo simulators) and the environment a visitor works on."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import streamlit as st
from pydantic import SecretStr

from checklists import demo_seed
from checklists.loader import load_plan, load_rollout
from collectors import (
    Snapshot,
    SourceResult,
    SourceStatus,
    collect_all,
    mattermost,
    prometheus,
    support_packet,
)
from collectors.background import BackgroundSource
from collectors.runner import PlannedSource, run_async
from demo import history_seed, incidents_seed
from demo.deployment import demo_scenarios, effective, running_demo
from health import history, metric_panels, watch_lease
from health.history import StoredSnapshot
from health.run_sources import (
    PACKET_SOURCE,
    SERVER_PACKET_DEADLINE_S,
    SERVER_PACKET_EVERY_S,
    source_labels,
    watch_sources,
)
from health.stored_view import page_holder
from health.watch_run import RunRecord, record
from incidents import repository as incident_records
from settings import (
    EnvironmentSettings,
    MattermostSettings,
    PrometheusSettings,
    Settings,
    SettingsError,
    load_settings,
    settings_fingerprint,
)
from simulator import RunningSimulator
from store import Store, StoreError, open_store

log = logging.getLogger("mmdash.demo.history")
SOURCE_LABELS = source_labels()
# Slow facts, read in the background so no page waits for them: (collector, how often, deadline in s). A real
# server profiles its CPU for 5 s before it sends a packet; the latest release comes from GitHub through the server.
SLOW_SOURCES = {
    PACKET_SOURCE: (support_packet.collect, SERVER_PACKET_EVERY_S, SERVER_PACKET_DEADLINE_S),
    mattermost.LATEST_RELEASE: (mattermost.collect_latest_release, 6 * 3600, 30),
}


@st.cache_resource(show_spinner=False, max_entries=4)
def _settings(fingerprint: str) -> Settings:
    # Keyed by the fingerprint of the variables and the secrets file: an edited file takes effect on the next run.
    return load_settings()


def settings_or_stop() -> Settings:
    """The settings, or a page that names every wrong setting (and nothing else)."""
    try:
        return _settings(settings_fingerprint())
    except SettingsError as exc:
        st.error("The dashboard's settings are not usable. Fix these and reload:")
        for problem in exc.problems:
            st.markdown(f"- {problem}")
        st.stop()
        raise  # st.stop() raises; this keeps type checkers honest


def demo_simulator(env: EnvironmentSettings) -> RunningSimulator | None:
    if not env.demo_scenario:
        return None
    with st.spinner("Starting the demo deployment..."):
        demo = running_demo(settings_or_stop())
    return demo.simulator(env.name) if demo is not None else None


def effective_environment(env: EnvironmentSettings) -> EnvironmentSettings:
    """Demo environments point at the process's demo deployment; configured ones are used as they are."""
    return effective(settings_or_stop(), env)


@st.cache_resource(show_spinner=False, on_release=lambda store: store.close())
def _store(url: str | None, sqlite_path: str) -> Store:
    return open_store(url, sqlite_path=Path(sqlite_path))


STORE_RETRY_S = 30.0
_store_failures: dict[tuple[str | None, str], tuple[float, str]] = {}


def store_or_none(settings: Settings) -> tuple[Store | None, str | None]:
    """The store, or the sentence saying why it cannot be used (the pages keep working without it).

    A failure is remembered for STORE_RETRY_S, so a dead database does not add its connect timeout to every run.
    """
    url = settings.store_url.get_secret_value() if settings.store_url else None
    key = (url, str(settings.sqlite_path))
    failed_at, problem = _store_failures.get(key, (0.0, ""))
    if time.monotonic() - failed_at < STORE_RETRY_S:
        return None, problem
    try:
        store = _store(*key)
    except StoreError as exc:
        _store_failures[key] = (time.monotonic(), str(exc))
        return None, str(exc)
    _store_failures.pop(key, None)
    if settings.demo:
        _seed_demo(repr(store), store, demo_scenarios(settings))
        _seed_demo_history(store, settings)
    return store, None


@st.cache_resource(show_spinner=False)
def _seed_demo(location: str, _store: Store, environments: tuple[tuple[str, str], ...]) -> bool:
    """Example rollout progress in an empty demo store and past incidents in each environment (name, scenario)
    without any, once per process, so the demo shows a project under way and an incident history."""
    incidents_seed.seed_demo_incidents(_store, dict(environments), datetime.now(UTC))
    if not demo_seed.needed(_store):
        return False
    demo_seed.seed(_store, load_rollout(), load_plan(), [name for name, _ in environments], datetime.now(UTC).date())
    return True


_history_settled: dict[str, set[str]] = {}  # store -> environments whose demo past is written or not needed
_history_lock = threading.Lock()


def _seed_demo_history(store: Store, settings: Settings) -> None:
    """A month of each demo environment's past, written once its first real run is stored (the past leads up to
    it); until then each run asks again, which costs a few reads per environment."""
    settled = _history_settled.setdefault(repr(store), set())
    if settled >= set(settings.environments):
        return
    with _history_lock:  # two visitors at once must not both find the past missing
        try:
            outcomes = history_seed.seed_demo(store, settings, skip=settled)
        except StoreError as exc:
            log.warning("the demo's history was not written: %s", exc)
            return
    for done in outcomes:
        if done.settled:
            settled.add(done.environment)
        if done.outcome == history_seed.SEEDED:
            log.info("demo history of %s: %d snapshots in %.2f s", done.environment, done.rows, done.seconds)


def token_fingerprint(token: str | None) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()[:16]


@st.cache_data(ttl=15, max_entries=64, show_spinner=False)
def _snapshot(env_name: str, fingerprint: str, _env: EnvironmentSettings, deadline_s: float) -> Snapshot:
    # Keyed by environment and token fingerprint, so visitors signed in with different tokens never share.
    return run_async(collect_all(_env, deadline_s=deadline_s))


def _with_visitor_token(env: EnvironmentSettings, visitor_token: str | None) -> EnvironmentSettings:
    """Without a service token, collect with the signed-in admin's own token."""
    if env.mattermost is not None and env.mattermost.token is None and visitor_token:
        return env.model_copy(update={"mattermost": env.mattermost.model_copy(
            update={"token": SecretStr(visitor_token)})})
    return env


def load_snapshot(settings: Settings, env: EnvironmentSettings) -> Snapshot:
    """Collect (or reuse a fresh enough) snapshot of `env`, an environment already made effective."""
    token = env.mattermost.token.get_secret_value() if env.mattermost and env.mattermost.token else None
    return _snapshot(env.name, token_fingerprint(token), env, settings.deadline_seconds)


def clear_snapshots() -> None:
    _snapshot.clear()


@st.cache_data(ttl=15, max_entries=64, show_spinner=False)
def _watch_snapshot(env_name: str, fingerprint: str, _env: EnvironmentSettings, deadline_s: float) -> Snapshot:
    # What the watcher collects (every source and the latest release), so a run the page records is judged alike.
    return run_async(collect_all(_env, deadline_s=deadline_s, sources=watch_sources()))


# The watcher writes a snapshot per interval (minutes); a few seconds of cache spare the store a read per click.
STORED_TTL_S = 5


@st.cache_data(ttl=STORED_TTL_S, max_entries=64, show_spinner=False)
def _stored(location: str, env_name: str, _store: Store) -> StoredSnapshot | None:
    return history.latest(_store, env_name)


@dataclass(frozen=True)
class StoredRead:
    snapshot: StoredSnapshot | None  # None: nothing collected yet (or the store cannot be read)
    problem: str | None  # why the store cannot be used or read; None when it answered


def forget_stored() -> None:
    _stored.clear()


@st.cache_resource(show_spinner=False, max_entries=32)
def _slow_source(name: str, env_name: str, fingerprint: str, target: str,
                 _mattermost: MattermostSettings) -> BackgroundSource:
    # `target` (the settings but the token) is in the key, so a changed URL or TLS setting gets a new reader.
    collect, max_age_s, deadline_s = SLOW_SOURCES[name]
    return BackgroundSource(PlannedSource(name, collect, _mattermost), deadline_s=deadline_s, max_age_s=max_age_s)


def with_slow_sources(snapshot: Snapshot, env: EnvironmentSettings) -> Snapshot:
    """The snapshot plus the newest slow facts read in the background (none yet on a first visit)."""
    if env.mattermost is None or env.mattermost.token is None:
        return snapshot
    fingerprint = token_fingerprint(env.mattermost.token.get_secret_value())
    target = env.mattermost.model_dump_json(exclude={"token"})
    results = {name: _slow_source(name, env.name, fingerprint, target, env.mattermost).latest()
               for name in SLOW_SOURCES}
    ready = {name: result for name, result in results.items() if result is not None}
    return dataclasses.replace(snapshot, sources={**snapshot.sources, **ready}) if ready else snapshot


@st.cache_data(ttl=60, max_entries=32, show_spinner="Querying Prometheus...")
def _metrics_range(env_name: str, hours: int, _settings: PrometheusSettings) -> SourceResult:
    end = datetime.now(UTC).replace(second=0, microsecond=0)  # minute steps, so the cache serves a minute
    return run_async(prometheus.query_range(_settings, metric_panels.all_names(), end - timedelta(hours=hours), end))


@dataclass(frozen=True)
class PageContext:
    """What app.py established for this run: settings, the chosen environment, the signed-in admin."""

    settings: Settings
    env: EnvironmentSettings
    visitor_token: str | None
    store: Store | None
    actor: str = "unknown"  # the signed-in admin's username, recorded with everything they change

    def metrics_range(self, hours: int) -> SourceResult:
        env = effective_environment(self.env)
        if env.prometheus is None:
            return SourceResult("prometheus", SourceStatus.NOT_CONFIGURED, error="Prometheus is not configured.")
        return _metrics_range(env.name, hours, env.prometheus)

    def snapshot(self) -> Snapshot:
        env = _with_visitor_token(effective_environment(self.env), self.visitor_token)
        return with_slow_sources(load_snapshot(self.settings, env), env)

    def live_snapshot(self) -> Snapshot:
        """A live collection of every source, as the watcher makes it (reused for 15 s), with the newest server
        packet read in the background standing in for the one the watcher reads every 15 minutes."""
        env = _with_visitor_token(effective_environment(self.env), self.visitor_token)
        token = env.mattermost.token.get_secret_value() if env.mattermost and env.mattermost.token else None
        return with_slow_sources(_watch_snapshot(env.name, token_fingerprint(token), env,
                                                 self.settings.deadline_seconds), env)

    def stored(self) -> StoredRead:
        """The environment's newest stored snapshot (read at most every STORED_TTL_S), or why it cannot be read."""
        if self.store is None:
            _, problem = store_or_none(self.settings)
            return StoredRead(None, problem or "the store is not open")
        try:
            return StoredRead(_stored(repr(self.store), self.env.name, self.store), None)
        except StoreError as exc:
            return StoredRead(None, str(exc))

    def collect_now(self) -> tuple[Snapshot, RunRecord]:
        """Collect live now and record the run as the watcher would, as this admin ("page @ana").

        Raises StoreError when the run cannot be recorded; the collection is still cached for the live views.
        """
        _watch_snapshot.clear()
        snapshot = self.live_snapshot()
        if self.store is None:
            raise StoreError("the store is not open, so this collection cannot be recorded")
        slot = watch_lease.slot_of(snapshot.collected_at, self.settings.watch_interval(self.env))
        done = record(self.store, self.settings, self.env, snapshot, slot=slot, holder=page_holder(self.actor),
                      scheduled=False)
        forget_stored()
        return snapshot, done

    def environment(self, name: str, visitor_token: str | None) -> PageContext:
        """The same visitor's view of another environment (with their token there, if they signed in to it)."""
        return dataclasses.replace(self, env=self.settings.environment(name), visitor_token=visitor_token)


def page_context() -> PageContext:
    """What app.py's sign-in gate established; a page reached any other way shows nothing but the way in."""
    context = st.session_state.get("page_context")
    if not isinstance(context, PageContext):
        st.warning("Sign in first: open the dashboard from its start page.", icon=":material/lock:")
        st.page_link("app.py", label="Go to the sign-in", icon=":material/login:")
        st.stop()
    return context


def render_feature_switches(store: Store | None, actor: str) -> bool:
    """The sidebar switch for the incidents feature; off hides it everywhere, and its data stays in the store."""
    if store is None:
        return False
    try:
        enabled = incident_records.incidents_enabled(store)
    except StoreError:
        return False
    st.subheader("Features", divider="gray")
    wanted = st.toggle("Incidents", value=enabled, key="feature-incidents",
                       help="Off hides the incidents page and makes /incident answer that it is off; incidents, "
                            "timelines and playbook state stay stored and come back when it is on again.")
    if wanted != enabled:
        try:
            incident_records.set_incidents_enabled(store, wanted, actor=actor)
        except StoreError as exc:
            st.error(f"The switch was not saved ({exc}).")
            return enabled
    return wanted

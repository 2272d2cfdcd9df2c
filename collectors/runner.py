"""Run every configured source concurrently under one deadline and build a Snapshot."""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import certifi
import httpx
import uvloop

from collectors import database, elasticsearch, ldap, mattermost, prometheus, saml
from collectors.base import Snapshot, SourceResult, SourceStatus
from settings import EnvironmentSettings, env_var_name

T = TypeVar("T")
CollectFn = Callable[[Any, httpx.AsyncClient], Awaitable[SourceResult]]


@dataclass(frozen=True)
class Source:
    name: str
    label: str
    collect: CollectFn
    settings_field: str  # the EnvironmentSettings attribute holding this source's settings
    required_setting: str  # named in the "not configured" sentence


@dataclass(frozen=True)
class PlannedSource:
    name: str
    collect: CollectFn
    settings: Any


SOURCES: tuple[Source, ...] = (
    Source("mattermost", "Mattermost API", mattermost.collect, "mattermost", "url"),
    Source("database", "Mattermost database", database.collect, "database", "dsn"),
    Source("prometheus", "Prometheus", prometheus.collect, "prometheus", "url"),
    Source("ldap", "LDAP", ldap.collect, "ldap", "url"),
    Source("elasticsearch", "Elasticsearch/OpenSearch", elasticsearch.collect, "elasticsearch", "url"),
    Source("saml", "SAML identity provider", saml.collect, "saml", "metadata_url"),
)


@functools.cache
def tls_context(ca_bundle: str | None, verify: bool) -> ssl.SSLContext:
    """One TLS context per trust setting: building one loads the CA store, ~30 ms each time otherwise."""
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    return ssl.create_default_context(cafile=certifi.where())


def tls_for(settings: Any) -> ssl.SSLContext:
    """The TLS context for a source's settings (their `ca_bundle` and `verify_tls`, where they have them)."""
    ca_bundle = getattr(settings, "ca_bundle", None)
    return tls_context(str(ca_bundle) if ca_bundle else None, getattr(settings, "verify_tls", True))


def _http_client(settings: Any) -> httpx.AsyncClient:
    timeout = getattr(settings, "timeout_seconds", 10.0)
    return httpx.AsyncClient(verify=tls_for(settings), timeout=httpx.Timeout(timeout), follow_redirects=False)


async def _run_one(planned: PlannedSource) -> SourceResult:
    started = time.perf_counter()
    try:
        async with _http_client(planned.settings) as client:
            result = await planned.collect(planned.settings, client)
    except Exception as exc:  # a collector bug must not blank the page: report it as this source's error
        return SourceResult(
            planned.name,
            SourceStatus.ERROR,
            error=f"The {planned.name} collector failed unexpectedly ({type(exc).__name__}: {exc}); "
            "please report this with the support packet.",
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )
    return result


async def collect_sources(planned: Iterable[PlannedSource], deadline_s: float) -> dict[str, SourceResult]:
    """Run the sources concurrently; whatever is not done by the deadline becomes an error value."""
    started = time.perf_counter()
    tasks = {p.name: asyncio.create_task(_run_one(p)) for p in planned}
    if not tasks:
        return {}
    await asyncio.wait(tasks.values(), timeout=deadline_s)
    results: dict[str, SourceResult] = {}
    for name, task in tasks.items():
        if task.done():
            results[name] = task.result()
            continue
        task.cancel()
        results[name] = SourceResult(
            name,
            SourceStatus.ERROR,
            error=f"{name} did not answer within the {deadline_s:g} s collection deadline; "
            "the server may be overloaded, or a firewall may be dropping traffic.",
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )
    return results


def _not_configured(source: Source, env: EnvironmentSettings) -> SourceResult:
    variable = env_var_name(env.name, source.settings_field, source.required_setting)
    return SourceResult(
        source.name,
        SourceStatus.NOT_CONFIGURED,
        error=f"{source.label} is not configured for {env.label}: set {variable} "
        f"or [environments.{env.name}.{source.settings_field}] in .streamlit/secrets.toml.",
    )


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a collection from synchronous code (pages, CLI) on uvloop, whose faster loop trims the per-request
    overhead that adds up when every source sends a dozen requests at once."""
    return uvloop.run(coroutine)


async def collect_all(
    env: EnvironmentSettings, *, deadline_s: float = 20.0, sources: Iterable[Source] = SOURCES
) -> Snapshot:
    """Collect every source of one environment; the time taken is the slowest source's, not the sum."""
    started = time.perf_counter()
    planned: list[PlannedSource] = []
    results: dict[str, SourceResult] = {}
    for source in sources:
        source_settings = getattr(env, source.settings_field)
        if source_settings is None:
            results[source.name] = _not_configured(source, env)
        else:
            planned.append(PlannedSource(source.name, source.collect, source_settings))
    results.update(await collect_sources(planned, deadline_s))
    return Snapshot(
        environment=env.name,
        collected_at=datetime.now(UTC),
        elapsed_ms=(time.perf_counter() - started) * 1000,
        sources=results,
    )

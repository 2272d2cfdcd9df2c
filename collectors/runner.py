"""Run every configured source concurrently under one deadline and build a Snapshot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from collectors import mattermost
from collectors.base import Snapshot, SourceResult, SourceStatus
from settings import EnvironmentSettings, env_var_name

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
)


def _http_client(settings: Any) -> httpx.AsyncClient:
    verify: Any = True
    if getattr(settings, "ca_bundle", None):
        verify = str(settings.ca_bundle)
    elif getattr(settings, "verify_tls", True) is False:
        verify = False
    timeout = getattr(settings, "timeout_seconds", 10.0)
    return httpx.AsyncClient(verify=verify, timeout=httpx.Timeout(timeout), follow_redirects=False)


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

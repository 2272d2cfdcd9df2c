"""Prometheus collector: which Mattermost metrics exist, and the catalogue's queries over a time range.

prometheus-api-client is synchronous (requests), so every call runs in a worker thread. Discovery comes first,
three requests at once: the metric names present in the range, the `instance` labels that carry mattermost_*
metrics (so go_* and process_* series of other jobs, Prometheus itself included, stay out), and the targets,
whose scrape interval sets the step and the rate() window. Queries whose metrics do not exist (names drift
between Mattermost versions, and histograms appear only once observed) are skipped and reported, not sent.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import requests
import yaml
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from collectors import mm_queries
from collectors.base import SourceResult, SourceStatus
from collectors.mm_queries import MetricQuery
from collectors.prometheus_models import (
    DEFAULT_SCRAPE_INTERVAL_S,
    PrometheusFacts,
    QueryResult,
    choose_step,
    choose_window,
    latest_by_instance,
    matrix_to_frame,
)
from settings import PrometheusSettings

SOURCE = "prometheus"
DEFAULT_RANGE = timedelta(hours=24)
NAME_PREFIXES = ("mattermost_", "go_", "process_")
MATTERMOST_SERIES = '{__name__=~"mattermost_.+"}'
NAMES_PATH = "/api/v1/label/__name__/values"
INSTANCES_PATH = "/api/v1/label/instance/values"
JOBS_PATH = "/api/v1/label/job/values"
TARGETS_PATH = "/api/v1/targets"
CONFIG_PATH = "/api/v1/status/config"
_STATUS = re.compile(r"HTTP Status Code (\d+)")
_ERROR_TEXT = re.compile(r'"error":"((?:[^"\\]|\\.)*)"')
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800, "y": 31_536_000}
T = TypeVar("T")


def no_metrics_sentence(url: str) -> str:
    return (f"Prometheus at {url} has no Mattermost metrics: Mattermost metrics unavailable (Enterprise license "
            "and MetricsSettings.Enable are needed, and Prometheus must scrape :8067/metrics)")


class Failure(Exception):
    """A request without a usable answer: `sentence` says why, `status` how the source is to be reported."""

    def __init__(self, sentence: str, status: SourceStatus = SourceStatus.ERROR, http_status: int | None = None):
        super().__init__(sentence)
        self.sentence = sentence
        self.status = status
        self.http_status = http_status


# ---------------------------------------------------------------------------------------------- requests

def _connect(settings: PrometheusSettings) -> PrometheusConnect:
    auth = None
    if settings.username:
        auth = (settings.username, settings.password.get_secret_value() if settings.password else "")
    # One retry for a proxy's passing 502/503/504; none for connection errors, so a dead server fails at once.
    retry = Retry(total=1, connect=0, read=0, status=1, backoff_factor=0.2, status_forcelist=(502, 503, 504),
                  raise_on_status=False)
    return PrometheusConnect(url=settings.url, auth=auth, retry=retry, timeout=settings.timeout_seconds)


def _http_failure(exc: PrometheusApiClientException, settings: PrometheusSettings, path: str) -> Failure:
    text = str(exc)
    match = _STATUS.search(text)
    code = int(match.group(1)) if match else 0
    detail = _ERROR_TEXT.search(text)
    reason = detail.group(1) if detail else "no details"
    url = settings.url
    if code == 401:
        if settings.username:
            return Failure(f"Prometheus at {url} rejected the credentials (HTTP 401): check prometheus.username "
                           "and prometheus.password.", http_status=code)
        return Failure(f"Prometheus at {url} asks for credentials (HTTP 401): set prometheus.username and "
                       "prometheus.password.", http_status=code)
    if code == 403:
        return Failure(f"Prometheus at {url} refused access to {path} (HTTP 403): the account needs read access "
                       "to the query API.", SourceStatus.FORBIDDEN, code)
    if code in (404, 405):
        return _not_prometheus(settings, f"HTTP {code} on {path}", code)
    return Failure(f"Prometheus at {url} answered HTTP {code} on {path} ({reason}).", http_status=code)


def _not_prometheus(settings: PrometheusSettings, why: str, http_status: int | None = None) -> Failure:
    return Failure(f"{settings.url} answered, but it is not a Prometheus server ({why}): point prometheus.url at "
                   "the Prometheus server root, e.g. http://prometheus.example.com:9090.", http_status=http_status)


def _transport_failure(exc: requests.RequestException, settings: PrometheusSettings) -> Failure:
    parts = urlsplit(settings.url)
    where = f"{parts.scheme}://{parts.netloc}"
    text = str(exc).lower()
    timeout = settings.timeout_seconds
    if isinstance(exc, requests.ConnectTimeout):
        return Failure(f"Could not connect to Prometheus at {where} within {timeout:g} s: check the host and port, "
                       "and that no firewall drops the traffic.")
    if isinstance(exc, requests.Timeout):
        return Failure(f"Prometheus at {where} accepted the connection but did not answer within {timeout:g} s: "
                       "it may be overloaded; raise prometheus.timeout_seconds if it is just slow.")
    if isinstance(exc, requests.exceptions.SSLError):
        return Failure(f"TLS handshake with {where} failed: is the port serving HTTPS, or should the URL start "
                       "with http://?")
    if "name or service not known" in text or "failed to resolve" in text or "nodename nor servname" in text:
        return Failure(f"The host name {parts.hostname!r} could not be resolved (DNS): check the spelling of "
                       "prometheus.url.")
    if "refused" in text:
        return Failure(f"Nothing is listening at {where} (connection refused): is Prometheus running, and is the "
                       "port in prometheus.url right?")
    if isinstance(exc, requests.ConnectionError):
        return Failure(f"{where} closed the connection or did not speak HTTP: check that prometheus.url points at "
                       "Prometheus.")
    return Failure(f"Could not reach Prometheus at {where}: {type(exc).__name__}.")


async def _call(settings: PrometheusSettings, path: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one blocking client call in a worker thread; every failure becomes a Failure with its sentence."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except PrometheusApiClientException as exc:
        raise _http_failure(exc, settings, path) from None
    except requests.exceptions.JSONDecodeError:
        raise _not_prometheus(settings, f"{path} did not answer JSON") from None
    except requests.RequestException as exc:
        raise _transport_failure(exc, settings) from None
    except (KeyError, TypeError, IndexError):  # JSON, but not the Prometheus API's {"status", "data"} envelope
        raise _not_prometheus(settings, f"{path} answered JSON of another shape") from None


# ---------------------------------------------------------------------------------------------- discovery

def _duration_s(text: str) -> float | None:
    """Seconds in a Prometheus duration such as "15s", "1m30s" or "500ms"."""
    parts = _DURATION_PART.findall(text or "")
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(n) * _SECONDS[u] for n, u in parts)


def targets_interval(targets: dict[str, Any], instances: Iterable[str]) -> float | None:
    """The longest scrape interval among the active targets that scrape the given instances."""
    wanted = set(instances)
    seconds = [_duration_s(t.get("scrapeInterval", "")) for t in targets.get("activeTargets") or []
               if t.get("labels", {}).get("instance") in wanted]
    return max((s for s in seconds if s), default=None)


def config_interval(config: dict[str, Any], jobs: Iterable[str]) -> float | None:
    """The longest scrape interval of the given jobs in a Prometheus configuration (the global one if unset)."""
    default = _duration_s(str((config.get("global") or {}).get("scrape_interval", "")))
    wanted = set(jobs)
    seconds = [_duration_s(str(c.get("scrape_interval", ""))) or default for c in config.get("scrape_configs") or []
               if c.get("job_name") in wanted]
    return max((s for s in seconds if s), default=None)


def _read_config(settings: PrometheusSettings, auth: tuple[str, str] | None) -> dict[str, Any]:
    """The running configuration; the client library has no call for it, so this is a plain request."""
    response = requests.get(f"{settings.url}{CONFIG_PATH}", auth=auth, timeout=settings.timeout_seconds)
    response.raise_for_status()
    config = yaml.safe_load(response.json()["data"]["yaml"])
    return config if isinstance(config, dict) else {}


async def _scrape_interval(settings: PrometheusSettings, client: PrometheusConnect, targets: dict[str, Any],
                           instances: list[str], jobs: list[str]) -> tuple[float, str]:
    """From the targets that scrape Mattermost; right after a restart Prometheus lists no targets for a few
    seconds, and some compatible stores never do, so then from the configuration of the jobs that did."""
    seconds = targets_interval(targets, instances)
    if seconds:
        return seconds, "targets"
    try:
        config = await asyncio.to_thread(_read_config, settings, client.auth)
    except (requests.RequestException, ValueError, KeyError, TypeError, yaml.YAMLError):
        config = {}
    seconds = config_interval(config, jobs)
    if seconds:
        return seconds, "config"
    return DEFAULT_SCRAPE_INTERVAL_S, "default"


def instance_regex(instances: Sequence[str]) -> str:
    return "|".join(re.escape(i) for i in sorted(instances)) or ".+"


def _range_params(start_s: int, end_s: int) -> dict[str, str]:
    return {"start": str(start_s), "end": str(end_s)}


# ---------------------------------------------------------------------------------------------- collection

async def run_queries(settings: PrometheusSettings, queries: Sequence[MetricQuery], start: datetime,
                      end: datetime) -> SourceResult:
    """Discover, then run `queries` over [start, end]; errors come back as values, never raised."""
    started = time.perf_counter()
    client = _connect(settings)
    try:
        status, facts, error = await _collect(settings, client, queries, start, end)
    except Failure as failure:
        status, facts, error = failure.status, None, failure.sentence
    finally:
        client.close()
    return SourceResult(SOURCE, status, facts, error, (time.perf_counter() - started) * 1000)


async def _collect(settings: PrometheusSettings, client: PrometheusConnect, queries: Sequence[MetricQuery],
                   start: datetime, end: datetime) -> tuple[SourceStatus, PrometheusFacts, str | None]:
    end_s = math.floor(end.timestamp())
    span = _range_params(math.floor(start.timestamp()), end_s)
    mattermost_only = {**span, "match[]": MATTERMOST_SERIES}
    answers = await asyncio.gather(
        _call(settings, NAMES_PATH, client.get_label_values, "__name__", params=span),
        _call(settings, INSTANCES_PATH, client.get_label_values, "instance", params=mattermost_only),
        _call(settings, JOBS_PATH, client.get_label_values, "job", params=mattermost_only),
        _targets(settings, client),
        return_exceptions=True,  # every request finishes before the session closes; the first failure wins
    )
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    names, instances, jobs, targets = answers
    if not all(isinstance(v, list) for v in (names, instances, jobs)):
        raise _not_prometheus(settings, f"{NAMES_PATH} answered JSON of another shape")
    available = tuple(sorted(n for n in names if isinstance(n, str) and n.startswith(NAME_PREFIXES)))
    interval, interval_source = await _scrape_interval(settings, client, targets, instances, jobs)
    range_s = max(end_s - math.floor(start.timestamp()), 0)
    step = choose_step(range_s, interval)
    window = choose_window(step, interval)
    start_s = end_s - (range_s // step) * step  # the last point falls exactly on `end`
    present = set(names)
    skipped = {q.name: missing for q in queries if (missing := tuple(m for m in q.metrics if m not in present))}
    runnable = [q for q in queries if q.name not in skipped]
    regex = instance_regex(instances)
    promql = {q.name: q.promql(regex, f"{window}s") for q in runnable}
    answers = await asyncio.gather(*(_range(settings, client, promql[q.name], start_s, end_s, step)
                                     for q in runnable), return_exceptions=True)
    results: dict[str, QueryResult] = {}
    missing: dict[str, str] = {}
    for query, answer in zip(runnable, answers, strict=True):
        if isinstance(answer, Failure):
            missing[query.name] = f"{query.title}: {answer.sentence}"
        elif isinstance(answer, BaseException):
            raise answer
        else:
            frame = matrix_to_frame(answer)
            results[query.name] = QueryResult(query.name, promql[query.name], query.unit, frame,
                                              latest_by_instance(frame))
    facts = PrometheusFacts(
        url=settings.url, start=datetime.fromtimestamp(start_s, UTC), end=datetime.fromtimestamp(end_s, UTC),
        step_s=step, window_s=window, scrape_interval_s=interval, scrape_interval_source=interval_source,
        available_metrics=available, instances=tuple(sorted(instances)), results=results, skipped=skipped,
        missing=missing)
    if not facts.has_mattermost_metrics:
        return SourceStatus.DEGRADED, facts, no_metrics_sentence(settings.url)
    if missing and not results:
        return SourceStatus.ERROR, facts, next(iter(missing.values()))
    if missing:
        first = next(iter(missing.values()))
        return SourceStatus.DEGRADED, facts, f"{len(missing)} of {len(runnable)} Prometheus queries failed; {first}"
    return SourceStatus.OK, facts, None


async def _targets(settings: PrometheusSettings, client: PrometheusConnect) -> dict[str, Any]:
    """The targets list; servers that do not offer it (some Prometheus-compatible stores) fall back to defaults."""
    try:
        return await _call(settings, TARGETS_PATH, client.get_targets, state="active")
    except Failure as failure:
        if failure.http_status in (404, 405):
            return {}
        raise


async def _range(settings: PrometheusSettings, client: PrometheusConnect, promql: str, start_s: int, end_s: int,
                 step: int) -> list[dict[str, Any]]:
    return await _call(settings, "/api/v1/query_range", client.custom_query_range, promql,
                       start_time=datetime.fromtimestamp(start_s, UTC), end_time=datetime.fromtimestamp(end_s, UTC),
                       step=str(step))


async def query_range(settings: PrometheusSettings, names: Iterable[str], start: datetime,
                      end: datetime) -> SourceResult:
    """The catalogue queries called `names` over [start, end], for a page's time-range picker."""
    return await run_queries(settings, [mm_queries.get(n) for n in names], start, end)


async def collect(settings: PrometheusSettings, client: httpx.AsyncClient) -> SourceResult:
    """The whole catalogue over the last DEFAULT_RANGE. `client` is unused: prometheus-api-client brings its own
    requests session."""
    end = datetime.now(UTC)
    return await run_queries(settings, mm_queries.CATALOGUE, end - DEFAULT_RANGE, end)

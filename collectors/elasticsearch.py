"""Elasticsearch / OpenSearch collector: engine and version, ICU plugin, cluster health and Mattermost's indexes."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from collectors import elasticsearch_models as models
from collectors.base import SourceResult, SourceStatus
from collectors.http_errors import describe_transport_error
from settings import ElasticsearchSettings

SERVICE = "Elasticsearch/OpenSearch"
HEAP_FIELDS = "nodes.*.name,nodes.*.jvm.mem.heap_used_percent,nodes.*.jvm.mem.heap_max_in_bytes"
# (key, path, query, the fact it gives): all sent at once.
REQUESTS: tuple[tuple[str, str, dict[str, str], str], ...] = (
    ("root", "/", {}, "Version"),
    ("health", "/_cluster/health", {}, "Cluster health"),
    ("plugins", "/_cat/plugins", {"format": "json"}, "Plugins"),
    ("indices", "/_cat/indices", {"format": "json", "bytes": "b"}, "Mattermost indexes"),
    ("heap", "/_nodes/stats/jvm", {"filter_path": HEAP_FIELDS}, "JVM heap"),
)


@dataclass(frozen=True)
class Reply:
    """One endpoint's outcome: a JSON value, or the sentence saying why there is none."""

    fact: str
    path: str
    value: Any = None
    error: str | None = None
    status_code: int | None = None
    elastic_product: str | None = None  # the X-Elastic-Product header Elasticsearch 7.14+ sends
    content_type: str | None = None
    transport_failed: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def _reason(response: httpx.Response) -> str:
    """The engines' errors are {"error": {"root_cause": [...], "reason": ...}, "status": n}; proxies send text."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:157] + "..." if len(text) > 160 else text or response.reason_phrase or "no details"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        causes = error.get("root_cause") or [error]
        reason = causes[0].get("reason") if isinstance(causes[0], dict) else None
        return str(reason or error.get("type") or response.reason_phrase)
    return str(error) if error else response.reason_phrase or "no details"


def _describe_status(response: httpx.Response, fact: str, path: str, username: str | None) -> str:
    code = response.status_code
    reason = _reason(response)
    if code == 403:
        privilege = ("the 'monitor' index privilege on Mattermost's indexes" if path.startswith("/_cat/indices")
                     else "the 'monitor' cluster privilege")
        return f"{fact}: user {username!r} may not read {path} (HTTP 403: {reason}); grant its role {privilege}."
    if code >= 500:
        return f"{fact}: the cluster answered HTTP {code} on {path} ({reason}); check the cluster's log."
    return f"{fact}: unexpected HTTP {code} on {path} ({reason})."


def public_url(url: str) -> str:
    """The URL without any `user:password@`, which ElasticsearchSettings.url may carry: sentences and facts
    are shown and exported, credentials must not be."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _username(settings: ElasticsearchSettings) -> str | None:
    return settings.username or urlsplit(settings.url).username


def _transport_sentence(exc: httpx.HTTPError, settings: ElasticsearchSettings) -> str:
    return describe_transport_error(exc, SERVICE, public_url(settings.url), settings.timeout_seconds)


async def _get(client: httpx.AsyncClient, settings: ElasticsearchSettings, auth: httpx.BasicAuth | None,
               path: str, params: dict[str, str], fact: str) -> Reply:
    try:
        response = await client.get(settings.url + path, params=params, auth=auth,
                                    headers={"Accept": "application/json"}, timeout=settings.timeout_seconds)
    except httpx.HTTPError as exc:
        return Reply(fact, path, error=_transport_sentence(exc, settings), transport_failed=True)
    kept = {"status_code": response.status_code, "elastic_product": response.headers.get("X-Elastic-Product"),
            "content_type": response.headers.get("Content-Type")}
    if response.status_code >= 300:
        return Reply(fact, path, error=_describe_status(response, fact, path, _username(settings)), **kept)
    try:
        value = json.loads(response.content)
    except ValueError as exc:
        return Reply(fact, path, error=f"{fact}: {path} answered with malformed JSON ({exc}); a proxy in front "
                     "of the cluster may be cutting or rewriting responses.", **kept)
    return Reply(fact, path, value=value, **kept)


def _credentials_sentence(settings: ElasticsearchSettings) -> str:
    username = _username(settings)
    if not username:
        return (f"{SERVICE} at {public_url(settings.url)} requires a user name and password (HTTP 401): set "
                "elasticsearch.username and elasticsearch.password to the user Mattermost's search connects as.")
    return (f"{SERVICE} at {public_url(settings.url)} rejected the user name or password of {username!r} "
            "(HTTP 401): check elasticsearch.username and elasticsearch.password, or whether the user is disabled.")


def _not_a_search_engine(settings: ElasticsearchSettings, root: Reply) -> str:
    answered = f"HTTP {root.status_code}" + (f", {root.content_type.split(';')[0]}" if root.content_type else "")
    return (f"{public_url(settings.url)} answered ({answered}) but not as Elasticsearch or OpenSearch would "
            "(no engine version at GET /): point elasticsearch.url at the cluster's HTTP port, e.g. "
            "https://search.example.com:9200, not at Kibana, OpenSearch Dashboards or Mattermost.")


def _read(replies: dict[str, Reply], key: str, parse, missing: dict[str, str]) -> Any:
    reply = replies[key]
    if not reply.ok:
        missing[reply.fact] = reply.error or "unknown error"
        return None
    try:
        return parse(reply.value)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        missing[reply.fact] = (f"{reply.fact}: {reply.path} answered in an unexpected shape ({exc}); "
                               "is this a supported engine version?")
        return None


def build_facts(url: str, identity: models.Identity | None, replies: dict[str, Reply]) -> models.SearchEngineFacts:
    missing: dict[str, str] = {}
    if identity is None:
        missing["Version"] = replies["root"].error or "GET / did not say which engine this is."
    health = _read(replies, "health", lambda v: dict(v), missing) or {}
    plugins = _read(replies, "plugins", models.parse_plugins, missing)
    indexes = _read(replies, "indices", models.mattermost_indexes, missing)
    heap = _read(replies, "heap", models.parse_heap, missing)
    percent = health.get("active_shards_percent_as_number")
    return models.SearchEngineFacts(
        url=url,
        distribution=identity.distribution if identity else None,
        version=identity.version if identity else None,
        lucene_version=identity.lucene_version if identity else None,
        cluster_name=(identity.cluster_name if identity else None) or health.get("cluster_name"),
        health_status=health.get("status"),
        nodes=models.as_int(health.get("number_of_nodes")),
        data_nodes=models.as_int(health.get("number_of_data_nodes")),
        unassigned_shards=models.as_int(health.get("unassigned_shards")),
        active_shards_percent=float(percent) if isinstance(percent, int | float) else None,
        plugins=plugins or (),
        has_analysis_icu=None if plugins is None else any(p.component in models.ICU_PLUGINS for p in plugins),
        indexes=indexes or (),
        total_docs=None if indexes is None else models.known_total([i.docs_count for i in indexes]),
        total_size_bytes=None if indexes is None else models.known_total([i.size_bytes for i in indexes]),
        heap=heap or (),
        missing=missing,
    )


def _judge(facts: models.SearchEngineFacts, replies: dict[str, Reply],
           settings: ElasticsearchSettings) -> tuple[SourceStatus, str | None]:
    # A red cluster is a fact to show, not a failure to read it: health rules judge it.
    forbidden = [r.fact for r in replies.values() if r.status_code == 403]
    if forbidden:
        return SourceStatus.FORBIDDEN, (
            f"User {_username(settings)!r} may not read {', '.join(forbidden)} (HTTP 403): grant its role the "
            "'monitor' cluster privilege, and 'monitor' on Mattermost's indexes, to see the full picture.")
    if facts.missing:
        first = next(iter(facts.missing.values()))
        more = len(facts.missing) - 1
        return SourceStatus.DEGRADED, first + (f" (and {more} more missing)" if more else "")
    return SourceStatus.OK, None


async def collect(settings: ElasticsearchSettings, client: httpx.AsyncClient) -> SourceResult:
    started = time.perf_counter()

    def result(status: SourceStatus, data: Any = None, error: str | None = None) -> SourceResult:
        return SourceResult("elasticsearch", status, data, error, (time.perf_counter() - started) * 1000)

    auth = None
    if settings.username:
        password = settings.password.get_secret_value() if settings.password else ""
        auth = httpx.BasicAuth(settings.username, password)
    answers = await asyncio.gather(*(_get(client, settings, auth, path, params, fact)
                                     for _, path, params, fact in REQUESTS))
    replies = dict(zip((key for key, *_ in REQUESTS), answers, strict=True))
    root = replies["root"]
    if root.transport_failed:
        return result(SourceStatus.ERROR, error=root.error)
    if root.status_code == 401:
        return result(SourceStatus.ERROR, error=_credentials_sentence(settings))
    if root.status_code is not None and root.status_code >= 500:
        return result(SourceStatus.ERROR, error=root.error)
    identity = models.parse_identity(root.value, root.elastic_product) if root.ok else None
    if identity is None and root.status_code != 403:
        return result(SourceStatus.ERROR, error=_not_a_search_engine(settings, root))
    if not any(reply.ok for reply in replies.values()):
        return result(SourceStatus.ERROR, error=root.error)
    facts = build_facts(public_url(settings.url), identity, replies)
    status, error = _judge(facts, replies, settings)
    return result(status, facts, error)

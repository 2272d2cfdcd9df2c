"""A stand-in Elasticsearch / OpenSearch cluster holding Mattermost's indexes, for the search collector's tests.

Neither engine can be installed on our machines, so this serves the response shapes of the endpoints the
collector reads (GET /, /_cluster/health, /_cat/plugins, /_cat/indices, /_nodes/stats/jvm), computed from a
small model of a cluster: cluster health and unassigned shards follow from the shard assignment of each index,
as in the real thing. Variants: Elasticsearch 8.x, Elasticsearch 7.17, OpenSearch 2.x; with or without the ICU
analysis plugin; health green, yellow or red; security on (basic auth, with an admin and a user lacking the
cluster `monitor` privilege) or off; plain HTTP or HTTPS with a self-signed certificate.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import random
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from simulator.self_signed import new_key, self_signed
from simulator.threaded_server import ThreadedServer, serve_in_thread

Health = Literal["green", "yellow", "red"]
POST_DAYS = 30


@dataclass(frozen=True)
class Release:
    distribution: Literal["elasticsearch", "opensearch"]
    number: str
    lucene_version: str
    minimum_wire_compatibility_version: str
    minimum_index_compatibility_version: str
    build_type: str
    build_hash: str
    build_date: str
    node_prefix: str
    bundled_plugins: tuple[tuple[str, str], ...]  # (component, version) present on every node
    icu_plugin: str


RELEASES: dict[str, Release] = {
    "elasticsearch-8": Release(
        "elasticsearch", "8.15.3", "9.11.1", "7.17.0", "7.0.0", "docker",
        "f97532e680b555c3a05e73a74c28afb666923018", "2024-10-09T22:08:00.328917561Z", "es-node", (), "analysis-icu"),
    "elasticsearch-7.17": Release(
        "elasticsearch", "7.17.24", "8.11.3", "6.8.0", "6.0.0-beta1", "docker",
        "fcf25fff740db6ab3ed5d145c58d70e4c3528ea7", "2024-09-05T07:36:06.498958637Z", "es-node", (),
        "analysis-icu"),
    "opensearch-2": Release(
        "opensearch", "2.17.1", "9.11.1", "7.10.0", "7.0.0", "tar",
        "1893d20797e30110e5877170e44d42275ce5951e", "2024-09-26T23:11:42.036981837Z", "opensearch-node",
        (("opensearch-alerting", "2.17.1.0"), ("opensearch-index-management", "2.17.1.0"),
         ("opensearch-job-scheduler", "2.17.1.0"), ("opensearch-security", "2.17.1.0"),
         ("opensearch-sql", "2.17.1.0")),
        "opensearch-analysis-icu"),
}


@dataclass(frozen=True)
class User:
    name: str
    password: str
    cluster_monitor: bool  # without it only the index-level endpoints answer, and only for Mattermost's indexes


@dataclass(frozen=True)
class Index:
    name: str
    uuid: str
    primaries: int
    replicas: int
    docs: int
    deleted: int
    primary_bytes: int
    unassigned_primaries: int = 0
    unassigned_replicas: int = 0
    mattermost: bool = True

    @property
    def health(self) -> Health:
        if self.unassigned_primaries:
            return "red"
        return "yellow" if self.unassigned_replicas else "green"

    @property
    def assigned_copies(self) -> int:
        return self.primaries * (1 + self.replicas) - self.unassigned_primaries - self.unassigned_replicas


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    ip: str
    heap_max_bytes: int
    heap_used_percent: int


@dataclass(frozen=True)
class Cluster:
    release: Release
    name: str
    uuid: str
    nodes: tuple[Node, ...]
    indexes: tuple[Index, ...]
    analysis_icu: bool
    users: tuple[User, ...] = ()  # empty: security is off and anyone may read

    @property
    def health(self) -> Health:
        states = {index.health for index in self.indexes}
        return "red" if "red" in states else "yellow" if "yellow" in states else "green"

    @property
    def unassigned_shards(self) -> int:
        return sum(i.unassigned_primaries + i.unassigned_replicas for i in self.indexes)


def build_cluster(release: str = "elasticsearch-8", *, health: Health = "green", analysis_icu: bool = True,
                  users: tuple[User, ...] = (), index_prefix: str = "", today: date | None = None) -> Cluster:
    """A cluster with Mattermost's indexes in the given health: yellow is a one-node cluster whose replicas have
    nowhere to go; red is a three-node cluster that lost both copies of the newest posts index."""
    spec = RELEASES[release]
    rng = random.Random(f"{release}-{health}")
    node_count = 1 if health == "yellow" else 3
    nodes = tuple(
        Node(rng.randbytes(11).hex()[:22], f"{spec.node_prefix}-{n}", f"10.0.0.{10 + n}", 4 << 30,
             rng.randint(30, 75))
        for n in range(1, node_count + 1))
    today = today or datetime.now(UTC).date()
    indexes: list[Index] = []
    for age in range(POST_DAYS - 1, -1, -1):
        day = today - timedelta(days=age)
        docs = rng.randint(2_000, 20_000)
        indexes.append(_index(rng, f"{index_prefix}posts_{day:%Y_%m_%d}", docs, 1_400))
    for name, docs, doc_bytes in (("channels", 4_200, 900), ("users", 12_500, 1_100), ("files", 38_000, 2_300)):
        indexes.append(_index(rng, index_prefix + name, docs, doc_bytes))
    indexes.append(_index(rng, "app-logs-2024.10", 250_000, 600, mattermost=False))
    if spec.distribution == "opensearch":
        indexes.append(_index(rng, ".opendistro-job-scheduler-lock", 3, 300, mattermost=False))
    if health == "yellow":
        indexes = [replace(i, unassigned_replicas=i.primaries * i.replicas) for i in indexes]
    elif health == "red":
        newest = POST_DAYS - 1  # posts indexes come first, oldest to newest
        lost = indexes[newest]
        indexes[newest] = replace(lost, unassigned_primaries=lost.primaries,
                                  unassigned_replicas=lost.primaries * lost.replicas)
    return Cluster(spec, "mattermost-search", _uuid(rng), nodes, tuple(indexes), analysis_icu, users)


def _index(rng: random.Random, name: str, docs: int, doc_bytes: int, *, mattermost: bool = True) -> Index:
    return Index(name, _uuid(rng), 1, 1, docs, rng.randint(0, docs // 50), docs * doc_bytes + 22_000,
                 mattermost=mattermost)


def _uuid(rng: random.Random) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(16)).decode().rstrip("=")


# --- security -------------------------------------------------------------------------------------------------

def _es_error(kind: str, reason: str, status: int, header: dict[str, list[str]] | None = None) -> dict[str, Any]:
    cause: dict[str, Any] = {"type": kind, "reason": reason}
    if header:
        cause["header"] = header
    return {"error": {"root_cause": [cause], **cause}, "status": status}


class Security:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def user(self, request: Request) -> User | Response | None:
        """The signed-in user, a 401 answer, or None when security is off."""
        if not self.cluster.users:
            return None
        name, password = _basic_credentials(request)
        for user in self.cluster.users:
            if user.name == name and secrets.compare_digest(user.password, password or ""):
                return user
        return self._unauthenticated(request, name)

    def _unauthenticated(self, request: Request, name: str | None) -> Response:
        if self.cluster.release.distribution == "opensearch":
            return PlainTextResponse("Unauthorized", 401,
                                     headers={"WWW-Authenticate": 'Basic realm="OpenSearch Security"'})
        path = request.url.path
        reason = (f"unable to authenticate user [{name}] for REST request [{path}]" if name
                  else f"missing authentication credentials for REST request [{path}]")
        challenge = ['Basic realm="security" charset="UTF-8"', 'Bearer realm="security"', "ApiKey"]
        return JSONResponse(_es_error("security_exception", reason, 401, {"WWW-Authenticate": challenge}), 401,
                            headers={"WWW-Authenticate": challenge[0]})

    def forbidden(self, user: User, action: str) -> Response:
        if self.cluster.release.distribution == "opensearch":
            reason = (f"no permissions for [{action}] and User "
                      f"[name={user.name}, backend_roles=[], requestedTenant=null]")
        else:
            reason = (f"action [{action}] is unauthorized for user [{user.name}] with effective roles "
                      "[mattermost_search], this action is granted by the cluster privileges [monitor,manage,all]")
        return JSONResponse(_es_error("security_exception", reason, 403), 403)


def _basic_credentials(request: Request) -> tuple[str | None, str | None]:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        name, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return name, password


# --- responses --------------------------------------------------------------------------------------------------

def _main(cluster: Cluster) -> dict[str, Any]:
    spec = cluster.release
    version: dict[str, Any] = {"number": spec.number}
    if spec.distribution == "opensearch":
        version = {"distribution": "opensearch", **version}
    else:
        version["build_flavor"] = "default"
    version.update({
        "build_type": spec.build_type, "build_hash": spec.build_hash, "build_date": spec.build_date,
        "build_snapshot": False, "lucene_version": spec.lucene_version,
        "minimum_wire_compatibility_version": spec.minimum_wire_compatibility_version,
        "minimum_index_compatibility_version": spec.minimum_index_compatibility_version,
    })
    tagline = ("The OpenSearch Project: https://opensearch.org/" if spec.distribution == "opensearch"
               else "You Know, for Search")
    return {"name": cluster.nodes[0].name, "cluster_name": cluster.name, "cluster_uuid": cluster.uuid,
            "version": version, "tagline": tagline}


def _health(cluster: Cluster) -> dict[str, Any]:
    primaries = sum(i.primaries - i.unassigned_primaries for i in cluster.indexes)
    active = sum(i.assigned_copies for i in cluster.indexes)
    total = active + cluster.unassigned_shards
    body: dict[str, Any] = {
        "cluster_name": cluster.name, "status": cluster.health, "timed_out": False,
        "number_of_nodes": len(cluster.nodes), "number_of_data_nodes": len(cluster.nodes),
    }
    if cluster.release.distribution == "opensearch":
        body.update({"discovered_master": True, "discovered_cluster_manager": True})
    body.update({
        "active_primary_shards": primaries, "active_shards": active, "relocating_shards": 0,
        "initializing_shards": 0, "unassigned_shards": cluster.unassigned_shards,
    })
    if cluster.release.distribution == "elasticsearch" and cluster.release.number.startswith("8."):
        body["unassigned_primary_shards"] = sum(i.unassigned_primaries for i in cluster.indexes)
    body.update({
        "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0,
        "active_shards_percent_as_number": round(100.0 * active / total, 13) if total else 100.0,
    })
    return body


def _plugins(cluster: Cluster) -> list[dict[str, str]]:
    rows = []
    for node in cluster.nodes:
        plugins = list(cluster.release.bundled_plugins)
        if cluster.analysis_icu:
            plugins.append((cluster.release.icu_plugin, cluster.release.number))
        rows.extend({"name": node.name, "component": c, "version": v} for c, v in sorted(plugins))
    return rows


def _human_bytes(size: int) -> str:
    """How the _cat APIs print sizes without ?bytes=: `225b`, `4.5kb`, `13mb`."""
    for unit, power in (("tb", 4), ("gb", 3), ("mb", 2), ("kb", 1)):
        if size >= 1024 ** power:
            return f"{size / 1024 ** power:.1f}".removesuffix(".0") + unit
    return f"{size}b"


def _indices(cluster: Cluster, user: User | None, raw_bytes: bool) -> list[dict[str, Any]]:
    visible = [i for i in cluster.indexes if user is None or user.cluster_monitor or i.mattermost]
    rows = []
    for index in visible:
        red = index.health == "red"
        size = index.primary_bytes * index.assigned_copies // index.primaries

        def shown(value: int) -> str:
            return str(value) if raw_bytes else _human_bytes(value)

        row: dict[str, Any] = {
            "health": index.health, "status": "open", "index": index.name, "uuid": index.uuid,
            "pri": str(index.primaries), "rep": str(index.replicas),
            # A red index has no started primary, so the engine knows neither its documents nor its size.
            "docs.count": None if red else str(index.docs),
            "docs.deleted": None if red else str(index.deleted),
            "store.size": None if red else shown(size),
            "pri.store.size": None if red else shown(index.primary_bytes),
        }
        if cluster.release.distribution == "elasticsearch" and cluster.release.number.startswith("8."):
            row["dataset.size"] = None if red else shown(index.primary_bytes)
        rows.append(row)
    return rows


def _jvm_stats(cluster: Cluster) -> dict[str, Any]:
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    nodes = {}
    for node in cluster.nodes:
        used = node.heap_max_bytes * node.heap_used_percent // 100
        nodes[node.id] = {
            "timestamp": now_ms, "name": node.name, "transport_address": f"{node.ip}:9300", "host": node.ip,
            "ip": f"{node.ip}:9300", "roles": ["data", "ingest", "master", "remote_cluster_client"],
            "attributes": {},
            "jvm": {
                "timestamp": now_ms, "uptime_in_millis": 864_000_000,
                "mem": {"heap_used_in_bytes": used, "heap_used_percent": node.heap_used_percent,
                        "heap_committed_in_bytes": node.heap_max_bytes, "heap_max_in_bytes": node.heap_max_bytes,
                        "non_heap_used_in_bytes": 210_000_000, "non_heap_committed_in_bytes": 230_000_000},
                "threads": {"count": 96, "peak_count": 104},
                "gc": {"collectors": {"young": {"collection_count": 1830, "collection_time_in_millis": 21_400},
                                      "old": {"collection_count": 0, "collection_time_in_millis": 0}}},
            },
        }
    count = len(cluster.nodes)
    return {"_nodes": {"total": count, "successful": count, "failed": 0}, "cluster_name": cluster.name,
            "nodes": nodes}


def filter_path(body: Any, expression: str | None) -> Any:
    """Keep only the fields `expression` names (comma-separated dotted paths, `*` matching one key), as the
    engines' `filter_path` parameter does; nothing matched gives {}."""
    if not expression:
        return body
    patterns = [p.split(".") for p in expression.split(",") if p]
    kept = _keep(body, patterns)
    return {} if kept is None else kept


def _keep(value: Any, patterns: list[list[str]]) -> Any:
    if any(not p for p in patterns):
        return value
    if not isinstance(value, dict):
        return None
    out = {}
    for key, child in value.items():
        deeper = [p[1:] for p in patterns if fnmatch.fnmatchcase(key, p[0])]
        if deeper and (kept := _keep(child, deeper)) is not None:
            out[key] = kept
    return out or None


def _cat(request: Request, rows: list[dict[str, Any]]) -> Response:
    if request.query_params.get("format") == "json":
        return JSONResponse(rows)
    lines = [" ".join("" if v is None else str(v) for v in row.values()) for row in rows]
    return PlainTextResponse("".join(line + "\n" for line in lines))


def build_app(cluster: Cluster) -> Starlette:
    security = Security(cluster)

    def endpoint(action: str, answer: Callable[[Request, User | None], Response], *, cluster_level: bool = True):
        async def handle(request: Request) -> Response:
            user = security.user(request)
            if isinstance(user, Response):
                return user
            if cluster_level and user is not None and not user.cluster_monitor:
                return security.forbidden(user, action)
            response = answer(request, user)
            if cluster.release.distribution == "elasticsearch":
                response.headers["X-elastic-product"] = "Elasticsearch"
            return response
        return handle

    def json_body(request: Request, body: Any) -> Response:
        body = filter_path(body, request.query_params.get("filter_path"))
        pretty = "pretty" in request.query_params
        return Response(json.dumps(body, indent=2 if pretty else None), media_type="application/json")

    routes = [
        Route("/", endpoint("cluster:monitor/main", lambda r, u: json_body(r, _main(cluster)))),
        Route("/_cluster/health",
              endpoint("cluster:monitor/health", lambda r, u: json_body(r, _health(cluster)))),
        Route("/_cat/plugins", endpoint("cluster:monitor/nodes/info", lambda r, u: _cat(r, _plugins(cluster)))),
        Route("/_cat/indices", endpoint(
            "indices:monitor/stats",
            lambda r, u: _cat(r, _indices(cluster, u, r.query_params.get("bytes") == "b")),
            cluster_level=False)),
        Route("/_nodes/stats/jvm",
              endpoint("cluster:monitor/nodes/stats", lambda r, u: json_body(r, _jvm_stats(cluster)))),
    ]
    return Starlette(routes=routes)


@dataclass
class RunningSearchEngine:
    """A stand-in cluster serving on a real port. Use as a context manager, or call stop()."""

    cluster: Cluster
    server: ThreadedServer
    _tls_dir: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def admin(self) -> User | None:
        return next((u for u in self.cluster.users if u.cluster_monitor), None)

    @property
    def limited_user(self) -> User | None:
        return next((u for u in self.cluster.users if not u.cluster_monitor), None)

    def stop(self) -> None:
        self.server.stop()
        if self._tls_dir is not None:
            self._tls_dir.cleanup()

    def __enter__(self) -> RunningSearchEngine:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def start_search_engine(release: str = "elasticsearch-8", *, health: Health = "green", analysis_icu: bool = True,
                        security: bool = False, tls: bool = False, index_prefix: str = "",
                        host: str = "127.0.0.1", port: int = 0) -> RunningSearchEngine:
    """Serve a stand-in cluster (a key of RELEASES) and return once it accepts connections. With `security`
    every request needs basic auth: `.admin` may read everything, `.limited_user` lacks cluster `monitor`."""
    if release not in RELEASES:
        raise ValueError(f"unknown release {release!r}; known: {', '.join(RELEASES)}")
    users = (User("elastic", secrets.token_urlsafe(12), True),
             User("mattermost", secrets.token_urlsafe(12), False)) if security else ()
    cluster = build_cluster(release, health=health, analysis_icu=analysis_icu, users=users,
                            index_prefix=index_prefix)
    tls_dir = tempfile.TemporaryDirectory(prefix="search-engine-tls-") if tls else None
    tls_files = None
    if tls_dir is not None:
        now = datetime.now(UTC)
        pair = self_signed(f"CN={host}", now - timedelta(days=1), now + timedelta(days=90), key=new_key(None),
                           hosts=(host, "localhost"))
        tls_files = pair.write_pem(Path(tls_dir.name), "node")
    try:
        server = serve_in_thread(build_app(cluster), f"search-engine-{release}", host, port, tls_files=tls_files)
    except Exception:
        if tls_dir is not None:
            tls_dir.cleanup()
        raise
    return RunningSearchEngine(cluster, server, tls_dir)

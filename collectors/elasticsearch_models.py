"""Typed facts read from an Elasticsearch or OpenSearch cluster, and the parsers that build them from raw JSON."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Mattermost's search needs the ICU analyzer; each distribution ships it under its own plugin name.
ICU_PLUGINS = frozenset({"analysis-icu", "opensearch-analysis-icu"})
ELASTICSEARCH_TAGLINE = "You Know, for Search"
# Mattermost writes one posts index per day (posts_YYYY_MM_DD; the aggregation job merges old days into
# ranges), plus channels, users and files, all behind the optional ElasticsearchSettings.IndexPrefix.
_POSTS_INDEX = re.compile(r"^(?P<prefix>.*?)posts_\d{4}_\d{2}_\d{2}(?:_\d{4}_\d{2}_\d{2})?$")
_OTHER_INDEXES = ("channels", "users", "files")


@dataclass(frozen=True)
class SearchPlugin:
    node: str  # the node the plugin is installed on (`name` in _cat/plugins)
    component: str
    version: str | None


@dataclass(frozen=True)
class SearchIndex:
    name: str
    kind: str  # posts | channels | users | files
    health: str | None  # green | yellow | red
    status: str | None  # open | close
    docs_count: int | None  # unknown while the index is red
    size_bytes: int | None  # all copies (primaries and replicas)
    primaries: int | None
    replicas: int | None


@dataclass(frozen=True)
class NodeHeap:
    node: str
    heap_used_percent: int | None
    heap_max_bytes: int | None


@dataclass(frozen=True)
class SearchEngineFacts:
    url: str
    distribution: str | None  # elasticsearch | opensearch
    version: str | None
    lucene_version: str | None
    cluster_name: str | None
    health_status: str | None  # green | yellow | red
    nodes: int | None
    data_nodes: int | None
    unassigned_shards: int | None
    active_shards_percent: float | None
    plugins: tuple[SearchPlugin, ...]
    has_analysis_icu: bool | None  # None when the plugin list could not be read
    indexes: tuple[SearchIndex, ...]  # Mattermost's only; other applications' indexes are left out
    total_docs: int | None  # over the indexes whose counts are known (a red index's are not)
    total_size_bytes: int | None
    heap: tuple[NodeHeap, ...] = ()
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def major_version(self) -> int | None:
        head = (self.version or "").split(".", 1)[0]
        return int(head) if head.isdigit() else None

    @property
    def posts_indexes(self) -> tuple[SearchIndex, ...]:
        return tuple(i for i in self.indexes if i.kind == "posts")


def as_int(value: Any) -> int | None:
    """The _cat APIs print every number as a string, and null for what a red index cannot tell."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Identity:
    distribution: str
    version: str | None
    lucene_version: str | None
    cluster_name: str | None


def parse_identity(root: Any, elastic_product_header: str | None) -> Identity | None:
    """What GET / says about the engine; None when the answer is not from Elasticsearch or OpenSearch."""
    if not isinstance(root, dict) or not isinstance(root.get("version"), dict):
        return None
    version = root["version"]
    if version.get("distribution") == "opensearch":
        distribution = "opensearch"
    elif elastic_product_header == "Elasticsearch" or root.get("tagline") == ELASTICSEARCH_TAGLINE:
        distribution = "elasticsearch"
    else:
        return None
    return Identity(distribution, _text(version.get("number")), _text(version.get("lucene_version")),
                    _text(root.get("cluster_name")))


def parse_plugins(rows: Any) -> tuple[SearchPlugin, ...]:
    if not isinstance(rows, list):
        raise ValueError("expected a list of plugins")
    return tuple(SearchPlugin(str(row["name"]), str(row["component"]), _text(row.get("version"))) for row in rows)


def mattermost_indexes(rows: Any) -> tuple[SearchIndex, ...]:
    """Mattermost's indexes among all of the cluster's, sorted by name. The index prefix is learnt from the
    posts indexes, so another application's `users` index in a shared cluster is not counted."""
    if not isinstance(rows, list):
        raise ValueError("expected a list of indexes")
    by_name = {str(row["index"]): row for row in rows}
    prefixes = {m["prefix"] for name in by_name if (m := _POSTS_INDEX.match(name))} or {""}
    kinds = {name: "posts" for name in by_name if (m := _POSTS_INDEX.match(name)) and m["prefix"] in prefixes}
    kinds.update({prefix + kind: kind for prefix in prefixes for kind in _OTHER_INDEXES if prefix + kind in by_name})
    return tuple(_index(by_name[name], kinds[name]) for name in sorted(kinds))


def _index(row: dict[str, Any], kind: str) -> SearchIndex:
    return SearchIndex(
        name=str(row["index"]), kind=kind, health=_text(row.get("health")), status=_text(row.get("status")),
        docs_count=as_int(row.get("docs.count")), size_bytes=as_int(row.get("store.size")),
        primaries=as_int(row.get("pri")), replicas=as_int(row.get("rep")),
    )


def parse_heap(body: Any) -> tuple[NodeHeap, ...]:
    nodes = body.get("nodes") if isinstance(body, dict) else None
    if not isinstance(nodes, dict):
        raise ValueError("expected a nodes object")
    heaps = []
    for node_id, node in nodes.items():
        mem = ((node.get("jvm") or {}).get("mem") or {}) if isinstance(node, dict) else {}
        heaps.append(NodeHeap(str(node.get("name") or node_id), as_int(mem.get("heap_used_percent")),
                              as_int(mem.get("heap_max_in_bytes"))))
    return tuple(sorted(heaps, key=lambda h: h.node))


def known_total(values: list[int | None]) -> int:
    """The sum over the parts that are known: a red index's documents and size are not."""
    return sum(v for v in values if v is not None)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)

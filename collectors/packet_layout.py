"""Which layout a support packet has, and its facts read the way that layout writes them.

Every layout Mattermost has shipped is detected from the zip itself:
- legacy (5.32 to 9.10): one `support_packet.yaml` for the whole deployment;
- v9.11 to v11: `metadata.yaml`, `stats.yaml`, `jobs.yaml`, `plugins.json` at the top, and per node
  `diagnostics.yaml`, `sanitized_config.json`, profiles and logs, in a folder named after the host when clustered;
- v12: the same files, with the newer diagnostics fields (file descriptors, leader, pool statistics, probes).

As upstream's reader (`server/platform/shared/healthcheck/packet/reader.go`) does, a folder is a node when it holds
both `diagnostics.yaml` and `sanitized_config.json` (plugins write `<plugin id>/diagnostics.yaml` too), and the
cluster-wide configuration and licence are the leader's: the node that says `cluster.is_leader`, else the first
node by host name. A zip with none of these files is not a support packet and raises PacketError.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from collectors import packet_archive, packet_members
from collectors import support_packet_models as models
from collectors.packet_archive import ZIP_KEY, Archive, PacketError

MAX_NODES = 128  # Mattermost clusters run a handful of nodes; more folders than this are not read
GOROUTINE_DUMP = "goroutines"
GOROUTINE_HEADER = b"goroutine "
_READ_CHUNK = 1024 * 1024

# The members every packet of a layout has; a missing one is reported with what it would have told.
_CURRENT_MEMBERS = {
    "metadata.yaml": "when and for which server the packet was made",
    "stats.yaml": "user, post, channel and team counts",
    "jobs.yaml": "the recent runs of LDAP sync, data retention, export and indexing jobs",
    "plugins.json": "which plugins are installed and enabled",
}
_LEGACY_MEMBERS = {
    "support_packet.yaml": "server, database, usage and job facts",
    "plugins.json": "which plugins are installed and enabled",
    "sanitized_config.json": "the server configuration",
}
_PACKET_MARKERS = ("support_packet.yaml", "metadata.yaml", "diagnostics.yaml")
# Members we know and deliberately do not analyse; listed in the report so nothing is dropped silently.
_NOT_ANALYSED = {"permissions.yaml": "roles and schemes", "database_schema.yaml": "the database schema",
                 "cpu.prof": "a CPU profile (open with go tool pprof)", "heap.prof": "a heap profile"}
_METADATA_FIELDS = {k: None for k in ("version", "type", "generated_at", "server_version", "server_id", "license_id",
                                      "customer_id", "extras")}
_STATS_FIELDS = {k: None for k in ("registered_users", "active_users", "daily_active_users", "monthly_active_users",
                                   "deactivated_users", "guests", "single_channel_guests", "bot_accounts", "posts",
                                   "channels", "teams", "slash_commands", "incoming_webhooks", "outgoing_webhooks")}
_PLUGIN_LISTS = {"enabled", "disabled", "active", "inactive"}  # current packets, and the API's listing before
_V12_MARKERS = (("notifications",), ("oauth_providers",), ("server", "open_file_descriptors"),
                ("cluster", "is_leader"), ("database", "master_connections_in_use"))


def parse_packet(source: Path | bytes) -> models.PacketFacts:
    """Read a Mattermost support packet (a zip file's path or its bytes), in any layout Mattermost has shipped."""
    return read_packet(source, source.name if isinstance(source, Path) else "The packet")


def read_packet(source: Path | bytes, label: str) -> models.PacketFacts:
    archive, cut_off = packet_archive.open_archive(source, label)
    unreadable: dict[str, str] = {ZIP_KEY: cut_off} if cut_off else {}
    try:
        if not _is_packet(archive):
            raise PacketError(_not_a_packet(label, archive.names))
        if "support_packet.yaml" in archive:
            facts = _legacy_packet(archive, unreadable)
        else:
            facts = _current_packet(archive, unreadable)
        logs = tuple(log for name in archive.names if name.endswith(".log")
                     if (log := packet_archive.scan_log(archive, name, unreadable)) is not None)
        warnings = packet_archive.read_warnings(archive, unreadable)
    finally:
        archive.close()
    return dataclasses.replace(facts, logs=logs, warnings=warnings, members=tuple(archive.names),
                               unreadable=unreadable, uninterpreted_members=_uninterpreted_members(facts, archive))


def _is_packet(archive: Archive) -> bool:
    return any(name.rpartition("/")[2] in _PACKET_MARKERS and name.count("/") <= 1 for name in archive.names)


def _not_a_packet(label: str, names: list[str]) -> str:
    sample = ", ".join(names[:5]) + (f" and {len(names) - 5:,} more" if len(names) > 5 else "")
    return (f"{label} is a zip but not a Mattermost support packet: it has none of support_packet.yaml, "
            f"metadata.yaml or diagnostics.yaml ({'it holds ' + sample if names else 'it is empty'}). Download the "
            "packet in System Console > Commercial Support, or with mmctl system supportpacket.")


# ------------------------------------------------------------------------------------------------ current

@dataclasses.dataclass
class _Node:
    facts: models.NodeFacts
    config: dict[str, Any] | None


def _current_packet(archive: Archive, unreadable: dict[str, str]) -> models.PacketFacts:
    _note_missing(archive, _CURRENT_MEMBERS, unreadable)
    uninterpreted: dict[str, tuple[str, ...]] = {}
    metadata = _yaml(archive, "metadata.yaml", unreadable, uninterpreted, _METADATA_FIELDS) or {}
    stats_raw = _yaml(archive, "stats.yaml", unreadable, uninterpreted, _STATS_FIELDS)
    jobs_raw = _yaml(archive, "jobs.yaml", unreadable, uninterpreted, None)
    plugins_raw = packet_members.load_json(archive, "plugins.json", unreadable) if "plugins.json" in archive else None
    _note_other_keys(uninterpreted, "jobs.yaml", jobs_raw, lambda key: key.endswith("_jobs"))
    _note_other_keys(uninterpreted, "plugins.json", plugins_raw, _PLUGIN_LISTS.__contains__)

    nodes, plugin_diagnostics, v12 = _read_nodes(archive, unreadable, uninterpreted)
    if not nodes:
        unreadable["diagnostics.yaml"] = ("diagnostics.yaml is not in the packet (neither at the top nor in a "
                                          "folder per node), so server, database and cluster facts are missing.")
    leader, reason = _leader(nodes)
    if leader is not None and leader.config is not None:
        for node in nodes:
            if node is not leader and node.config is not None:
                node.facts = dataclasses.replace(node.facts, config_differs=tuple(
                    differing_settings(leader.config, node.config)))
    leader_facts = leader.facts if leader else models.NodeFacts(name="")
    config = (leader.config if leader else None) or {}
    clustered = any(n.facts.name for n in nodes)
    layout = ("v12" if v12 else "v9.11 to v11") + (f", HA with {len(nodes)} node folders" if clustered else "")
    return models.PacketFacts(
        format="current",
        layout=layout,
        generated_at=models.timestamp(metadata.get("generated_at")),
        server_id=models.text(metadata.get("server_id")),
        server=dataclasses.replace(leader_facts.server, version=leader_facts.server.version
                                   or models.text(metadata.get("server_version"))),
        license=leader_facts.license,
        database=dataclasses.replace(
            leader_facts.database,
            master_connections=_total(n.facts.database.master_connections for n in nodes),
            replica_connections=_total(n.facts.database.replica_connections for n in nodes),
            search_connections=_total(n.facts.database.search_connections for n in nodes)),
        file_store=leader_facts.file_store,
        ldap=leader_facts.ldap,
        elasticsearch=leader_facts.elasticsearch,
        cluster=models.ClusterFacts(id=next((n.facts.cluster_id for n in nodes if n.facts.cluster_id), None),
                                    number_of_nodes=leader_facts.number_of_nodes,
                                    nodes=tuple(n.facts for n in nodes),
                                    leader=leader_facts.server.hostname or leader_facts.name or None,
                                    leader_reason=reason),
        stats=models.parse_stats(stats_raw, _total(n.facts.websocket_connections for n in nodes)),
        jobs=models.parse_job_lists(jobs_raw),
        plugins=_with_plugin_states(models.parse_plugins(plugins_raw), config),
        plugin_diagnostics=plugin_diagnostics,
        sanitized_config=config,
        uninterpreted=uninterpreted,
    )


def _read_nodes(archive: Archive, unreadable: dict[str, str], uninterpreted: dict[str, tuple[str, ...]]
                ) -> tuple[list[_Node], dict[str, dict[str, Any]], bool]:
    nodes: list[_Node] = []
    plugin_diagnostics: dict[str, dict[str, Any]] = {}
    v12 = False
    directories = _directories(archive)
    for directory in directories:
        prefix = f"{directory}/" if directory else ""
        has_config = prefix + "sanitized_config.json" in archive
        if len(nodes) >= MAX_NODES and (has_config or not directory):
            unreadable[ZIP_KEY] = (f"The packet has more than {MAX_NODES} node folders; only the first {MAX_NODES} "
                                   "by host name were read.")
            break
        raw = packet_members.load_yaml(archive, prefix + "diagnostics.yaml", unreadable)
        # Plugins write <plugin id>/diagnostics.yaml too; a node's has a config beside it (or a server block).
        if directory and not has_config and not (raw is not None and isinstance(raw.get("server"), dict)):
            if raw is not None:
                plugin_diagnostics[directory] = raw
            continue
        if raw is not None:
            v12 = v12 or any(_has(raw, path) for path in _V12_MARKERS)
            extra = models.uninterpreted_fields(raw, models.DIAGNOSTICS_FIELDS)
            if extra:
                uninterpreted[prefix + "diagnostics.yaml"] = tuple(extra)
        config = packet_members.load_json(archive, prefix + "sanitized_config.json", unreadable) if has_config else None
        if not has_config:
            unreadable[prefix + "sanitized_config.json"] = (
                f"{prefix}sanitized_config.json is not in the packet, so this node's configuration is unknown.")
        facts = models.parse_diagnostics(raw, directory)
        if config is not None:
            config = packet_archive.mask_url_credentials(config)
            facts = dataclasses.replace(facts, database=_with_config(facts.database, config),
                                        config_hash=config_hash(config))
        goroutines = _count_goroutines(archive, prefix + GOROUTINE_DUMP, unreadable)
        if goroutines is not None:
            facts = dataclasses.replace(facts, server=dataclasses.replace(facts.server, goroutines=goroutines))
        nodes.append(_Node(facts, config))
    return nodes, plugin_diagnostics, v12


def _leader(nodes: list[_Node]) -> tuple[_Node | None, str | None]:
    """The node that reported itself as leader; packets from before nodes said so: the first by host name."""
    if not nodes:
        return None, None
    for node in nodes:
        if node.facts.is_leader:
            return node, "it reported itself as the cluster leader (cluster.is_leader)"
    if len(nodes) == 1:
        return nodes[0], "it is the only node in the packet"
    first = nodes[0]
    return first, ("no node reported itself as leader (packets before v12 do not), so the first node by host "
                   f"name ({first.facts.name}) stands for the cluster")


def config_hash(config: dict[str, Any]) -> str:
    """A hash of a configuration that two nodes share exactly when their settings are equal."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def differing_settings(left: Any, right: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two configurations differ (a setting present in one only counts too)."""
    if isinstance(left, dict) and isinstance(right, dict):
        found: list[str] = []
        for key in sorted(set(left) | set(right), key=str):
            path = f"{prefix}{key}"
            if key not in left or key not in right:
                found.append(path)
            else:
                found.extend(differing_settings(left[key], right[key], path + "."))
        return found
    return [] if left == right else [prefix.rstrip(".") or "(whole configuration)"]


def _with_plugin_states(plugins: tuple[models.PacketPlugin, ...], config: dict[str, Any]
                        ) -> tuple[models.PacketPlugin, ...]:
    states = models.mapping(models.mapping(config.get("PluginSettings")).get("PluginStates"))
    result = []
    for plugin in plugins:
        state = states.get(plugin.id)
        enabled = models.flag(models.mapping(state).get("Enable")) if isinstance(state, dict) else None
        result.append(dataclasses.replace(plugin, enabled_in_config=enabled))
    return tuple(result)


def _count_goroutines(archive: Archive, name: str, unreadable: dict[str, str]) -> int | None:
    """Goroutines in a node's dump (debug=2 text: a "goroutine N [state]:" line starts each one)."""
    if name not in archive:
        return None
    count, tail = 0, b"\n"
    try:
        with archive.stream(name) as (fh, _complete):
            while chunk := fh.read(_READ_CHUNK):
                data = tail + chunk
                count += data.count(b"\n" + GOROUTINE_HEADER)
                tail = data[-len(GOROUTINE_HEADER):]
    except (packet_archive.Unreadable, OSError, EOFError, ValueError) as exc:
        unreadable[name] = f"{name} could not be read ({exc}), so this node's goroutine count is unknown."
        return None
    return count


def _note_other_keys(uninterpreted: dict[str, tuple[str, ...]], name: str, raw: dict[str, Any] | None,
                     known: Callable[[str], bool]) -> None:
    extra = tuple(str(key) for key in (raw or {}) if not known(str(key)))
    if extra:
        uninterpreted[name] = extra


def _has(raw: dict[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = raw
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _yaml(archive: Archive, name: str, unreadable: dict[str, str], uninterpreted: dict[str, tuple[str, ...]],
          schema: dict[str, Any] | None) -> dict[str, Any] | None:
    if name not in archive:
        return None
    raw = packet_members.load_yaml(archive, name, unreadable)
    if raw is not None and schema is not None and (extra := models.uninterpreted_fields(raw, schema)):
        uninterpreted[name] = tuple(extra)
    return raw


def _uninterpreted_members(facts: models.PacketFacts, archive: Archive) -> tuple[str, ...]:
    """Members no reader of ours looks at, each with what it holds when we know."""
    read = {"support_packet.yaml", "metadata.yaml", "stats.yaml", "jobs.yaml", "plugins.json", "warning.txt"}
    node_files = {"diagnostics.yaml", "sanitized_config.json", GOROUTINE_DUMP}
    plugin_dirs = set(facts.plugin_diagnostics)
    left = []
    for name in archive.names:
        directory, _, base = name.rpartition("/")
        if name in read or base in node_files or name.endswith(".log") or directory in plugin_dirs:
            continue
        what = _NOT_ANALYSED.get(base)
        left.append(f"{name} ({what}, not analysed)" if what else name)
    return tuple(left)


# ------------------------------------------------------------------------------------------------- legacy

def _legacy_packet(archive: Archive, unreadable: dict[str, str]) -> models.PacketFacts:
    _note_missing(archive, _LEGACY_MEMBERS, unreadable)
    raw = packet_members.load_yaml(archive, "support_packet.yaml", unreadable)
    config = (packet_members.load_json(archive, "sanitized_config.json", unreadable)
              if "sanitized_config.json" in archive else None)
    plugins_raw = packet_members.load_json(archive, "plugins.json", unreadable) if "plugins.json" in archive else None
    node, license_info, stats, cluster_id = models.parse_legacy(raw)
    config = packet_archive.mask_url_credentials(config) if config is not None else {}
    node = dataclasses.replace(node, database=_with_config(node.database, config),
                               config_hash=config_hash(config) if config else None)
    return models.PacketFacts(
        format="legacy",
        layout="legacy (support_packet.yaml, servers 5.32 to 9.10)",
        generated_at=archive.modified("support_packet.yaml"),
        server=node.server,
        license=license_info,
        database=node.database,
        file_store=node.file_store,
        ldap=node.ldap,
        elasticsearch=node.elasticsearch,
        cluster=models.ClusterFacts(id=cluster_id, nodes=(node,)),
        stats=stats,
        jobs=models.parse_job_lists(raw),
        plugins=_with_plugin_states(models.parse_plugins(plugins_raw), config),
        sanitized_config=config,
    )


# -------------------------------------------------------------------------------------------------- shared

def _note_missing(archive: Archive, expected: dict[str, str], unreadable: dict[str, str]) -> None:
    for name, tells in expected.items():
        if name not in archive:
            unreadable[name] = f"{name} is not in the packet, so {tells} is unknown."


def _directories(archive: Archive) -> list[str]:
    """"" for a standalone packet's diagnostics.yaml, then every top-level folder holding one, by name."""
    found = {directory for directory, _, base in (name.rpartition("/") for name in archive.names)
             if base == "diagnostics.yaml" and "/" not in directory}
    return sorted(found, key=lambda d: (d != "", d))


def _with_config(database: models.DatabaseFacts, config: dict[str, Any]) -> models.DatabaseFacts:
    sql = models.mapping(config.get("SqlSettings"))
    replicas, search = sql.get("DataSourceReplicas"), sql.get("DataSourceSearchReplicas")
    return dataclasses.replace(
        database,
        type=database.type or models.text(sql.get("DriverName")),
        configured_replicas=len(replicas) if isinstance(replicas, list) else None,
        configured_search_replicas=len(search) if isinstance(search, list) else None,
        max_open_conns=models.integer(sql.get("MaxOpenConns")),
    )


def _total(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None

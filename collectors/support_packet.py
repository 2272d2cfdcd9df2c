"""Mattermost's own support packet: download it (GET /api/v4/system/support_packet) and read its facts.

`parse_packet` reads both layouts: the current one (v9.11 and later: metadata.yaml, stats.yaml, jobs.yaml,
plugins.json, per node diagnostics.yaml, sanitized_config.json and logs, in a directory per host when
clustered) and the legacy one (5.32 to 9.10: support_packet.yaml). A packet is evidence from a sick system,
so bad content never raises: a truncated zip, a missing member, malformed YAML or JSON and bytes that are not
UTF-8 each become a sentence in `PacketFacts.unreadable`, and everything else is still read. Only bytes that
are not a zip at all raise PacketError.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import httpx

from collectors import packet_archive
from collectors import support_packet_models as models
from collectors.base import SourceResult, SourceStatus
from collectors.http_errors import describe_transport_error
from collectors.packet_archive import ZIP_KEY, PacketError
from settings import MattermostSettings

__all__ = ["ZIP_KEY", "PacketError", "collect", "download", "parse_packet"]

SOURCE = "support_packet"
SERVICE = "Mattermost"
PACKET_PATH = "/api/v4/system/support_packet"
MAX_PACKET_BYTES = 512 * 1024 * 1024
# The server profiles the CPU of every node for 5 s before it sends the first byte.
MIN_WAIT_S = 15.0
DOWNLOAD_BUDGET = 4  # the whole download may take this many read timeouts

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


# ----------------------------------------------------------------------------------------------- packet

def parse_packet(source: Path | bytes) -> models.PacketFacts:
    """Read a Mattermost support packet (a zip file's path or its bytes), current or legacy layout."""
    return _parse_packet(source, source.name if isinstance(source, Path) else "The packet")


def _parse_packet(source: Path | bytes, label: str) -> models.PacketFacts:
    archive, cut_off = packet_archive.open_archive(source, label)
    unreadable: dict[str, str] = {ZIP_KEY: cut_off} if cut_off else {}
    try:
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
                               unreadable=unreadable)


def _current_packet(archive: packet_archive.Archive, unreadable: dict[str, str]) -> models.PacketFacts:
    _note_missing(archive, _CURRENT_MEMBERS, unreadable)
    metadata = packet_archive.load_yaml(archive, "metadata.yaml", unreadable) if "metadata.yaml" in archive else None
    stats_raw = packet_archive.load_yaml(archive, "stats.yaml", unreadable) if "stats.yaml" in archive else None
    jobs_raw = packet_archive.load_yaml(archive, "jobs.yaml", unreadable) if "jobs.yaml" in archive else None
    plugins_raw = packet_archive.load_json(archive, "plugins.json", unreadable) if "plugins.json" in archive else None

    nodes: list[models.NodeFacts] = []
    configs: list[dict[str, Any]] = []
    licenses: list[models.PacketLicense | None] = []
    cluster_ids: list[str | None] = []
    reported_nodes: list[int | None] = []
    plugin_diagnostics: dict[str, dict[str, Any]] = {}
    for directory in _directories(archive):
        prefix = f"{directory}/" if directory else ""
        raw = packet_archive.load_yaml(archive, prefix + "diagnostics.yaml", unreadable)
        has_config = prefix + "sanitized_config.json" in archive
        # Plugins write <plugin id>/diagnostics.yaml too; a node's has a server block or a config beside it.
        if directory and not has_config and not (raw is not None and isinstance(raw.get("server"), dict)):
            if raw is not None:
                plugin_diagnostics[directory] = raw
            continue
        config = packet_archive.load_json(archive, prefix + "sanitized_config.json", unreadable) if has_config else None
        if not has_config:
            unreadable[prefix + "sanitized_config.json"] = (
                f"{prefix}sanitized_config.json is not in the packet, so this node's configuration is unknown.")
        node = models.parse_diagnostics(raw, directory)
        if config is not None:
            config = packet_archive.mask_url_credentials(config)
            configs.append(config)
            node = dataclasses.replace(node, database=_with_config(node.database, config))
        nodes.append(node)
        raw = raw or {}
        licenses.append(models.parse_license(raw.get("license")))
        cluster = models.mapping(raw.get("cluster"))
        cluster_ids.append(models.text(cluster.get("id")))
        reported_nodes.append(models.integer(cluster.get("number_of_nodes")))
    if not nodes:
        unreadable["diagnostics.yaml"] = ("diagnostics.yaml is not in the packet (neither at the top nor in a "
                                          "directory per node), so server, database and cluster facts are missing.")

    first = nodes[0] if nodes else models.NodeFacts(name="")
    websockets = _total(n.websocket_connections for n in nodes)
    metadata = metadata or {}
    return models.PacketFacts(
        format="current",
        generated_at=models.timestamp(metadata.get("generated_at")),
        server_id=models.text(metadata.get("server_id")),
        server=dataclasses.replace(first.server, version=first.server.version
                                   or models.text(metadata.get("server_version"))),
        license=next((lic for lic in licenses if lic is not None), None),
        database=dataclasses.replace(
            first.database,
            master_connections=_total(n.database.master_connections for n in nodes),
            replica_connections=_total(n.database.replica_connections for n in nodes),
            search_connections=_total(n.database.search_connections for n in nodes)),
        file_store=first.file_store,
        ldap=first.ldap,
        elasticsearch=first.elasticsearch,
        cluster=models.ClusterFacts(id=next((c for c in cluster_ids if c), None),
                                    number_of_nodes=reported_nodes[0] if reported_nodes else None,
                                    nodes=tuple(nodes)),
        stats=models.parse_stats(stats_raw, websockets),
        jobs=models.parse_job_lists(jobs_raw),
        plugins=models.parse_plugins(plugins_raw),
        plugin_diagnostics=plugin_diagnostics,
        sanitized_config=configs[0] if configs else {},
    )


def _legacy_packet(archive: packet_archive.Archive, unreadable: dict[str, str]) -> models.PacketFacts:
    _note_missing(archive, _LEGACY_MEMBERS, unreadable)
    raw = packet_archive.load_yaml(archive, "support_packet.yaml", unreadable)
    config = (packet_archive.load_json(archive, "sanitized_config.json", unreadable)
              if "sanitized_config.json" in archive else None)
    plugins_raw = packet_archive.load_json(archive, "plugins.json", unreadable) if "plugins.json" in archive else None
    node, license_info, stats, cluster_id = models.parse_legacy(raw)
    config = packet_archive.mask_url_credentials(config) if config is not None else {}
    node = dataclasses.replace(node, database=_with_config(node.database, config))
    return models.PacketFacts(
        format="legacy",
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
        plugins=models.parse_plugins(plugins_raw),
        sanitized_config=config,
    )


def _note_missing(archive: packet_archive.Archive, expected: dict[str, str], unreadable: dict[str, str]) -> None:
    for name, tells in expected.items():
        if name not in archive:
            unreadable[name] = f"{name} is not in the packet, so {tells} is unknown."


def _directories(archive: packet_archive.Archive) -> list[str]:
    """"" for a standalone packet's diagnostics.yaml, then every top-level directory holding one."""
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


def _total(values: Any) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


# --------------------------------------------------------------------------------------------- download

class _Failed(Exception):
    """The download ended without a packet; `sentence` says why."""

    def __init__(self, status: SourceStatus, sentence: str) -> None:
        super().__init__(sentence)
        self.status = status
        self.sentence = sentence


def _error_body(response: httpx.Response) -> tuple[str, str]:
    """(error id, message) of Mattermost's AppError body, or what the answer says otherwise."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return "", response.reason_phrase or "no details"
    if not isinstance(body, dict):
        return "", response.reason_phrase or "no details"
    return str(body.get("id") or ""), str(body.get("message") or response.reason_phrase or "no details").rstrip(".")


def _describe_refusal(response: httpx.Response) -> _Failed:
    code = response.status_code
    error_id, message = _error_body(response)
    if code == 401:
        return _Failed(SourceStatus.ERROR, (
            f"Mattermost rejected the token (HTTP 401: {message}): it is wrong, expired or revoked; create a new "
            "personal access token for a system admin and configure it as mattermost.token."))
    if code == 403 and error_id == "api.no_license":
        return _Failed(SourceStatus.ERROR, (
            f"Mattermost makes support packets only on a licensed server (HTTP 403: {message}); "
            "install the license first."))
    if code == 403:
        return _Failed(SourceStatus.FORBIDDEN, (
            f"The support packet needs a system admin token: Mattermost makes support packets only for "
            f"manage_system (HTTP 403: {message}); use a system admin's personal access token, and check that "
            "ExperimentalSettings.RestrictSystemAdmin is off."))
    if code in (404, 405, 501):
        return _Failed(SourceStatus.ERROR, (
            f"This Mattermost version cannot make a support packet (HTTP {code} on {PACKET_PATH}): the endpoint "
            "exists from server 5.32 on; upgrade Mattermost, or check that the URL points at Mattermost itself."))
    if code >= 500:
        return _Failed(SourceStatus.ERROR, (
            f"Mattermost failed to make the support packet (HTTP {code}: {message}); check the Mattermost server "
            "log around this time, or try again without server logs."))
    return _Failed(SourceStatus.ERROR, f"Mattermost refused the support packet (HTTP {code}: {message}).")


async def _download(settings: MattermostSettings, client: httpx.AsyncClient, token: str, target: IO[bytes],
                    wait_s: float) -> None:
    url = f"{settings.url}{PACKET_PATH}"
    headers = {"Authorization": f"Bearer {token}", "X-Requested-With": "XMLHttpRequest"}
    try:
        async with client.stream("GET", url, headers=headers, timeout=httpx.Timeout(wait_s)) as response:
            if response.status_code >= 400:
                await response.aread()
                raise _describe_refusal(response)
            if response.is_redirect:
                raise _Failed(SourceStatus.ERROR, (
                    f"{PACKET_PATH} redirected to {response.headers.get('location', 'another page')} instead of "
                    "sending the packet: a sign-in proxy may sit in front of Mattermost, or the URL is not the "
                    "Mattermost site root."))
            declared = models.integer(response.headers.get("content-length"))
            if declared is not None and declared > MAX_PACKET_BYTES:
                raise _Failed(SourceStatus.ERROR, _too_large())
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_PACKET_BYTES:
                    raise _Failed(SourceStatus.ERROR, _too_large())
                target.write(chunk)
    except httpx.HTTPError as exc:
        raise _Failed(SourceStatus.ERROR, describe_transport_error(exc, SERVICE, settings.url, wait_s)) from exc


def _too_large() -> str:
    return (f"The support packet is larger than {MAX_PACKET_BYTES // 2**20} MB, so the download was stopped: the "
            "server log is probably huge; make the packet without server logs in the System Console "
            "(Commercial Support), or rotate the log.")


def _timed_out(wait_s: float) -> str:
    return (f"The support packet did not finish downloading within {wait_s * DOWNLOAD_BUDGET:g} s: the server may "
            "be overloaded or the packet very large; try again, or make it without server logs.")


async def _fetch(settings: MattermostSettings, client: httpx.AsyncClient, path: Path) -> None:
    """Save the packet to `path`; raises _Failed with the status and sentence when Mattermost will not."""
    token = settings.token.get_secret_value() if settings.token else None
    if not token:
        raise _Failed(SourceStatus.ERROR, (
            "No Mattermost token is configured: the support packet needs a system admin's personal access "
            "token as mattermost.token."))
    wait_s = max(settings.timeout_seconds, MIN_WAIT_S)
    try:
        with path.open("wb") as target:
            async with asyncio.timeout(wait_s * DOWNLOAD_BUDGET):
                await _download(settings, client, token, target, wait_s)
    except TimeoutError:
        raise _Failed(SourceStatus.ERROR, _timed_out(wait_s)) from None


async def download(settings: MattermostSettings, client: httpx.AsyncClient, path: Path) -> str | None:
    """Save Mattermost's own packet to `path`; the sentence saying why not, or None when it worked."""
    try:
        await _fetch(settings, client, path)
    except _Failed as failed:
        return failed.sentence
    return None


async def collect(settings: MattermostSettings, client: httpx.AsyncClient) -> SourceResult:
    started = time.perf_counter()

    def result(status: SourceStatus, data: Any = None, error: str | None = None) -> SourceResult:
        return SourceResult(SOURCE, status, data, error, (time.perf_counter() - started) * 1000)

    fd, name = tempfile.mkstemp(prefix="mm_support_packet_", suffix=".zip")
    os.close(fd)
    path = Path(name)
    try:
        await _fetch(settings, client, path)
        facts = await asyncio.to_thread(_parse_packet, path, f"Mattermost's answer to {PACKET_PATH}")
    except _Failed as failed:
        return result(failed.status, error=failed.sentence)
    except PacketError as exc:
        return result(SourceStatus.ERROR, error=f"{exc} Check that the URL points at Mattermost itself.")
    finally:
        path.unlink(missing_ok=True)
    if facts.unreadable:
        first = next(iter(facts.unreadable.values()))
        more = len(facts.unreadable) - 1
        return result(SourceStatus.DEGRADED, facts, first + (f" (and {more} more)" if more else ""))
    return result(SourceStatus.OK, facts)

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
import contextlib
import dataclasses
import io
import json
import os
import re
import struct
import tempfile
import time
import zipfile
import zlib
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
import yaml

from collectors import support_packet_models as models
from collectors.base import SourceResult, SourceStatus
from collectors.http_errors import describe_transport_error
from settings import MattermostSettings

SOURCE = "support_packet"
SERVICE = "Mattermost"
PACKET_PATH = "/api/v4/system/support_packet"
MAX_PACKET_BYTES = 512 * 1024 * 1024
MAX_MEMBER_BYTES = 32 * 1024 * 1024  # YAML, JSON and text members; logs are streamed instead
# The server profiles the CPU of every node for 5 s before it sends the first byte.
MIN_WAIT_S = 15.0
DOWNLOAD_BUDGET = 4  # the whole download may take this many read timeouts
LOG_EXCERPT_LINES = 10
MAX_EXCERPT_LINE = 2000
MAX_LOG_LINE_READ = 64 * 1024
ZIP_KEY = "(zip)"  # the unreadable key for the archive itself

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_EMPTY_ZIP_SIGNATURE = b"PK\x05\x06"
_ENCRYPTED, _DATA_DESCRIPTOR, _UTF8_NAME = 0x1, 0x8, 0x800
_JSON_LEVEL = re.compile(rb'"level"\s*:\s*"([A-Za-z]+)"')
_TEXT_LEVEL = re.compile(rb"^\s*\[?(debug|info|warn|warning|error|fatal|critical|panic|dpanic)\b|\blevel=(\w+)",
                         re.IGNORECASE)
_ERROR_LEVELS = {b"error", b"fatal", b"critical", b"panic", b"dpanic"}
_WARN_LEVELS = {b"warn", b"warning"}
# Credentials inside URLs (ElasticsearchSettings.ConnectionURL, logging targets): Mattermost leaves them in.
_URL_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s/]+@")
_MASKED_CREDENTIALS = r"\1****:****@"

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


class PacketError(Exception):
    """The bytes are not a zip file, so there is no packet to read."""


# ---------------------------------------------------------------------------------------------- the zip

class _Unreadable(Exception):
    """One member could not be read; the message is the sentence for PacketFacts.unreadable."""


class _Archive:
    """The members of a zip. An intact zip is read through its central directory; a zip cut short (an
    interrupted download) has lost that directory, so its members are recovered from their local headers."""

    def __init__(self, zf: zipfile.ZipFile | None, recovered: dict[str, tuple[bytes, bool]] | None = None):
        self._zf = zf
        self._recovered = recovered or {}
        if zf is not None:
            self.names = [i.filename for i in zf.infolist() if not i.is_dir()]
        else:
            self.names = [n for n in self._recovered if not n.endswith("/")]

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def close(self) -> None:
        if self._zf is not None:
            self._zf.close()

    def read(self, name: str) -> bytes:
        if self._zf is None:
            data, complete = self._recovered[name]
            if not complete:
                raise _Unreadable(f"{name} is cut off: the zip ends inside it")
            if len(data) > MAX_MEMBER_BYTES:
                raise _Unreadable(f"{name} is larger than {MAX_MEMBER_BYTES // 2**20} MB, so it was not read")
            return data
        info = self._zf.getinfo(name)
        if info.flag_bits & _ENCRYPTED:
            raise _Unreadable(f"{name} is encrypted")
        if info.file_size > MAX_MEMBER_BYTES:
            raise _Unreadable(f"{name} is larger than {MAX_MEMBER_BYTES // 2**20} MB, so it was not read")
        try:
            with self._zf.open(info) as fh:
                data = fh.read(MAX_MEMBER_BYTES + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
            raise _Unreadable(f"{name} is damaged in the zip ({exc})") from None
        if len(data) > MAX_MEMBER_BYTES:
            raise _Unreadable(f"{name} is larger than {MAX_MEMBER_BYTES // 2**20} MB, so it was not read")
        return data

    @contextlib.contextmanager
    def stream(self, name: str) -> Iterator[tuple[IO[bytes], bool]]:
        """A member as a byte stream, and whether it is whole."""
        if self._zf is None:
            data, complete = self._recovered[name]
            yield io.BytesIO(data), complete
            return
        info = self._zf.getinfo(name)
        if info.flag_bits & _ENCRYPTED:
            raise _Unreadable(f"{name} is encrypted")
        try:
            fh = self._zf.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
            raise _Unreadable(f"{name} is damaged in the zip ({exc})") from None
        with fh:
            yield fh, True

    def modified(self, name: str) -> datetime | None:
        if self._zf is None or name not in self.names:
            return None
        stamp = self._zf.getinfo(name).date_time
        if stamp[0] <= 1980:  # writers that set no time leave the DOS epoch
            return None
        # Zip times carry no zone; Mattermost servers run in UTC in the usual images.
        return datetime(*stamp, tzinfo=UTC)


def _open_archive(source: Path | bytes, label: str) -> tuple[_Archive, str | None]:
    """The archive, and a sentence when it had to be recovered from a cut-off zip."""
    try:
        if isinstance(source, bytes):
            head = source[:4]
        else:
            with open(source, "rb") as fh:
                head = fh.read(4)
    except OSError as exc:
        raise PacketError(f"Could not open {source}: {exc.strerror or exc}.") from exc
    if head not in (_LOCAL_SIGNATURE, _EMPTY_ZIP_SIGNATURE):
        raise PacketError(_not_a_zip(label, head))
    try:
        return _Archive(zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)), None
    except (zipfile.BadZipFile, ValueError, struct.error, EOFError, OSError):
        pass  # no usable directory at the end: recover what the local headers still describe
    recovered = _recover_members(source if isinstance(source, bytes) else source.read_bytes())
    if not recovered:
        raise PacketError(f"{label} starts like a zip but no member could be read from it: the file is damaged.")
    whole = sum(1 for _, complete in recovered.values() if complete)
    return _Archive(None, recovered), (
        f"The zip is cut off (its directory at the end is missing, as after an interrupted download): "
        f"{whole} of the {len(recovered)} members found were read whole, and whatever came after is lost; "
        "download the packet again.")


def _not_a_zip(label: str, head: bytes) -> str:
    if not head:
        return f"{label} is empty, not a zip file."
    if head.lstrip()[:1] in (b"<", b"{", b"["):
        return (f"{label} is not a zip file but text (it starts with {head!r}): an error page or a proxy answered "
                "instead of Mattermost.")
    return f"{label} is not a zip file (it starts with {head!r})."


def _recover_members(data: bytes) -> dict[str, tuple[bytes, bool]]:
    """Walk the local file headers from the start: name -> (content, whether it was read whole)."""
    members: dict[str, tuple[bytes, bool]] = {}
    pos = 0
    while data.startswith(_LOCAL_SIGNATURE, pos) and pos + _LOCAL_HEADER.size <= len(data):
        _, _, flags, method, _, _, _, size, _, name_len, extra_len = _LOCAL_HEADER.unpack_from(data, pos)
        name_at = pos + _LOCAL_HEADER.size
        name = data[name_at:name_at + name_len].decode("utf-8" if flags & _UTF8_NAME else "cp437", "replace")
        start = name_at + name_len + extra_len
        # Streaming writers (Go's archive/zip among them) put the sizes after the data, not in the header.
        sized = not flags & _DATA_DESCRIPTOR and size != 0xFFFFFFFF
        if start > len(data) or flags & _ENCRYPTED or method not in (0, 8) or (method == 0 and not sized):
            members[name] = (b"", False)
            if not sized or start > len(data):
                break
            pos = start + size
            continue
        body = data[start:start + size] if sized else data[start:]
        if method == 0:
            members[name] = (body, len(body) == size)
            pos = start + size
            continue
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            content = inflater.decompress(body, MAX_MEMBER_BYTES * 8)
        except zlib.error:
            members[name] = (b"", False)
            break
        members[name] = (content, inflater.eof)
        if not inflater.eof:
            break
        used = len(body) - len(inflater.unused_data)
        if sized:
            pos = start + size
        else:
            found = data.find(_LOCAL_SIGNATURE, start + used, start + used + 28)
            if found < 0:
                break
            pos = found
    return members


# ------------------------------------------------------------------------------------------- member text

def _decode(name: str, data: bytes, unreadable: dict[str, str]) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        unreadable.setdefault(name, f"{name} has bytes that are not UTF-8 (the first at byte {exc.start}); "
                                    "they were read as \N{REPLACEMENT CHARACTER}, so some values may be garbled.")
        return data.decode("utf-8-sig", "replace")


def _load_yaml(archive: _Archive, name: str, unreadable: dict[str, str]) -> dict[str, Any] | None:
    raw = _read(archive, name, unreadable)
    if raw is None:
        return None
    try:
        # The base loader keeps every scalar a string: "15.10" stays a version instead of becoming 15.1.
        value = yaml.load(_decode(name, raw, unreadable), Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        unreadable[name] = f"{name} is not valid YAML ({problem}{where}), so its facts are missing."
        return None
    if not isinstance(value, dict):
        unreadable[name] = f"{name} does not hold a YAML mapping, so its facts are missing."
        return None
    return value


def _load_json(archive: _Archive, name: str, unreadable: dict[str, str]) -> dict[str, Any] | None:
    raw = _read(archive, name, unreadable)
    if raw is None:
        return None
    try:
        value = json.loads(_decode(name, raw, unreadable))
    except ValueError as exc:
        where = f" at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        unreadable[name] = f"{name} is not valid JSON ({reason}{where}), so its facts are missing."
        return None
    if not isinstance(value, dict):
        unreadable[name] = f"{name} does not hold a JSON object, so its facts are missing."
        return None
    return value


def _read(archive: _Archive, name: str, unreadable: dict[str, str]) -> bytes | None:
    try:
        return archive.read(name)
    except _Unreadable as exc:
        unreadable[name] = f"{exc}, so its facts are missing."
        return None


def mask_url_credentials(value: Any) -> Any:
    """Replace user:password@ in every URL inside `value` (strings, lists and mappings)."""
    if isinstance(value, str):
        return _URL_CREDENTIALS.sub(_MASKED_CREDENTIALS, value)
    if isinstance(value, dict):
        return {k: mask_url_credentials(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_url_credentials(v) for v in value]
    return value


# ------------------------------------------------------------------------------------------------- logs

def _scan_log(archive: _Archive, name: str, unreadable: dict[str, str]) -> models.LogExcerpt | None:
    """Counts and the first and last lines of a log, read as a stream: logs are the one member that can be
    hundreds of megabytes."""
    head: list[str] = []
    tail: deque[str] = deque(maxlen=LOG_EXCERPT_LINES)
    lines = errors = warnings = invalid = 0
    try:
        with archive.stream(name) as (fh, complete):
            continuation = False
            try:
                while raw := fh.readline(MAX_LOG_LINE_READ):
                    # A line longer than the read limit arrives in pieces; only its first piece counts.
                    first_piece, continuation = not continuation, not raw.endswith(b"\n")
                    if not first_piece or not raw.strip():
                        continue
                    lines += 1
                    level = _log_level(raw)
                    errors += level in _ERROR_LEVELS
                    warnings += level in _WARN_LEVELS
                    try:
                        line = raw.decode("utf-8")
                    except UnicodeDecodeError:
                        invalid += 1
                        line = raw.decode("utf-8", "replace")
                    line = mask_url_credentials(line.rstrip("\r\n"))[:MAX_EXCERPT_LINE]
                    if len(head) < LOG_EXCERPT_LINES:
                        head.append(line)
                    else:
                        tail.append(line)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                complete = False
                unreadable[name] = f"{name} is damaged after line {lines} ({exc}); the lines before it were read."
    except _Unreadable as exc:
        unreadable[name] = f"{exc}, so it was not read."
        return None
    if not complete:
        unreadable.setdefault(name, f"{name} is cut off after line {lines}; the lines before it were read.")
    return models.LogExcerpt(path=name, line_count=lines, error_lines=errors, warn_lines=warnings,
                             first_lines=tuple(head), last_lines=tuple(tail), invalid_utf8_lines=invalid,
                             complete=complete)


def _log_level(line: bytes) -> bytes | None:
    """Mattermost's JSON lines carry "level"; plain-text targets start with the level or write level=."""
    match = _JSON_LEVEL.search(line) if line.lstrip().startswith(b"{") else _TEXT_LEVEL.search(line)
    if match is None:
        return None
    return next(group for group in match.groups() if group).lower()


def _warnings(archive: _Archive, unreadable: dict[str, str]) -> tuple[str, ...]:
    """warning.txt is go-multierror text: a count line, then one "* problem" line per failed generator."""
    raw = _read(archive, "warning.txt", unreadable) if "warning.txt" in archive else None
    if raw is None:
        return ()
    lines = [ln.strip() for ln in _decode("warning.txt", raw, unreadable).splitlines() if ln.strip()]
    bullets = [ln[2:].strip() for ln in lines if ln.startswith("* ")]
    return tuple(bullets or lines)


# ----------------------------------------------------------------------------------------------- packet

def parse_packet(source: Path | bytes) -> models.PacketFacts:
    """Read a Mattermost support packet (a zip file's path or its bytes), current or legacy layout."""
    return _parse_packet(source, source.name if isinstance(source, Path) else "The packet")


def _parse_packet(source: Path | bytes, label: str) -> models.PacketFacts:
    archive, cut_off = _open_archive(source, label)
    unreadable: dict[str, str] = {ZIP_KEY: cut_off} if cut_off else {}
    try:
        if "support_packet.yaml" in archive:
            facts = _legacy_packet(archive, unreadable)
        else:
            facts = _current_packet(archive, unreadable)
        logs = tuple(log for name in archive.names if name.endswith(".log")
                     if (log := _scan_log(archive, name, unreadable)) is not None)
        warnings = _warnings(archive, unreadable)
    finally:
        archive.close()
    return dataclasses.replace(facts, logs=logs, warnings=warnings, members=tuple(archive.names),
                               unreadable=unreadable)


def _current_packet(archive: _Archive, unreadable: dict[str, str]) -> models.PacketFacts:
    _note_missing(archive, _CURRENT_MEMBERS, unreadable)
    metadata = _load_yaml(archive, "metadata.yaml", unreadable) if "metadata.yaml" in archive else None
    stats_raw = _load_yaml(archive, "stats.yaml", unreadable) if "stats.yaml" in archive else None
    jobs_raw = _load_yaml(archive, "jobs.yaml", unreadable) if "jobs.yaml" in archive else None
    plugins_raw = _load_json(archive, "plugins.json", unreadable) if "plugins.json" in archive else None

    nodes: list[models.NodeFacts] = []
    configs: list[dict[str, Any]] = []
    licenses: list[models.PacketLicense | None] = []
    cluster_ids: list[str | None] = []
    reported_nodes: list[int | None] = []
    plugin_diagnostics: dict[str, dict[str, Any]] = {}
    for directory in _directories(archive):
        prefix = f"{directory}/" if directory else ""
        raw = _load_yaml(archive, prefix + "diagnostics.yaml", unreadable)
        has_config = prefix + "sanitized_config.json" in archive
        # Plugins write <plugin id>/diagnostics.yaml too; a node's has a server block or a config beside it.
        if directory and not has_config and not (raw is not None and isinstance(raw.get("server"), dict)):
            if raw is not None:
                plugin_diagnostics[directory] = raw
            continue
        config = _load_json(archive, prefix + "sanitized_config.json", unreadable) if has_config else None
        if not has_config:
            unreadable[prefix + "sanitized_config.json"] = (
                f"{prefix}sanitized_config.json is not in the packet, so this node's configuration is unknown.")
        node = models.parse_diagnostics(raw, directory)
        if config is not None:
            config = mask_url_credentials(config)
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


def _legacy_packet(archive: _Archive, unreadable: dict[str, str]) -> models.PacketFacts:
    _note_missing(archive, _LEGACY_MEMBERS, unreadable)
    raw = _load_yaml(archive, "support_packet.yaml", unreadable)
    config = _load_json(archive, "sanitized_config.json", unreadable) if "sanitized_config.json" in archive else None
    plugins_raw = _load_json(archive, "plugins.json", unreadable) if "plugins.json" in archive else None
    node, license_info, stats, cluster_id = models.parse_legacy(raw)
    config = mask_url_credentials(config) if config is not None else {}
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


def _note_missing(archive: _Archive, expected: dict[str, str], unreadable: dict[str, str]) -> None:
    for name, tells in expected.items():
        if name not in archive:
            unreadable[name] = f"{name} is not in the packet, so {tells} is unknown."


def _directories(archive: _Archive) -> list[str]:
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

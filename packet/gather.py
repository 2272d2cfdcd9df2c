"""Everything a packet is made from, gathered the same way by the page and the command line."""

from __future__ import annotations

import asyncio
import json
import os
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from collectors import collect_all, support_packet
from collectors.base import Snapshot
from collectors.runner import tls_for
from packet import checks
from packet.builder import PacketRequest
from packet.checks import CheckResult
from packet.form import PacketForm
from packet.ldap_trace import ldap_trace
from packet.secrets import known_secrets
from settings import EnvironmentSettings, Settings


@dataclass
class Gathered:
    snapshot: Snapshot | None = None
    server_packet: Path | None = None
    config: dict[str, Any] | None = None
    raw_config: dict[str, Any] | None = None  # only from a config.json on disk: its secrets feed the leak gate
    config_source: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ldap_trace: bytes | None = None
    plugin_manifests: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> manifest (settings_schema)

    def request(self, settings: Settings, env: EnvironmentSettings, *, generated_by: str,
                generated_by_email: str | None, form: PacketForm, log_files: Iterable[Path],
                **options: Any) -> PacketRequest:
        """What to build from what was gathered; the leak gate learns every secret the dashboard knows."""
        options.setdefault("plugin_manifests", self.plugin_manifests)
        return PacketRequest(
            environment=env.name, generated_by=generated_by, generated_by_email=generated_by_email, form=form,
            snapshot=self.snapshot, config=self.config, config_source=self.config_source,
            server_packet=self.server_packet, log_files=tuple(log_files), checks=tuple(self.checks),
            ldap_trace=self.ldap_trace,
            secrets=known_secrets(settings, environ=os.environ, raw_config=self.raw_config,
                                  plugin_manifests=options.get("plugin_manifests") or {}), **options)


def plugin_manifests(server_packet: Path) -> dict[str, dict[str, Any]]:
    """Plugin id -> manifest from the plugins.json of Mattermost's own packet: their settings_schema says which
    plugin settings are secret. Nothing when the packet has none or it cannot be read."""
    manifests: dict[str, dict[str, Any]] = {}
    try:
        with zipfile.ZipFile(server_packet) as archive:
            for info in archive.infolist():
                if info.filename.rsplit("/", 1)[-1] != "plugins.json" or info.file_size > 16 * 1024**2:
                    continue
                listing = json.loads(archive.read(info))
                for group in (listing.values() if isinstance(listing, dict) else ()):
                    for manifest in group if isinstance(group, list) else ():
                        if isinstance(manifest, dict) and isinstance(manifest.get("id"), str):
                            manifests.setdefault(manifest["id"], manifest)
    except (OSError, ValueError, zipfile.BadZipFile, RecursionError):
        return manifests
    return manifests


MAX_CONFIG_DEPTH = 64  # Mattermost's config is a few levels deep; far deeper is not a config (and hits recursion)


def read_config_file(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """config.json from disk, or the one sentence saying why it cannot be used."""
    if path.is_dir():
        return None, f"{path} is a directory, not Mattermost's config.json."
    if path.exists() and not path.is_file():  # a FIFO or a device would block or never end
        return None, f"{path} is not a regular file, so it cannot be Mattermost's config.json."
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, f"The config file {path} does not exist."
    except OSError as exc:
        return None, f"{path} could not be read ({exc.strerror or exc})."
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, (f"{path} is not UTF-8 text (bad byte at offset {exc.start}); Mattermost writes config.json "
                      "as UTF-8.")
    try:
        config = json.loads(text)
    except RecursionError:
        return None, f"{path} is nested too deeply to be a Mattermost configuration."
    except ValueError as exc:
        detail = f"{exc.msg} at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else exc
        return None, f"{path} is not JSON ({detail})."
    if not isinstance(config, dict):
        return None, f"{path} is JSON but not a Mattermost configuration (not an object)."
    if _depth_over(config, MAX_CONFIG_DEPTH):
        return None, (f"{path} is nested more than {MAX_CONFIG_DEPTH} levels deep, so it is not a Mattermost "
                      "configuration.")
    return config, None


def _depth_over(value: Any, limit: int) -> bool:
    """Whether `value` nests containers more than `limit` deep (without recursing, so any depth is safe)."""
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        pending += [(child, depth + 1) for child in children if isinstance(child, dict | list)]
    return False


async def gather(env: EnvironmentSettings, *, deadline_s: float, scratch: Path, config_file: Path | None = None,
                 progress: Callable[[str], None] = lambda _m: None, test_site_and_smtp: bool = True,
                 trace_ldap: bool = False) -> Gathered:
    """Collect the sources, Mattermost's own packet and the connection tests; errors become notes and tests.

    `test_site_and_smtp` reaches the Site URL and SMTP server named in the configuration: off where those
    names lead outside the machine (the simulator's configuration names example domains)."""
    gathered = Gathered()
    if config_file is not None:
        gathered.raw_config, problem = read_config_file(config_file)
        gathered.config, gathered.config_source = gathered.raw_config, str(config_file)
        if problem:
            gathered.checks.append(CheckResult("config.json", False, problem + " The packet is built without it."))
    if env.mattermost is not None:
        progress(f"Collecting from every configured source of {env.label}")
        gathered.snapshot = await collect_all(env, deadline_s=deadline_s)
        gathered.checks += checks.from_snapshot(gathered.snapshot)
        facts = gathered.snapshot.data("mattermost")
        if gathered.config is None and facts is not None and facts.config is not None:
            gathered.config, gathered.config_source = facts.config, "GET /api/v4/config (sanitized by Mattermost)"
        progress("Asking Mattermost for its own support packet")
        async with httpx.AsyncClient(verify=tls_for(env.mattermost)) as client:
            target = scratch / "server_packet.zip"
            failure = await support_packet.download(env.mattermost, client, target)
        if failure:
            gathered.notes.append(f"Mattermost's own packet: {failure}")
        else:
            gathered.server_packet = target
            gathered.plugin_manifests = plugin_manifests(target)
    if trace_ldap and env.ldap is not None:
        progress("Tracing one LDAP connection")
        gathered.ldap_trace = await asyncio.to_thread(ldap_trace, env.ldap)
    if gathered.config is not None and test_site_and_smtp:
        progress("Testing the Site URL and the SMTP server")
        site = (gathered.config.get("ServiceSettings") or {}).get("SiteURL")
        if site:
            gathered.checks.append(await checks.site_url(site))
        smtp = await checks.smtp_from_config(gathered.config)
        if smtp is not None:
            gathered.checks.append(smtp)
    return gathered

"""Build a support packet: a zip streamed to disk, every member redacted, and proven free of known secrets.

Each member goes through three stages in one stream: every secret the dashboard knows is masked by value in
every spelling the leak gate checks (packet.value_mask), the pattern rules mask the unknown ones in blocks of
whole lines (packet.redact), and the leak gate searches the bytes as they go into the zip (a block the masker
searched and nothing changed is not searched twice). Compression runs on a second thread.

The zip is written inside a temporary folder next to the target and only renamed into place when every member
is written and the leak gate found nothing; a failure or a leak leaves no file that could pass for a packet.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from packet import logs, value_mask
from packet.form import PacketForm
from packet.leak_gate import Leak, LeakGate
from packet.pseudonymise import Pseudonymiser
from packet.readme import render_readme
from packet.redact import Redaction, Redactor
from packet.value_mask import ValueMasker

if TYPE_CHECKING:  # the collectors and health packages (and the pandas they load) only when a snapshot is packed
    from collectors.base import Snapshot
    from packet.checks import CheckResult

DEFAULT_MAX_LOG_BYTES = 50 * 1024**2
REVIEW_LIMIT = 500  # redaction findings kept for the review step; counts cover all of them
CHUNK = 1 << 20
Progress = Callable[[str], None]


@dataclass(frozen=True)
class PacketRequest:
    environment: str
    generated_by: str
    generated_by_email: str | None
    form: PacketForm
    snapshot: Snapshot | None = None
    config: dict[str, Any] | None = None  # config.json from disk, or the API's sanitized config
    config_source: str = ""
    server_packet: Path | None = None  # the zip Mattermost itself made, when it could
    log_files: tuple[Path, ...] = ()
    checks: tuple[CheckResult, ...] = ()
    extra_terms: tuple[str, ...] = ()
    pseudonymise_key: bytes | None = None
    max_log_bytes: int = DEFAULT_MAX_LOG_BYTES
    secrets: dict[str, str] = field(default_factory=dict)  # label -> value, for the leak gate
    plugin_manifests: dict[str, dict[str, Any]] = field(default_factory=dict)
    ldap_trace: bytes | None = None  # protocol log of one LDAP connection, when the admin asked for it


@dataclass
class MemberRecord:
    name: str
    sha256: str
    size_before: int  # bytes taken from the source (after log-window selection)
    size_after: int  # bytes written, after redaction
    source_size: int | None = None  # whole source file, when a window was cut from it
    truncated: bool = False
    redactions: int = 0
    note: str | None = None


@dataclass
class PacketResult:
    path: Path | None
    members: list[MemberRecord]
    redactions: list[Redaction]  # the first REVIEW_LIMIT, for the review step
    redaction_counts: dict[str, dict[str, int]]  # member -> rule -> count
    leaks: list[Leak]
    errors: dict[str, str]  # what could not be collected or written, and why

    @property
    def ok(self) -> bool:
        return self.path is not None and not self.leaks

    @property
    def total_redactions(self) -> int:
        return sum(sum(rules.values()) for rules in self.redaction_counts.values())


def _line_blocks(pieces: Iterable[tuple[bytes, bool]], size: int = CHUNK) -> Iterator[tuple[bytes, bool]]:
    """Re-cut a stream of (bytes, verified) into blocks of whole lines of about `size` bytes, each verified only
    when every piece it was cut from was; a line longer than logs.MAX_LINE (no real entry is) is passed on in
    pieces so memory stays bounded."""
    pending: list[bytes] = []
    length, verified = 0, True
    for piece, piece_verified in pieces:
        pending.append(piece)
        length += len(piece)
        verified = verified and piece_verified
        if length < size:
            continue
        data = b"".join(pending)
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) >= logs.MAX_LINE:
            cut = len(data)
        if cut:
            yield data[:cut], verified
        if cut < len(data):
            pending, length = [data[cut:]], len(data) - cut  # keeps the flag: it came from the same pieces
        else:
            pending, length, verified = [], 0, True
    if length:
        yield b"".join(pending), verified


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


class _Writer:
    """Writes members into the zip: known secrets masked by value, then the pattern rules per block of lines,
    hashing and counting as it streams. Compression (zlib, which releases the GIL) runs on a second thread
    while the next block is redacted."""

    def __init__(self, archive: zipfile.ZipFile, redactor: Redactor, masker: ValueMasker, pool: ThreadPoolExecutor,
                 gate: LeakGate, *, masker_covers_gate: bool):
        self.archive = archive
        self.redactor = redactor
        self.masker = masker
        self.pool = pool
        self.gate = gate
        # True when every spelling the gate looks for is one the masker looks for too (no extra terms): then
        # a block the masker searched and nothing changed need not be searched again by the gate.
        self.masker_covers_gate = masker_covers_gate
        self.scanned: dict[str, list[Leak]] = {}  # member -> leaks found by the gate as it was written
        self.members: list[MemberRecord] = []
        self.review: list[Redaction] = []
        self.counts: dict[str, Counter] = {}

    def _note(self, member: str, found: list[Redaction]) -> int:
        if found:
            self.counts.setdefault(member, Counter()).update(r.rule for r in found)
            room = REVIEW_LIMIT - len(self.review)
            if room > 0:  # contexts are shown on the review screen: no known secret in them either
                self.review.extend(Redaction(r.rule, r.member, r.line, self.masker.mask_text(r.context))
                                   for r in found[:room])
        return len(found)

    def _note_values(self, member: str, masked: Counter[str], hits: list[tuple[str, int, str]] = ()) -> int:
        """Known secrets masked by value in `member`: counted under one rule; the first hits reviewed with
        their line (the label names the setting, never the value)."""
        total = sum(masked.values())
        if total:
            self.counts.setdefault(member, Counter())[value_mask.RULE] += total
            room = REVIEW_LIMIT - len(self.review)
            self.review += [Redaction(value_mask.RULE, member, line, f"{label}: {context}")
                            for label, line, context in hits[:max(room, 0)]]
        return total

    def name(self, name: str) -> str:
        masked: Counter[str] = Counter()
        clean = self.masker.mask_name(name, masked)
        if masked:
            self._note_values(clean, masked)
        return clean

    def stream(self, name: str, chunks: Iterable[bytes], **record: Any) -> MemberRecord:
        """A member from a stream of bytes (any boundaries): masked by value across chunk boundaries, then
        redacted by the pattern rules in blocks of whole lines."""
        name = self.name(name)
        digest, before, after, redacted, number = hashlib.sha256(), 0, 0, 0, 1
        masked: Counter[str] = Counter()
        hits: list[tuple[str, int, str]] = []
        self.redactor.start_member(name)

        def counted() -> Iterator[bytes]:
            nonlocal before
            for chunk in chunks:
                before += len(chunk)
                yield chunk

        pending: deque[Future] = deque()
        scan = self.gate.stream(name)
        with self.archive.open(name, "w", force_zip64=True) as out:

            def write(data: bytes) -> None:
                digest.update(data)
                out.write(data)

            try:
                for block, verified in _line_blocks(self.masker.stream_flagged(counted(), masked, hits)):
                    cleaned, found = self.redactor.redact_block(block, member=name, first_line_no=number)
                    number += block.count(b"\n")
                    redacted += self._note(name, found)
                    after += len(cleaned)
                    # The leak gate reads exactly the bytes that go into the zip, as they go in.
                    scan.feed(cleaned, verified=self.masker_covers_gate and verified
                              and (cleaned is block or cleaned == block))
                    pending.append(self.pool.submit(write, cleaned))
                    if len(pending) > 2:  # bounded: at most a few blocks wait for the compressor
                        pending.popleft().result()
            finally:
                while pending:
                    pending.popleft().result()
        redacted += self._note_values(name, masked, hits)
        self.scanned[name] = scan.leaks
        member = MemberRecord(name, digest.hexdigest(), before, after, redactions=redacted, **record)
        self.members.append(member)
        return member

    def lines(self, name: str, lines: Iterable[bytes], **record: Any) -> MemberRecord:
        return self.stream(name, lines, **record)

    def text(self, name: str, data: bytes, **record: Any) -> MemberRecord:
        return self.stream(name, [data], **record)

    def config(self, name: str, config: dict[str, Any], manifests: dict[str, dict[str, Any]]) -> MemberRecord:
        clean, found = self.redactor.redact_config(config, member=name, plugin_manifests=manifests)
        data = json.dumps(clean, indent=2, sort_keys=True).encode()
        member = self.text(name, data)  # line rules as well: a secret pasted into a free-text setting
        self._note(member.name, found)
        member.size_before = len(json.dumps(config, indent=2, sort_keys=True).encode())
        member.redactions += len(found)
        return member

    def ours(self, name: str, data: bytes) -> MemberRecord:
        """A file the dashboard wrote itself from redacted facts: hashed, still line-redacted for safety."""
        return self.text(name, data)

    def counts_only(self, name: str, data: bytes) -> MemberRecord:
        """A file of counts and names the dashboard wrote (no server text): line rules would only mangle its
        rule names; known secrets are still masked by value, and the leak gate still reads every byte of it."""
        data = self.masker.mask(data)
        self.archive.writestr(name, data)
        member = MemberRecord(name, hashlib.sha256(data).hexdigest(), len(data), len(data))
        self.members.append(member)
        return member


def _server_packet(writer: _Writer, packet: Path, manifests: dict[str, dict[str, Any]],
                   errors: dict[str, str]) -> None:
    """Mattermost's own packet, member by member, through the same redaction (it leaves some URLs unmasked)."""
    try:
        source = zipfile.ZipFile(packet)
    except (zipfile.BadZipFile, OSError) as exc:
        errors["server_packet"] = f"Mattermost's own packet is not a readable zip ({exc}); it was left out."
        return
    with source:
        for info in source.infolist():
            if info.is_dir():
                continue
            name = f"server_packet/{info.filename}"
            try:
                if info.filename.endswith("sanitized_config.json"):
                    try:
                        writer.config(name, json.loads(source.read(info)), manifests)
                        continue
                    except ValueError:
                        errors[name] = f"{info.filename} is not valid JSON; it was included line by line, redacted."
                with source.open(info) as member:  # streamed: a server log can be large
                    writer.stream(name, _chunks(member))
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                errors[name] = f"{info.filename} in Mattermost's packet could not be read ({exc})."


def _log_members(writer: _Writer, request: PacketRequest, errors: dict[str, str]) -> None:
    since = request.form.started_at
    until = request.form.ended_at or (datetime.now(UTC) if since else None)
    used: set[str] = set()
    for index, path in enumerate(request.log_files):
        member = "mattermost.log" if index == 0 else f"logs/{path.name}"
        while member in used:
            member = f"logs/{index}-{path.name}"
        used.add(member)
        try:
            selection = logs.select(path, since=since, until=until, max_bytes=request.max_log_bytes, member=member)
        except logs.LogError as exc:
            errors[member] = str(exc)
            continue
        writer.stream(member, logs.iter_chunks(selection, chunk_size=CHUNK), source_size=selection.file_size,
                      truncated=selection.truncated, note=selection.reason)


def _deployment(snapshot: Snapshot) -> dict[str, Any]:
    """The facts the support packet requirements list, in one place support reads first."""
    facts = snapshot.data("mattermost")
    deployment: dict[str, Any] = {}
    if facts is not None:
        server, lic, counts = facts.server, facts.license, facts.counts
        deployment.update({
            "site_name": server.site_name, "site_url": server.site_url, "edition": facts.edition,
            "version": server.version, "build_number": server.build_number, "build_hash": server.build_hash,
            "build_hash_enterprise": server.build_hash_enterprise, "users": counts.registered_users,
            "license": None if lic is None or not lic.is_licensed else {
                "sku": lic.sku_name or lic.sku_short_name, "seats": lic.seats, "issued_to": lic.licensee,
                "company": lic.company, "starts_at": lic.starts_at, "expires_at": lic.expires_at,
                "trial": lic.is_trial},
            "plugins": [{"id": p.id, "version": p.version, "enabled": p.enabled} for p in facts.plugins],
            "cluster_nodes": [{"hostname": n.hostname, "version": n.version} for n in facts.cluster_nodes],
        })
    packet = snapshot.data("support_packet")
    if packet is not None:
        deployment["server_os"] = packet.server.os
        deployment["server_hardware"] = {"cpu_cores": packet.server.cpu_cores,
                                         "memory_mb": packet.server.total_memory_mb}
    database = snapshot.data("database")
    if database is not None:
        deployment["database"] = {"type": "postgres", "version": database.server.text,
                                  "schema_version": database.schema_version.version if database.schema_version
                                  else None}
    ldap = snapshot.data("ldap")
    if ldap is not None:
        deployment["ldap"] = {"vendor": ldap.vendor, "version": ldap.vendor_version}
    search = snapshot.data("elasticsearch")
    if search is not None:
        deployment["search"] = {"distribution": search.distribution, "version": search.version,
                                "plugins": sorted({p.component for p in search.plugins})}
    return deployment


def _summary(request: PacketRequest, generated_at: datetime, errors: dict[str, str]) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "environment": request.environment,
        "generated_at": generated_at.isoformat(),
        "generated_by": {"username": request.generated_by, "email": request.generated_by_email},
        "form": request.form.as_dict(),
        "config_source": request.config_source,  # the server's own config.json, or the API's sanitized copy
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in request.checks],
        "not_collected": errors,
    }
    if request.snapshot is not None:
        from health.engine import evaluate
        from health.findings import State, verdict
        from health.packet_inputs import from_live
        from health.report import finding_dict

        summary["deployment"] = _deployment(request.snapshot)
        findings = evaluate(from_live(request.snapshot))
        result = verdict(findings)
        summary["verdict"] = {"label": result.label, "score": result.score, "headline": result.headline}
        summary["findings"] = [finding_dict(f) for f in findings if f.state is not State.OK]
        summary["sources"] = {name: {"status": r.status.value, "error": r.error, "elapsed_ms": round(r.elapsed_ms)}
                              for name, r in request.snapshot.sources.items()}
    return summary


def build_packet(request: PacketRequest, out: Path, progress: Progress | None = None) -> PacketResult:
    """Write the packet to `out`; on a leak or a failure no file is left at `out`."""
    say = progress or (lambda _message: None)
    generated_at = datetime.now(UTC)
    pseudonymiser = Pseudonymiser(request.pseudonymise_key) if request.pseudonymise_key else None
    redactor = Redactor(extra_terms=request.extra_terms, pseudonymiser=pseudonymiser)
    secrets = dict(request.secrets)
    if request.pseudonymise_key:  # the key maps pseudonyms back: it must not travel with them
        secrets["pseudonymise key"] = request.pseudonymise_key.decode("utf-8", "surrogateescape")
    masker = ValueMasker(secrets)
    # Terms the admin asked to mask are checked like secrets: a term that survived in some encoding blocks too.
    terms = {f"extra term {number}": term for number, term in enumerate(request.extra_terms, 1)}
    gate = LeakGate({**secrets, **terms})
    errors: dict[str, str] = {}
    if out.is_dir():
        raise IsADirectoryError(f"{out} is a directory; name the zip file to write, e.g. {out / 'packet.zip'}.")
    out.parent.mkdir(parents=True, exist_ok=True)
    # Everything is written inside a temporary folder next to `out` (same file system, so the final rename is
    # atomic); nothing that could pass for a packet exists until the leak gate has passed it.
    scratch = Path(tempfile.mkdtemp(prefix=".packet-", dir=out.parent))
    temp_path = scratch / "packet.zip.part"
    try:
        with (zipfile.ZipFile(temp_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive,
              ThreadPoolExecutor(1, thread_name_prefix="packet-zip") as pool):
            writer = _Writer(archive, redactor, masker, pool, gate, masker_covers_gate=not terms)
            if request.snapshot is not None:
                from packet import mattermost_layout

                say("Writing Mattermost's packet layout (metadata, diagnostics, stats, jobs, plugins)")
                for name, data in mattermost_layout.members(request.snapshot, generated_at).items():
                    writer.text(name, data)
            if request.config is not None:
                say("Redacting the configuration")
                writer.config("sanitized_config.json", request.config, request.plugin_manifests)
            else:
                errors["sanitized_config.json"] = ("No configuration: the API did not give it and no config.json "
                                                   "was named.")
            if request.log_files:
                say(f"Selecting and redacting {len(request.log_files)} log file(s)")
                _log_members(writer, request, errors)
            elif request.server_packet is None:
                errors["mattermost.log"] = ("No log file was named and Mattermost made no packet of its own, so "
                                            "the packet has no server log: name one in files.logs.")
            if request.ldap_trace is not None:
                say("Adding the LDAP trace, redacted")
                writer.text("ldap_trace.txt", request.ldap_trace)
            if request.server_packet is not None:
                say("Adding Mattermost's own support packet, redacted")
                _server_packet(writer, request.server_packet, request.plugin_manifests, errors)
            say("Writing the summary, README and manifest")
            summary = _summary(request, generated_at, errors)
            writer.ours("summary.json", json.dumps(summary, indent=2, default=str).encode())
            writer.ours("README.md", render_readme(summary).encode())
            writer.ours("errors.json", json.dumps(errors, indent=2).encode())
            report = {member: dict(rules) for member, rules in writer.counts.items()}
            writer.counts_only("redaction_report.json", json.dumps(
                {"by_member": report, "total": sum(sum(r.values()) for r in report.values()),
                 "known_secrets_masked": dict(sorted(masker.counts.items())),
                 "not_masked_by_value": {label: f"shorter than {value_mask.MIN_MASK_LENGTH} characters: masked "
                                                "by pattern only (by value it would hit ordinary text)"
                                         for label in masker.too_short},
                 "note": "Counts only: redacted values are never written anywhere. Known secrets are masked by "
                         "value in every spelling the leak gate checks, then unknown ones by pattern."},
                indent=2).encode())
            manifest = {
                "format": "mmdash support packet 1",
                "generated_at": generated_at.isoformat(),
                "environment": request.environment,
                "members": [vars(m) for m in writer.members],
                "collectors": summary.get("sources", {}),
                "pseudonymised": pseudonymiser is not None,
            }
            archive.writestr("manifest.json", masker.mask(json.dumps(manifest, indent=2, default=str).encode()))
        say("Checking every byte for known secrets (leak gate)")
        # Every name, the files written whole, and gzip members and nested zips decompressed; the bytes of
        # streamed members were searched as they were written.
        leaks = gate.scan_zip(temp_path, scanned=writer.scanned)
        if leaks:
            return PacketResult(None, writer.members, writer.review, report, leaks, errors)
        temp_path.replace(out)
        return PacketResult(out, writer.members, writer.review, report, [], errors)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

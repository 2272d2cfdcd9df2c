"""python -m packet build --env NAME --out packet.zip ...: the support packet, headless.

With a configured Mattermost URL and token it collects like the dashboard does; with only local files
(--config-file, --log-file) it builds from those, e.g. on the Mattermost host itself.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from collectors.runner import run_async
from demo.deployment import demo_environment
from packet.builder import PacketResult, build_packet
from packet.form import PacketForm
from packet.gather import gather, read_config_file
from settings import EnvironmentSettings, Settings, SettingsError, load_environment


def _time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def input_problem(args: argparse.Namespace) -> str | None:
    """The first thing wrong with the command's files and times, as one sentence; checked before any work."""
    out: Path = args.out
    if out.is_dir():
        return f"--out {out} is a directory; name the zip file to write, e.g. {out / 'packet.zip'}."
    if out.exists() and not out.is_file():
        return f"--out {out} exists and is not a regular file; choose another name."
    folder = out.parent
    if not folder.exists():
        return f"The output folder {folder} does not exist; create it first or choose another --out."
    if not folder.is_dir():
        return f"The output folder {folder} is not a folder; choose another --out."
    if not _writable(folder):
        return f"The output folder {folder} is not writable by this user; choose another --out."
    if args.config_file is not None:
        _config, problem = read_config_file(args.config_file)
        if problem:
            return problem
    for log in args.log_file:
        if not log.exists():
            return f"The log file {log} does not exist."
        if log.is_dir():
            return f"The log file {log} is a directory; name mattermost.log itself."
        if not log.is_file():
            return f"The log file {log} is not a regular file."
        if not os.access(log, os.R_OK):
            return f"The log file {log} cannot be read by this user."
    for option in ("since", "until"):  # read here, not by argparse, so a bad date is one sentence too
        value = getattr(args, option)
        if isinstance(value, str):
            try:
                setattr(args, option, _time(value))
            except ValueError:
                return f"--{option} {value!r} is not a date and time; use ISO 8601, e.g. 2026-11-23T09:00."
    if args.since and args.until and args.since > args.until:
        return f"--since ({args.since.isoformat()}) is after --until ({args.until.isoformat()}); swap them."
    key = args.pseudonymise_key_file
    if key is not None and not key.is_file():
        return f"The key file {key} does not exist or is not a file."
    return None


def _writable(folder: Path) -> bool:
    """Whether a file can be created in `folder` (os.access alone says yes to root on a read-only mount)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".packet-probe-", dir=folder))
    except OSError:
        return False
    return True


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m packet", description="Build a Mattermost support packet.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="collect, redact, prove secret-free and write the zip")
    build.add_argument("--env", help="environment name from the settings (default: the default environment)")
    build.add_argument("--out", type=Path, required=True, help="where to write the zip")
    build.add_argument("--config-file", type=Path, help="Mattermost's config.json (redacted before it is written)")
    build.add_argument("--log-file", type=Path, action="append", default=[], help="a log file (repeatable)")
    build.add_argument("--since", help="when the problem started (ISO 8601; sets the log window)")
    build.add_argument("--until", help="when it ended (ISO 8601)")
    build.add_argument("--issue", default="Support packet made from the command line.",
                       help="what went wrong, in a sentence")
    build.add_argument("--by", default=os.environ.get("USER", "command line"), help="who makes the packet")
    build.add_argument("--mask", action="append", default=[], help="an extra term to mask (repeatable)")
    build.add_argument("--max-log-mb", type=int, default=50, help="most log data per file, newest kept (MB)")
    build.add_argument("--ldap-trace", action="store_true", help="include a protocol trace of one LDAP connection")
    build.add_argument("--no-site-smtp-tests", action="store_true",
                       help="do not reach the Site URL and SMTP server named in the configuration")
    build.add_argument("--pseudonymise-key-file", type=Path,
                       help="a file holding your secret key: usernames, emails, IPs and hostnames are replaced "
                            "consistently; keep the key to map them back")
    return parser.parse_args(argv)


def run_build(args: argparse.Namespace) -> int:
    problem = input_problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        settings, env = load_environment(args.env)
    except SettingsError as exc:
        print(f"error: settings are not usable: {exc}", file=sys.stderr)
        return 2
    form = PacketForm(issue=args.issue, started_at=args.since, ended_at=args.until)
    if form.problems():
        print("error: " + " ".join(form.problems()), file=sys.stderr)
        return 2
    if env.is_demo and args.env is None and (args.config_file or args.log_file):
        # Nothing configured, but local files named: build from those alone (e.g. on the Mattermost host).
        env = env.model_copy(update={"mattermost": None, "demo_scenario": None})
    with demo_environment(env) as reachable:
        return _build(args, settings, reachable, form)


def say(message: str) -> None:
    print(f"  {message}", file=sys.stderr)


def _build(args: argparse.Namespace, settings: Settings, env: EnvironmentSettings, form: PacketForm) -> int:
    key = args.pseudonymise_key_file.read_bytes().strip() if args.pseudonymise_key_file else None
    with tempfile.TemporaryDirectory(prefix="mmdash-packet-") as scratch:
        gathered = run_async(gather(env, deadline_s=settings.deadline_seconds, scratch=Path(scratch),
                                    config_file=args.config_file, progress=say,
                                    test_site_and_smtp=not (args.no_site_smtp_tests or env.is_demo),
                                    trace_ldap=args.ldap_trace))
        request = gathered.request(settings, env, generated_by=args.by, generated_by_email=None, form=form,
                                   log_files=args.log_file, extra_terms=tuple(args.mask), pseudonymise_key=key,
                                   max_log_bytes=args.max_log_mb * 1024**2)
        result = build_packet(request, args.out, progress=say)
    for note in gathered.notes:
        print(f"note: {note}", file=sys.stderr)
    for check in gathered.checks:
        if not check.ok:
            print(f"test failed: {check.name}: {check.detail}", file=sys.stderr)
    return _report(result, args.out)


def _report(result: PacketResult, out: Path) -> int:
    for member in [m for m in result.members if m.truncated]:
        print(f"note: {member.name}: {member.note}", file=sys.stderr)
    for member, why in result.errors.items():
        print(f"not collected: {member}: {why}", file=sys.stderr)
    if result.leaks:
        print(f"BLOCKED: the packet was not written, because known secrets were found in it ({len(result.leaks)}):",
              file=sys.stderr)
        for leak in result.leaks[:20]:
            print(f"  {leak.where()}: {leak.label} ({leak.form})", file=sys.stderr)
        return 3
    print(f"{out}: {len(result.members) + 1} files, {result.total_redactions} redactions, no known secret found.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_build(args)


if __name__ == "__main__":
    raise SystemExit(main())

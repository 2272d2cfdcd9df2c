"""The health rules from the command line.

- `python -m health --packet packet.zip [--format text|json] [--fail-on critical|warning|never]`: offline, on a
  support packet. Exit status: 0 judged and nothing at the --fail-on level fired; 1 a finding at that level fired,
  or (with --fail-on critical or warning) most rules could not be judged ("not enough data"); 2 bad arguments, or
  the file is not a Mattermost support packet.
- `python -m health check [--env NAME] [--fail-on ...] [--format text|json|junit] [--no-server-packet]`: collect a
  configured environment now, Mattermost's own support packet included, and judge it (for cron and CI); exit
  status as in health/check.py (3: Mattermost itself could not be read).
- `python -m health watch [--env NAME ...] [--once] [--format text|json]`: collect every environment on its schedule
  until stopped; see health/watch_command.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from collectors.support_packet import PacketError, parse_packet
from collectors.support_packet_models import PacketFacts
from health import check
from health.engine import evaluate
from health.findings import verdict
from health.packet_inputs import from_packet
from health.report import to_json, to_text
from settings import SettingsError, load_environment


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit status for bad arguments is 2 as well
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="python -m health",
                     description="Judge a Mattermost support packet with the dashboard's health rules.")
    parser.add_argument("--packet", type=Path, required=True, help="a support packet zip made by Mattermost")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--fail-on", choices=tuple(check.FAILING), default="never",
                        help="exit with status 1 when a finding of this severity (or worse) fires, or when most "
                             "rules cannot be judged")
    return parser.parse_args(argv)


def _argument_error(path: Path) -> str | None:
    if not path.exists():
        return f"{path} does not exist: give the path of a support packet zip."
    if path.is_dir():
        return f"{path} is a folder: give the support packet zip itself, not the folder it was unpacked into."
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["check"]:
        return check_main(argv[1:])
    if argv[:1] == ["watch"]:
        from health import watch_command  # the watcher's store and collectors are only needed here

        return watch_command.main(argv[1:])
    if argv[:1] and argv[0] in ("mute", "acknowledge", "unmute", "mutes"):
        from health import mute_command  # the store is only needed here

        return mute_command.main(argv)
    args = parse_args(argv)
    problem = _argument_error(args.packet)
    if problem is None:
        try:
            packet = parse_packet(args.packet)
        except PacketError as exc:
            problem = str(exc)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    findings = evaluate(from_packet(packet, args.packet.name))
    result = verdict(findings)
    if args.format == "json":
        print(to_json(findings, result, packet=str(args.packet), packet_format=packet.format,
                      packet_layout=packet.layout, server_version=packet.server.version,
                      generated_at=packet.generated_at, leader=packet.cluster.leader,
                      leader_reason=packet.cluster.leader_reason, unreadable=packet.unreadable,
                      uninterpreted_fields=packet.uninterpreted, uninterpreted_members=packet.uninterpreted_members,
                      server_warnings=packet.warnings))
    else:
        print("\n".join(_header(args.packet, packet)) + "\n")
        print(to_text(findings, result, "Mattermost health report"))
    return check.exit_status(findings, result, args.fail_on)


def parse_check_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = _Parser(prog="python -m health check",
                     description="Collect a configured environment now and judge it with the health rules.")
    parser.add_argument("--env", help="environment name from the settings (default: the default environment)")
    parser.add_argument("--format", choices=("text", "json", "junit"), default="text")
    parser.add_argument("--fail-on", choices=tuple(check.FAILING), default="critical",
                        help="exit with status 1 when a finding of this severity (or worse) fires, or when most "
                             "rules cannot be judged (default: critical)")
    parser.add_argument("--no-history", action="store_true",
                        help="do not record this run's findings in the store (by default a run says what opened "
                             "and what healed since the last one)")
    parser.add_argument("--server-packet", action=argparse.BooleanOptionalAction, default=True,
                        help="read Mattermost's own support packet too (node OS, descriptors, the cluster's node "
                             "count, the server's own connection tests); it costs the server a 5 s CPU profile per "
                             "node, so checks run more often than every 15 minutes should pass --no-server-packet "
                             "(python -m health watch reads it every 15 minutes on its own)")
    return parser.parse_args(argv)


def check_main(argv: Sequence[str]) -> int:
    args = parse_check_args(argv)
    try:
        settings, env = load_environment(args.env)
    except SettingsError as exc:
        print(f"error: settings are not usable: {exc}", file=sys.stderr)
        return check.EXIT_USAGE
    from demo.deployment import demo_environment  # only a demo environment needs the simulator

    with demo_environment(env) as reachable:
        snapshot = check.collect(reachable, deadline_s=settings.deadline_seconds, server_packet=args.server_packet)
    findings = check.judge(snapshot)
    result = verdict(findings)
    mutes, changes = check.remember(settings, env.name, findings, snapshot, record=not args.no_history)
    if args.format == "json":
        print(to_json(findings, result, environment=env.name, collected_at=snapshot.collected_at,
                      changes=None if changes is None else [
                          {"change": c.kind.value, **c.finding.to_json()} for c in changes],
                      mutes=[{**m.body(), "fingerprint": m.fingerprint} for m in mutes.values()],
                      sources=check.source_summary(snapshot)))
    elif args.format == "junit":
        print(check.to_junit(findings, f"Mattermost health: {env.label}"), end="")
    else:
        print("\n".join([f"Environment: {env.label} ({env.name}), collected {snapshot.collected_at:%Y-%m-%d %H:%M:%S} "
                         "UTC", *check.source_lines(snapshot), *check.change_lines(changes),
                         *check.mute_lines(findings, mutes)]) + "\n")
        print(to_text(findings, result, f"Mattermost health report: {env.label}"))
    status = check.exit_status(check.without_muted(findings, mutes), result, args.fail_on, snapshot)
    if status == check.EXIT_UNREACHABLE:
        why = snapshot.sources["mattermost"].error or "no answer"
        print(f"error: the Mattermost API could not be read, so its health is unknown: {why}", file=sys.stderr)
    return status


def _header(path: Path, packet: PacketFacts) -> list[str]:
    lines = [f"Packet: {path} ({packet.format} format: {packet.layout or 'unknown layout'}, server "
             f"{packet.server.version or 'unknown'}, generated {packet.generated_at or 'at an unknown time'})"]
    if packet.cluster.leader and len(packet.cluster.nodes) > 1:
        lines.append(f"Cluster configuration and licence from {packet.cluster.leader}: {packet.cluster.leader_reason}")
    lines += [f"Could not read {member}: {why}" for member, why in packet.unreadable.items()]
    lines += [f"The server reported: {warning}" for warning in packet.warnings]
    lines += [f"Not interpreted in {member}: {', '.join(fields)}" for member, fields in packet.uninterpreted.items()]
    if packet.uninterpreted_members:
        lines.append(f"Members not interpreted: {', '.join(packet.uninterpreted_members)}")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())

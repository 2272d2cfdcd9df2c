"""python -m health --packet packet.zip [--format text|json] [--fail-on critical|warning|never]: the health rules,
offline, on a support packet.

Exit status: 0 the packet was judged and nothing at the --fail-on level fired; 1 a finding at that level fired,
or (with --fail-on critical or warning) most rules could not be judged ("not enough data"); 2 bad arguments, or
the file is not a Mattermost support packet.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from collectors.support_packet import PacketError, parse_packet
from collectors.support_packet_models import PacketFacts
from health.engine import evaluate
from health.findings import NOT_ENOUGH_DATA, Severity, State, verdict
from health.packet_inputs import from_packet
from health.report import to_json, to_text

FAILING = {"critical": (Severity.CRITICAL,), "warning": (Severity.CRITICAL, Severity.WARNING), "never": ()}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit status for bad arguments is 2 as well
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="python -m health",
                     description="Judge a Mattermost support packet with the dashboard's health rules.")
    parser.add_argument("--packet", type=Path, required=True, help="a support packet zip made by Mattermost")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--fail-on", choices=tuple(FAILING), default="never",
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
    failing = any(f.state is State.FIRING and f.severity in FAILING[args.fail_on] for f in findings)
    not_judged = result.label == NOT_ENOUGH_DATA and args.fail_on != "never"
    return 1 if failing or not_judged else 0


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

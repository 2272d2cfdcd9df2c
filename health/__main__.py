"""python -m health --packet packet.zip [--format text|json]: the health rules, offline, on a support packet."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from collectors.support_packet import PacketError, parse_packet
from health.engine import evaluate
from health.findings import Severity, State, verdict
from health.packet_inputs import from_packet
from health.report import to_json, to_text


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m health",
                                     description="Judge a Mattermost support packet with the dashboard's health rules.")
    parser.add_argument("--packet", type=Path, required=True, help="a support packet zip made by Mattermost")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--fail-on", choices=("critical", "warning", "never"), default="never",
                        help="exit with status 1 when a finding of this severity (or worse) fires")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        packet = parse_packet(args.packet)
    except PacketError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    findings = evaluate(from_packet(packet, args.packet.name))
    result = verdict(findings)
    if args.format == "json":
        print(to_json(findings, result, packet=str(args.packet), packet_format=packet.format,
                      server_version=packet.server.version, generated_at=packet.generated_at,
                      unreadable=packet.unreadable))
    else:
        header = [f"Packet: {args.packet} ({packet.format} format, server {packet.server.version or 'unknown'}, "
                  f"generated {packet.generated_at or 'at an unknown time'})"]
        header += [f"Could not read {member}: {why}" for member, why in packet.unreadable.items()]
        print("\n".join(header) + "\n")
        print(to_text(findings, result, "Mattermost health report"))
    worst = {"critical": [Severity.CRITICAL], "warning": [Severity.CRITICAL, Severity.WARNING], "never": []}
    failing = any(f.state is State.FIRING and f.severity in worst[args.fail_on] for f in findings)
    return 1 if failing else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`python -m health mute|acknowledge|unmute|mutes`: silence a finding for a while, say someone is on it, lift it,
or list what is in force. Who, why and until when are kept and audited in the store.

Exit status: 0 done; 2 bad arguments or settings; 4 someone else changed the same finding's mute first (run
`mutes` to see it, then try again).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from health.check import open_settings_store
from health.mutes import Mute, MuteError, MuteKind, active, get, lift, set_mute
from settings import SettingsError, load_environment
from store import ConflictError, StoreError

EXIT_CONFLICT = 4


def _until(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date and time like 2026-12-10T09:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m health", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (("mute", "silence a finding until a time"),
                           ("acknowledge", "say someone is on a finding (it still counts)"),
                           ("unmute", "lift a mute or acknowledgement now")):
        command = commands.add_parser(name, help=helptext)
        command.add_argument("--env", help="environment name (default: the default environment)")
        command.add_argument("--code", required=True, help="the rule's code, e.g. NODE_FD_EXHAUSTION")
        command.add_argument("--subject", help="the node, plugin or job type of a per-item finding")
        command.add_argument("--by", required=True, help="who does it (kept in the audit log)")
        if name != "unmute":
            command.add_argument("--why", required=True, help="the reason, for whoever reviews it later")
            command.add_argument("--until", type=_until, required=name == "mute",
                                 help="when it ends (UTC unless a zone is given)")
    listing = commands.add_parser("mutes", help="list the mutes and acknowledgements in force")
    listing.add_argument("--env", help="environment name (default: the default environment)")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    try:
        settings, env = load_environment(args.env)
    except SettingsError as exc:
        print(f"error: settings are not usable: {exc}", file=sys.stderr)
        return 2
    try:
        with open_settings_store(settings) as store:
            return _run(args, store, env.name)
    except StoreError as exc:
        print(f"error: the store cannot be used: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, store, environment: str) -> int:
    now = datetime.now(UTC)
    if args.command == "mutes":
        mutes = active(store, environment, now)
        for mute in sorted(mutes.values(), key=lambda m: (m.code, m.subject or "")):
            print(f"{mute.code}" + (f" [{mute.subject}]" if mute.subject else "") + f": {mute.describe()}")
        if not mutes:
            print(f"No finding of {environment} is muted or acknowledged.")
        return 0
    if args.command == "unmute":
        lifted = lift(store, environment, args.code, args.subject, by=args.by, at=now)
        print(f"Lifted: {args.code}." if lifted else f"{args.code} was neither muted nor acknowledged.")
        return 0
    current = get(store, environment, args.code, args.subject)
    kind = MuteKind.MUTE if args.command == "mute" else MuteKind.ACKNOWLEDGE
    mute = Mute(args.code, args.subject, kind, args.why, args.by, now, args.until)
    try:
        saved = set_mute(store, environment, mute, expected_version=current.version if current else None)
    except MuteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ConflictError:
        print(f"error: someone changed the mute of {args.code} at the same moment; run `python -m health mutes` "
              "to see it, then try again.", file=sys.stderr)
        return EXIT_CONFLICT
    print(f"{saved.code}" + (f" [{saved.subject}]" if saved.subject else "") + f": {saved.describe()}")
    return 0

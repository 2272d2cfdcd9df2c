"""`mmdash`: the dashboard and its command lines, as installed by `pip install .`.

    mmdash serve [--address 127.0.0.1] [--port 8501] [--log-format text|json] [--reload]
    mmdash health check|watch|mute|acknowledge|unmute|mutes ...   and   mmdash health --packet packet.zip
    mmdash packet build --env NAME --out packet.zip ...
    mmdash --version

`serve` runs `streamlit run serve.py`, the way `make run` does, with the options of the project's
.streamlit/config.toml (shipped as mmdash/streamlit.toml, so the installed app looks and behaves the same from
any working directory) and the ones a server wants: headless, no usage statistics, no file watcher. `health` and
`packet` hand their arguments to `python -m health` and `python -m packet`, whose options and exit statuses they
are. Settings come from MMDASH_* variables and .streamlit/secrets.toml in the working directory (or
MMDASH_SECRETS_FILE), as for `make run`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from mmdash import __version__, logs

HERE = Path(__file__).resolve().parent
SERVE_SCRIPT = HERE.parent / "serve.py"  # beside this package, in the checkout and in site-packages alike
STREAMLIT_CONFIG = HERE / "streamlit.toml"  # the checkout's .streamlit/config.toml (a link to it there)
DEFAULT_ADDRESS = "127.0.0.1"
DEFAULT_PORT = 8501
SECRETS_FILE_VARIABLE = "MMDASH_SECRETS_FILE"  # settings.py reads it too; st.login must read the same file
COMMANDS = {
    "serve": "run the dashboard: the pages, /healthz, /metrics, the incident endpoints and the watcher",
    "health": "the health rules: `health check`, `health watch`, `health --packet x.zip`, `health mute` ...",
    "packet": "the support packet: `packet build --env NAME --out packet.zip`",
}
log = logging.getLogger("mmdash.cli")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmdash", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Diagnostics and rollout dashboard for Mattermost: the web app and its command lines.",
        epilog="commands:\n" + "\n".join(f"  {name:<8} {what}" for name, what in COMMANDS.items())
               + "\n\nRun `mmdash <command> --help` for a command's options.")
    parser.add_argument("--version", action="version", version=f"mmdash {__version__}")
    parser.add_argument("--log-format", choices=logs.FORMATS,
                        help=f"log as text or as one JSON object per line (default: ${logs.FORMAT_VARIABLE}, "
                             "else text)")
    parser.add_argument("command", choices=COMMANDS, metavar="command", help="one of the commands below")
    parser.add_argument("arguments", nargs=argparse.REMAINDER, metavar="...", help="the command's own arguments")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    log_format = args.log_format or logs.chosen_format()
    if args.command == "serve":
        return serve(args.arguments, log_format)
    os.environ[logs.FORMAT_VARIABLE] = log_format
    logs.configure(log_format)
    # Imported here: each command line loads only what it needs (serve none of it, Streamlit does).
    if args.command == "health":
        from health.__main__ import main as command
    else:
        from packet.__main__ import main as command
    return command(args.arguments)


def _serve_parser(log_format: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmdash serve",
        description="Run the dashboard. Set STREAMLIT_* variables for Streamlit options not set here, e.g. "
                    "STREAMLIT_SERVER_MAX_UPLOAD_SIZE=500 for larger support packets.")
    parser.add_argument("--address", default=DEFAULT_ADDRESS,
                        help=f"address to listen on (default {DEFAULT_ADDRESS}; 0.0.0.0 in a container)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--log-format", choices=logs.FORMATS, default=log_format,
                        help="log as text or as one JSON object per line")
    parser.add_argument("--reload", action="store_true",
                        help="rerun the pages when their source files change (development only)")
    return parser


def streamlit_options(args: argparse.Namespace, environ: dict[str, str] | None = None) -> dict[str, str]:
    """`streamlit run` options: the project's config file first, then what a server needs."""
    environ = dict(os.environ) if environ is None else environ
    options = _flatten(tomllib.loads(STREAMLIT_CONFIG.read_text(encoding="utf-8")))
    options |= {
        "server.address": args.address,
        "server.port": str(args.port),
        "server.headless": "true",
        "browser.gatherUsageStats": "false",
        "server.fileWatcherType": "auto" if args.reload else "none",
        "server.runOnSave": "true" if args.reload else "false",
    }
    if args.log_format == "json":
        options["logger.hideWelcomeMessage"] = "true"  # its banner is printed, not logged: no JSON line
    if environ.get(SECRETS_FILE_VARIABLE):
        options["secrets.files"] = environ[SECRETS_FILE_VARIABLE]  # for st.login's [auth] section
    return options


def _flatten(config: dict[str, object]) -> dict[str, str]:
    flat: dict[str, str] = {}
    for section, values in config.items():
        for key, value in (values if isinstance(values, dict) else {}).items():
            flat[f"{section}.{key}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return flat


def serve(argv: Sequence[str], log_format: str) -> NoReturn:
    args = _serve_parser(log_format).parse_args(argv)
    options = streamlit_options(args)
    command = [sys.executable, "-m", "streamlit", "run", str(SERVE_SCRIPT),
               *(f"--{name}={value}" for name, value in options.items())]
    logs.configure(args.log_format)
    log.info("mmdash %s: serving the dashboard on http://%s:%d", __version__, args.address, args.port)
    sys.stdout.flush()
    sys.stderr.flush()
    # Replaced, not started beside: the service manager's PID and signals are Streamlit's own.
    os.execve(sys.executable, command, {**os.environ, logs.FORMAT_VARIABLE: args.log_format})

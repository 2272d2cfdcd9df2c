"""deploy/Containerfile, without a container engine (none runs here): the files it copies exist and are all the
package is made of, and the image runs the installed `mmdash` entry point as a non-root user with a health
check on /healthz."""

from __future__ import annotations

import json
import re
import shlex
import tomllib

from mmdash import cli
from tests.deploy.conftest import DEPLOY, ROOT

CONTAINERFILE = DEPLOY / "Containerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments left out."""
    text = re.sub(r"\\\n\s*", " ", CONTAINERFILE.read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def copied() -> list[str]:
    sources = []
    for name, args in instructions():
        if name == "COPY" and "--from=" not in args:
            sources += shlex.split(args)[:-1]
    return sources


def test_every_copied_path_exists_and_no_secret_or_data_is_copied():
    for source in copied():
        assert (ROOT / source).exists(), source
    assert not [s for s in copied() if "secrets" in s or s.startswith(("data", ".demo", "tests"))]


def test_it_copies_everything_the_package_is_made_of():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools = project["tool"]["setuptools"]
    needed = {f"{module}.py" for module in setuptools["py-modules"]}
    needed |= {f"{name}/" for name in setuptools["packages"]["find"]["include"] if "." not in name}
    needed |= {"pyproject.toml", "requirements.txt", project["project"]["readme"]}
    # mmdash/streamlit.toml is a link to the project's Streamlit configuration: its target must come along.
    needed.add(str((ROOT / "mmdash" / "streamlit.toml").resolve().relative_to(ROOT)))
    assert needed <= set(copied()), needed - set(copied())


def test_the_image_runs_the_installed_entry_point_as_a_user_with_a_health_check():
    steps = instructions()
    final = steps[max(i for i, (name, _) in enumerate(steps) if name == "FROM"):]
    args = {name: value for name, value in final}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert re.fullmatch(r"python:3\.11-slim-\w+", args["FROM"])
    assert project["project"]["requires-python"] == ">=3.11"
    assert json.loads(args["ENTRYPOINT"]) == ["mmdash"] and "mmdash" in project["project"]["scripts"]
    command = json.loads(args["CMD"])
    assert command[0] == "serve"
    serve = cli._serve_parser("json").parse_args(command[1:])
    assert serve.address == "0.0.0.0" and str(serve.port) == args["EXPOSE"]
    assert args["USER"] not in ("root", "0")
    assert f"http://127.0.0.1:{serve.port}/healthz" in args["HEALTHCHECK"]

"""`pip install .` for real: the wheel is built from a copy of the checkout and installed into a fresh virtual
environment, and the installed `mmdash` is run from an empty folder elsewhere, the way an admin runs it.

The fresh environment sees the dashboard's dependencies through a .pth file naming this environment's
site-packages (nothing is downloaded, and nothing of the checkout is on its path); the wheel is built without
build isolation, with the setuptools that requirements-dev.txt pins to the build backend's version.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from mmdash import __version__
from tests.servers.streamlit_app import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
# Not part of the package; the copy leaves them out so the build sees what `pip install .` sees that matters.
NOT_SHIPPED = shutil.ignore_patterns(".venv", ".git", "tests", "data", ".demo", "test-artifacts", "__pycache__",
                                     ".pytest_cache", ".ruff_cache", "secrets.toml", "build", "*.egg-info",
                                     "bench", "notebooks", "docs")
CHROMIUM = "/usr/bin/chromium"


@dataclass
class Installed:
    wheel: Path
    bin: Path
    site_packages: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=NOT_SHIPPED)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "--disable-pip-version-check", "-w", str(work / "dist"), str(source)],
                           capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    wheel = next((work / "dist").glob("mmdash-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    site_packages = next(venv.glob("lib/python*/site-packages"))
    (site_packages / "mmdash-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-index", "--disable-pip-version-check", str(wheel)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MMDASH_", "PYTHON", "STREAMLIT_"))}
    env["MMDASH_SECRETS_FILE"] = str(work / "no-secrets.toml")
    return Installed(wheel, venv / "bin", site_packages, env)


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """An empty working folder that is not the checkout."""
    folder = tmp_path / "admin-folder"
    folder.mkdir()
    return folder


def test_the_wheel_holds_every_file_the_app_reads_and_nothing_else(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for pattern in ("pages/*.py", "checklists/*.yaml", "incidents/playbooks/*.yaml", "app.py", "serve.py",
                    "settings.py", "yaml_files.py", "simulator/**/*.py", "demo/*.py", "ui/*.py"):
        wanted = {str(path.relative_to(ROOT)) for path in ROOT.glob(pattern)}
        assert wanted and wanted <= names, wanted - names
    assert not [name for name in names if name.startswith(("tests/", "data/", ".demo/")) or "secrets.toml" in name]
    shipped = installed.site_packages / "mmdash" / "streamlit.toml"
    assert not shipped.is_symlink() and shipped.read_text() == (ROOT / ".streamlit" / "config.toml").read_text()
    metadata = zipfile.ZipFile(installed.wheel).read(f"mmdash-{__version__}.dist-info/METADATA").decode()
    pins = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert [line.removeprefix("Requires-Dist: ") for line in metadata.splitlines()
            if line.startswith("Requires-Dist: ")] == pins


def test_mmdash_help_and_version(installed, elsewhere):
    helped = subprocess.run([installed.bin / "mmdash", "--help"], cwd=elsewhere, env=installed.env,
                            capture_output=True, text=True, timeout=30)
    assert helped.returncode == 0 and all(f"  {c} " in helped.stdout for c in ("serve", "health", "packet"))
    version = subprocess.run([installed.bin / "mmdash", "--version"], cwd=elsewhere, env=installed.env,
                             capture_output=True, text=True, timeout=30)
    assert version.stdout.strip() == f"mmdash {__version__}"


def test_health_check_runs_the_demo_from_any_folder_and_keeps_its_data_there(installed, elsewhere):
    checked = subprocess.run([installed.bin / "mmdash", "health", "check", "--env", "production", "--format", "json"],
                             cwd=elsewhere, env=installed.env, capture_output=True, text=True, timeout=90)
    assert checked.returncode in (0, 1), checked.stderr  # 1: a finding at the --fail-on level fired
    report = json.loads(checked.stdout)
    assert report["environment"] == "production" and report["sources"]["mattermost"]["status"] == "ok"
    assert (elsewhere / ".demo").is_dir() and (elsewhere / "data" / "mmdash.sqlite3").is_file()
    assert not (installed.site_packages / ".demo").exists()  # the installed package's folder stays as installed


def test_serve_answers_healthz_logs_json_lines_and_finds_its_pages_from_any_folder(installed, elsewhere):
    port = free_port()
    log_path = elsewhere / "serve.log"
    with log_path.open("wb") as log:
        # Its own session, so the demo's servers started beside it are stopped with it, by the group's id.
        served = subprocess.Popen([installed.bin / "mmdash", "serve", "--port", str(port), "--log-format", "json"],
                                  cwd=elsewhere, env=installed.env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        health = _healthz(f"http://127.0.0.1:{port}", served, log_path)
        assert health["version"] == __version__ and health["store"] == {"reachable": True, "kind": "sqlite"}
        assert set(health["watcher"]["environments"]) == {"production", "staging", "dev"}
        _pages_render(f"http://127.0.0.1:{port}")
    finally:
        _stop(served)
    lines = log_path.read_text().splitlines()
    assert lines and all(set(json.loads(line)) >= {"time", "level", "logger", "message"} for line in lines), lines
    assert "mmdash.cli" in {json.loads(line)["logger"] for line in lines}


def _healthz(url: str, served: subprocess.Popen, log_path: Path, timeout_s: float = 45) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert served.poll() is None, log_path.read_text()
        try:
            response = httpx.get(f"{url}/healthz", timeout=5)
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        assert response.status_code == 200, response.text
        return response.json()
    pytest.fail(f"/healthz did not answer within {timeout_s} s: {log_path.read_text()[-2000:]}")


def _pages_render(url: str) -> None:
    """app.py names its pages by path (pages/health.py ...): in a browser they resolve and render."""
    if not shutil.which(CHROMIUM):
        message = f"{CHROMIUM} is missing: install Debian's chromium package (make test does, as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.goto(url)
            expect(page.get_by_role("heading", name="Health · Demo production")).to_be_visible(timeout=45_000)
            page.goto(f"{url}/fleet")
            expect(page.get_by_role("heading", name="Fleet", exact=True)).to_be_visible(timeout=30_000)
        finally:
            browser.close()


def _stop(served: subprocess.Popen) -> None:
    if served.poll() is None:
        os.killpg(served.pid, signal.SIGTERM)
        try:
            served.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(served.pid, signal.SIGKILL)
            served.wait(timeout=10)
    # The demo's servers are in the group too; SIGTERM may end the dashboard before it stops them.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(served.pid, signal.SIGKILL)


def test_pyproject_pins_the_build_backend_and_reads_the_pins_from_requirements_txt():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["build-system"]["requires"] == ["setuptools==84.2.1"]
    assert project["tool"]["setuptools"]["dynamic"]["dependencies"] == {"file": ["requirements.txt"]}
    assert "setuptools==84.2.1" in (ROOT / "requirements-dev.txt").read_text().splitlines()

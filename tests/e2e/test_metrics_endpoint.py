"""GET /metrics on the served app (serve.py): what `python -m health check` recorded in the store, scraped the way
Prometheus scrapes it."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from health.__main__ import main

pytestmark = pytest.mark.e2e


def test_metrics_after_a_check_run(start_app, simulator_factory, tmp_path, monkeypatch, capsys):
    sim = simulator_factory("degraded")
    for name in [n for n in __import__("os").environ if n.startswith("MMDASH_")]:
        monkeypatch.delenv(name)
    env = {"MMDASH_PROD__MATTERMOST__URL": sim.url, "MMDASH_PROD__MATTERMOST__TOKEN": sim.admin_token}
    for key, value in {**env, "MMDASH_SECRETS_FILE": str(tmp_path / "no-secrets.toml"),
                       "MMDASH_SQLITE_PATH": str(tmp_path / "store.sqlite3")}.items():
        monkeypatch.setenv(key, value)
    assert main(["check", "--fail-on", "never"]) == 0  # records the run in the store the app will read
    capsys.readouterr()
    app = start_app(env)  # the same store file: StreamlitApp points MMDASH_SQLITE_PATH at tmp_path/store.sqlite3
    response = httpx.get(f"{app.url}/metrics", timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    open_findings = [s for s in families["mmdash_finding_open"].samples if s.labels["environment"] == "prod"]
    assert any(s.labels["code"] == "CLUSTER_VERSION_SKEW" and s.labels["subject"] == "mm-3" for s in open_findings)
    up = {s.labels["source"]: s.value for s in families["mmdash_source_up"].samples}
    assert up["mattermost"] == 1 and up["database"] == 0  # not configured counts as not up

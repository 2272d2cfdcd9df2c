"""deploy/mmdash.env.example, the EnvironmentFile of the unit and the --env-file of the container, is a working
configuration: the settings read it without a complaint."""

from __future__ import annotations

from pathlib import Path

from mmdash import logs
from settings import load_settings
from tests.deploy.conftest import DEPLOY


def variables() -> dict[str, str]:
    lines = (DEPLOY / "mmdash.env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_the_example_is_valid_settings_for_one_watched_environment():
    environ = variables()
    assert not [value for value in environ.values() if value[:1] in "\"'"]  # docker's --env-file keeps quotes
    settings = load_settings(environ, secrets_path=Path("/nonexistent/secrets.toml"))
    production = settings.environment("production")
    assert production.mattermost.url == "https://chat.example.com" and production.mattermost.token is not None
    assert settings.health.watch_interval == 300 and settings.session_key is not None
    assert logs.chosen_format(environ) == environ["MMDASH_LOG_FORMAT"] == "json"

"""The log as an admin's log shipper reads it: one JSON object per line, Streamlit's records included, and no
secret the dashboard knows in any line."""

from __future__ import annotations

import io
import json
import logging

import pytest
import streamlit.logger

from mmdash import logs

pytestmark = pytest.mark.usefixtures("restore_logging")
TOKEN = "pat-3f9a8c7d6e5b4a39281706f5e4d3c2b1"
DB_PASSWORD = "Pg-s3cret-Passw0rd"
ENVIRON = {"MMDASH_PROD__MATTERMOST__URL": "https://chat.example.com",
           "MMDASH_PROD__MATTERMOST__TOKEN": TOKEN,
           "MMDASH_PROD__DATABASE__DSN": f"postgresql://mmdash:{DB_PASSWORD}@db.example.com/mattermost",
           "MMDASH_SECRETS_FILE": "/nonexistent/secrets.toml"}


def configured(fmt: str, environ: dict[str, str] | None = None) -> io.StringIO:
    stream = io.StringIO()
    logs.configure(fmt, stream=stream, environ=ENVIRON if environ is None else environ)
    return stream


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_record_is_one_json_object_with_time_level_logger_message_and_exception():
    stream = configured("json")
    log = logging.getLogger("mmdash.test")
    log.info("collected %s in %d ms\nsecond line", "production", 812)
    try:
        raise ValueError("the answer was not JSON")
    except ValueError:
        log.exception("the run of %s failed", "staging")
    first, second = lines(stream)
    assert first["level"] == "INFO" and first["logger"] == "mmdash.test"
    assert first["message"] == "collected production in 812 ms\nsecond line"
    assert first["time"].endswith("+00:00") and "T" in first["time"]
    assert "exception" not in first
    assert second["level"] == "ERROR" and second["message"] == "the run of staging failed"
    assert second["exception"].startswith("Traceback") and "ValueError: the answer was not JSON" in second["exception"]


def test_known_secrets_and_recognisable_ones_are_masked_in_messages_and_exceptions():
    stream = configured("json")
    log = logging.getLogger("mmdash.test")
    log.warning("calling Mattermost with %s", TOKEN)
    log.warning("store at postgresql://mmdash:%s@db.example.com/mattermost", DB_PASSWORD)
    log.warning("a visitor sent Authorization: Bearer visitor0token0not0in0settings")
    try:
        raise RuntimeError(f"401 for token {TOKEN}")
    except RuntimeError:
        log.exception("sign-in failed")
    text = stream.getvalue()
    assert TOKEN not in text and DB_PASSWORD not in text and "visitor0token0not0in0settings" not in text
    assert len(lines(stream)) == 4 and "REDACTED" in text
    assert "calling Mattermost with" in text  # the rest of each message is kept


def test_text_lines_are_masked_too():
    stream = configured("text")
    logging.getLogger("mmdash.test").error("token %s refused", TOKEN)
    line = stream.getvalue()
    assert TOKEN not in line and " ERROR   mmdash.test: token " in line


def test_unusable_settings_still_mask_the_variables_secrets():
    environ = {**ENVIRON, "MMDASH_REFRESH_SECONDS": "not a number"}
    stream = configured("json", environ)
    logging.getLogger("mmdash.test").warning("token %s", TOKEN)
    assert TOKEN not in stream.getvalue()


def test_streamlit_records_come_through_the_same_handler_now_and_for_loggers_made_later():
    stream = configured("json")
    streamlit.logger.get_logger("streamlit.runtime").warning("existing logger")
    streamlit.logger.get_logger("streamlit.mmdash_test_made_later").warning("later logger with %s", TOKEN)
    got = {entry["message"]: entry["logger"] for entry in lines(stream)}
    assert got["existing logger"] == "streamlit.runtime"
    assert "later logger with [REDACTED:known-secret]" in got


def test_only_our_loggers_speak_at_info():
    stream = configured("json")
    logging.getLogger("httpx").info("HTTP Request: GET https://chat.example.com/api/v4/system/ping")
    logging.getLogger("mmdash.watcher").info("watching production")
    assert [entry["message"] for entry in lines(stream)] == ["watching production"]


def test_format_comes_from_the_variable_and_an_unknown_one_is_said():
    assert logs.chosen_format({"MMDASH_LOG_FORMAT": "JSON"}) == "json"
    stream = configured("", {"MMDASH_LOG_FORMAT": "xml", "MMDASH_SECRETS_FILE": "/nonexistent"})
    assert "MMDASH_LOG_FORMAT=xml is not one of text, json: logging text" in stream.getvalue()

"""The process's log: text, or one JSON object per line (MMDASH_LOG_FORMAT=json, `mmdash serve --log-format json`),
with every secret the dashboard knows masked.

One handler on the root logger takes every record, Streamlit's included (Streamlit gives each of its loggers a
console handler of its own; they hand their records to this one instead), so the format and the masking hold for
every line. The variable is read here rather than in settings.py because the log must be set up before the
settings are read: unusable settings are logged too.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TextIO

FORMAT_VARIABLE = "MMDASH_LOG_FORMAT"
FORMATS = ("text", "json")
# Streamlit's own line format, so a text log reads the same before and after its loggers are handed over.
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
HANDLER_NAME = "mmdash"
# uvicorn (which Streamlit serves with) configures console handlers of its own before it imports the app.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class JsonLines(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, and exception or stack text
    when the record has them."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


class SecretMask(logging.Filter):
    """Masks, in each record's message, exception and stack, every secret value the dashboard knows (the ones
    the support packet's leak gate checks for: settings, MMDASH_ variables, ...; in each of its spellings) and
    whatever the packet's redaction rules recognise by its surroundings (a Bearer token, a URL's password, a
    private key), e.g. a visitor's token that no setting holds."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        super().__init__()
        from packet.redact import Redactor

        self._environ = os.environ if environ is None else environ
        self._lock = threading.RLock()
        self._redactor = Redactor()
        self._fingerprint: str | None = None
        self._masker = None
        self._building = False

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            try:
                message = record.getMessage()
            except Exception:  # a bad format string is logging's to report, not a reason to lose the record
                message = str(record.msg)
            record.msg, record.args = self.mask(message), None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = self.mask(record.exc_text)
            if record.stack_info:
                record.stack_info = self.mask(record.stack_info)
        return True

    def mask(self, text: str) -> str:
        masker = self._current_masker()
        if masker is not None:
            text = masker.mask_text(text)
        raw = text.encode("utf-8", "surrogateescape")
        cleaned, _found = self._redactor.redact_block(raw, member="log", first_line_no=1)
        self._redactor.start_member("log")  # each record stands alone: no private key stays open into the next
        return text if cleaned == raw else cleaned.decode("utf-8", "surrogateescape")

    def _current_masker(self):
        """The masker for the settings as they are now (they may change while the app runs)."""
        if self._building:  # a record logged while the settings are read: the masker as it was
            return self._masker
        from settings import settings_fingerprint

        fingerprint = settings_fingerprint(self._environ)
        if fingerprint != self._fingerprint:
            self._building = True
            try:
                self._masker = _masker(self._environ)
            finally:
                self._building = False
            self._fingerprint = fingerprint
        return self._masker


def _masker(environ: Mapping[str, str]):
    from packet.secrets import known_secrets
    from packet.value_mask import ValueMasker
    from settings import SettingsError, load_settings

    try:
        settings = load_settings(environ)
    except SettingsError:
        # Settings that cannot be used still leave the variables' secrets to mask: read them against no settings.
        settings = load_settings({}, secrets_path=Path(os.devnull))
    return ValueMasker(known_secrets(settings, environ=environ))


def chosen_format(environ: Mapping[str, str] | None = None) -> str:
    value = (os.environ if environ is None else environ).get(FORMAT_VARIABLE, "").strip().lower()
    return value if value in FORMATS else "text"


def configure(fmt: str | None = None, *, stream: TextIO | None = None,
              environ: Mapping[str, str] | None = None) -> logging.Handler:
    """Send every record of the process to one handler on the root logger, in `fmt` (default: the variable's
    choice, else text); the dashboard's own loggers (mmdash.*) at INFO, the rest at WARNING. Calling it again
    replaces the handler."""
    environ = os.environ if environ is None else environ
    fmt = fmt or chosen_format(environ)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(HANDLER_NAME)
    if fmt == "json":
        handler.setFormatter(JsonLines())
    else:
        formatter = logging.Formatter(TEXT_FORMAT)
        formatter.default_msec_format = "%s.%03d"
        handler.setFormatter(formatter)
    handler.addFilter(SecretMask(environ))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("mmdash").setLevel(logging.INFO)
    if "streamlit.logger" in sys.modules:
        _adopt_streamlit_loggers(sys.modules["streamlit.logger"])
    for name in UVICORN_LOGGERS:
        _hand_over(logging.getLogger(name))
    unknown = environ.get(FORMAT_VARIABLE, "").strip().lower()
    if unknown and unknown not in FORMATS:
        logging.getLogger("mmdash.logs").warning("%s=%s is not one of %s: logging %s", FORMAT_VARIABLE, unknown,
                                                 ", ".join(FORMATS), fmt)
    return handler


def _hand_over(logger: logging.Logger) -> None:
    for handler in list(logger.handlers):
        if handler.get_name() != HANDLER_NAME:
            logger.removeHandler(handler)
    logger.propagate = True


def _adopt_streamlit_loggers(streamlit_logger: ModuleType) -> None:
    """Streamlit's loggers (streamlit.logger.get_logger) each get a console handler and stop propagating; here
    they propagate to the root handler instead, now and for the loggers Streamlit creates later."""
    streamlit_logger.setup_formatter = _hand_over
    for logger in list(streamlit_logger._loggers.values()):
        _hand_over(logger)

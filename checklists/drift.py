"""Configuration drift: how two environments' Mattermost configs differ, setting by setting, secrets unseen.

Each config comes from the REST API (secrets masked by Mattermost) or from a config.json on disk (secrets in
the clear). What counts as secret is exactly what the support packet redacts (`packet.redact`), so the two
features cannot disagree about it. Secrets are compared by HMAC-SHA256 under a key drawn afresh for every
comparison: equal values match within one comparison, and no hash is kept in the result, so nothing in it can
be looked up offline. DSNs and URLs with credentials are shown with only the credentials masked, so a
changed database host is visible while the password is compared by hash alone.
"""

from __future__ import annotations

import codecs
import hmac
import json
import re
import secrets
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from hashlib import sha256
from pathlib import Path
from typing import Any

import pandas as pd

from checklists.markdown import escape
from collectors.packet_archive import valid_unicode
from collectors.packet_members import MAX_NESTING_DEPTH, bracket_depth
from packet.redact import MASK, Redactor

# Generated at random by every server on its first start, so any two installations differ here and the
# difference means nothing (both are secret, so they would only ever say "different secret").
DEFAULT_IGNORED = (
    "FileSettings.PublicLinkSalt",
    "SqlSettings.AtRestEncryptKey",
)
# Settings that name the environment itself: they should differ, and the page lists them apart from drift.
EXPECTED_PER_ENVIRONMENT = frozenset({
    "ServiceSettings.SiteURL",
    "ServiceSettings.ListenAddress",
    "ClusterSettings.ClusterName",
    "SqlSettings.DataSource",
    "SqlSettings.DataSourceReplicas",
    "SqlSettings.DataSourceSearchReplicas",
    "FileSettings.Directory",
    "FileSettings.AmazonS3Bucket",
    "FileSettings.AmazonS3PathPrefix",
})
# Mattermost's field list masks these whole, yet a changed database host is drift worth seeing: they are shown
# with only their credentials masked, and masked whole when no credentials are recognised in them.
_DSN_FIELDS = frozenset({
    "sqlsettings.datasource",
    "sqlsettings.datasourcereplicas",
    "sqlsettings.datasourcesearchreplicas",
    "sqlsettings.replicalagsettings.datasource",
})
# Userinfo or a keyword password that Mattermost (or our own redactor) already replaced with a mask.
_MASKED_CREDENTIALS = re.compile(r"(?:\*{4}|\*{32})?:(?:\*{4}|\*{32})@|password=(?:\*{32}|\*{4})(?!\*)", re.I)
# What the redactor puts where a secret was, in the order the alternatives must be tried.
_REDACTOR_MASKS = re.compile(r"(\*{32}|\*{4}|\[REDACTED:[a-z-]+\])")

# A config.json is tens of KB; the limit keeps a wrong file (a log, a database dump) from filling the memory.
MAX_CONFIG_BYTES = 10 * 2**20
# Python's own default limit on the digits of an integer literal (4,300); the messages name it.
MAX_NUMBER_DIGITS = sys.int_info.default_max_str_digits

NOT_PRESENT = "(not present)"
EMPTY = "(empty)"
SECRET_SET = "(secret set)"
MASKED_BY_MATTERMOST = "(masked by Mattermost)"
SAME_SECRET = "same secret"
DIFFERENT_SECRET = "different secret"
CANNOT_COMPARE = "masked by Mattermost — cannot compare"


class ConfigFileError(ValueError):
    """A config file that cannot be read as a Mattermost config; the message says what to fix."""


class DifferenceKind(StrEnum):
    CHANGED = "changed"
    ONLY_LEFT = "only left"
    ONLY_RIGHT = "only right"
    SECRET_DIFFERS = "secret differs"
    SECRET_NOT_COMPARABLE = "secret cannot be compared"


@dataclass(frozen=True)
class Difference:
    """One setting that differs; the displays are safe to show (secrets appear only as their state)."""

    setting: str
    section: str
    kind: DifferenceKind
    left_display: str
    right_display: str
    detail: str  # for people: "changed; credentials: same secret", "set only in staging", ...
    expected: bool  # the setting names the environment (SiteURL, database host...), so differing is normal


@dataclass(frozen=True)
class Drift:
    left_label: str
    right_label: str
    differences: tuple[Difference, ...]
    settings_compared: int
    ignored: tuple[str, ...]

    @property
    def summary(self) -> dict[str, int]:
        """Differences per section, sections in alphabetical order."""
        return dict(sorted(Counter(d.section for d in self.differences).items()))

    @property
    def unexpected(self) -> tuple[Difference, ...]:
        """Differences in settings that should be the same everywhere: the drift to act on."""
        return tuple(d for d in self.differences if not d.expected)


# ------------------------------------------------------------------------------------------- loading

def load_config_file(path: str | Path) -> dict[str, Any]:
    """A config.json (or a saved GET /api/v4/config answer) from disk, or ConfigFileError saying what is wrong."""
    path = Path(path)
    try:
        if path.exists() and not path.is_dir() and not path.is_file():  # a FIFO or a device would never end
            raise ConfigFileError(f"{path} is not a regular file; give the path to the config.json itself.")
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)  # enough to tell that it is too large
    except FileNotFoundError:
        raise ConfigFileError(f"{path} does not exist; check the path to the config.json.") from None
    except IsADirectoryError:
        raise ConfigFileError(f"{path} is a folder; give the path to the config.json inside it.") from None
    except OSError as error:
        raise ConfigFileError(f"{path} cannot be read: {error.strerror}.") from None
    return parse_config(data, str(path))


def parse_config(data: bytes, source: str) -> dict[str, Any]:
    """The config in `data` (an uploaded file's bytes); `source` names it in error messages.

    A config is small, shallow and plain, so anything else is refused with a sentence before it can cost the
    parser its stack (deep nesting), Python its integer limit (huge numbers) or the page its rendering (text
    that is not Unicode)."""
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigFileError(
            f"{source} is larger than {MAX_CONFIG_BYTES // 2**20} MB, the most this page reads (a Mattermost "
            "config.json is well under 1 MB); check that it is the config.json."
        )
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise ConfigFileError(f"{source} is saved as UTF-32 text; Mattermost reads config.json only as UTF-8, "
                              "so re-save it as UTF-8.")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ConfigFileError(f"{source} is saved as UTF-16 text (Windows Notepad calls it \"Unicode\"); Mattermost "
                              "reads config.json only as UTF-8, so re-save it as UTF-8.")
    try:
        text = data.decode("utf-8-sig")  # editors on Windows save a byte order mark
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - data.rfind(b"\n", 0, error.start)
        raise ConfigFileError(
            f"{source} is not UTF-8 text (byte 0x{data[error.start]:02x} at line {line}, column {column}); "
            "Mattermost writes config.json as UTF-8, so export it again or re-save it as UTF-8."
        ) from None
    if not text.strip():
        raise ConfigFileError(f"{source} is empty; export the config again or pick the right file.")
    if (depth := bracket_depth(data, skip_strings=True)) > MAX_NESTING_DEPTH:
        raise _too_deep(source, f"{depth:,} levels")
    try:
        config = json.loads(text, parse_int=_integer)
    except _NumberTooLong as error:
        raise ConfigFileError(
            f"{source} holds a number {error.digits:,} digits long, and numbers of more than "
            f"{MAX_NUMBER_DIGITS:,} digits are not read (Mattermost's own fit in 20); is it really a Mattermost "
            "config?"
        ) from None
    except json.JSONDecodeError as error:
        raise ConfigFileError(
            f"{source} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
    except RecursionError:  # only if the byte count above ever misjudged a file's nesting
        raise _too_deep(source, "too many levels") from None
    if not isinstance(config, dict):
        raise ConfigFileError(
            f"{source} holds a JSON {_json_type(config)}, not an object with sections such as "
            '"ServiceSettings"; is it really a Mattermost config?'
        )
    if (setting := _not_unicode(config)) is not None:
        raise ConfigFileError(
            f"{source} has text that is not valid Unicode (a lone \\uD800-style escape) in {setting}; "
            "Mattermost never writes that, so export the config again."
        )
    return config


class _NumberTooLong(Exception):
    def __init__(self, digits: int) -> None:
        super().__init__(digits)
        self.digits = digits


def _integer(literal: str) -> int:
    # Checked before int() is asked: past Python's own limit int() raises a ValueError that names nothing.
    digits = len(literal.lstrip("-"))
    if digits > MAX_NUMBER_DIGITS:
        raise _NumberTooLong(digits)
    try:
        return int(literal)
    except ValueError:  # an interpreter started with a lower PYTHONINTMAXSTRDIGITS
        raise _NumberTooLong(digits) from None


def _too_deep(source: str, how_deep: str) -> ConfigFileError:
    return ConfigFileError(
        f"{source} nests {how_deep} deep, and files nested more than {MAX_NESTING_DEPTH} levels are not read "
        "(a Mattermost config nests fewer than 10); is it really a Mattermost config?"
    )


def _not_unicode(config: dict[str, Any]) -> str | None:
    """The first setting whose name or text holds a lone surrogate (which no page or download can encode)."""
    pending: list[tuple[tuple[str, ...], Any]] = [((), config)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if valid_unicode(key) != key:
                    return ".".join((*path, valid_unicode(key)))
                pending.append(((*path, key), item))
        elif isinstance(value, list):
            pending.extend((path, item) for item in value)
        elif isinstance(value, str) and valid_unicode(value) != value:
            return ".".join(path)
    return None


def _json_type(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


# ------------------------------------------------------------------------------------------- flattening

def flatten(config: Mapping[str, Any]) -> dict[str, Any]:
    """Setting values by dotted path ("SqlSettings.DataSource"); lists are single values, empty objects vanish."""
    return {".".join(path): value for path, value in _leaves(config).items()}


def _leaves(config: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    # Paths stay tuples inside this module: plugin ids hold dots, so a dotted string cannot be split back.
    out: dict[tuple[str, ...], Any] = {}
    for key, value in config.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping):
            out.update(_leaves(value, path))
        else:
            out[path] = value
    return out


# ------------------------------------------------------------------------------------------- one side

class _State(Enum):
    UNSET = "unset"
    MASKED = "masked"


_Secret = bytes | _State


@dataclass(frozen=True)
class _View:
    """One side of one setting: what may be shown, and its secret part as a keyed hash (or its state)."""

    shown: Any
    whole_secret: bool
    secret: _Secret  # of the credentials inside a shown value, or of the whole value when whole_secret


class _Fingerprint:
    """HMAC-SHA256 under a key that lives only as long as one comparison."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def __call__(self, value: Any) -> bytes:
        return hmac.new(self._key, json.dumps(value, sort_keys=True).encode(), sha256).digest()


def _redacted(config: Mapping[str, Any], label: str) -> dict[str, Any]:
    """`config` masked exactly as the support packet masks it, database hosts left visible."""
    redacted, _ = Redactor().redact_config(dict(config), member=label)
    return _reveal_dsn_hosts(config, redacted, ())


def _reveal_dsn_hosts(original: Any, redacted: Any, path: tuple[str, ...]) -> Any:
    if isinstance(original, Mapping) and isinstance(redacted, Mapping):
        return {key: _reveal_dsn_hosts(original.get(key), value, (*path, key)) for key, value in redacted.items()}
    if isinstance(original, list) and isinstance(redacted, list) and len(original) == len(redacted):
        return [_reveal_dsn_hosts(o, r, path) for o, r in zip(original, redacted, strict=True)]
    if redacted == MASK and isinstance(original, str) and ".".join(path).lower() in _DSN_FIELDS:
        shown = _mask_credentials(original)
        return shown if shown != original else MASK
    return redacted


def _mask_credentials(text: str) -> str:
    """`text` with the credentials of any DSN or URL in it masked, as the redactor masks a plain setting."""
    redacted, _ = Redactor().redact_config({"value": text}, member="drift")
    return redacted["value"]


def _view(original: Any, redacted: Any, fingerprint: _Fingerprint) -> _View:
    if _masked_by_mattermost(original):
        whole = _is_whole_mask(original)
        return _View(None if whole else redacted, whole, _State.MASKED)
    if redacted == original:
        return _View(original, False, _State.UNSET)
    if _is_whole_mask(redacted):
        return _View(None, True, fingerprint(original))
    return _View(redacted, False, fingerprint(_hidden_parts(original, redacted)))


def _masked_by_mattermost(value: Any) -> bool:
    if isinstance(value, str):
        return value == MASK or _MASKED_CREDENTIALS.search(value) is not None
    if isinstance(value, list):
        return any(_masked_by_mattermost(v) for v in value)
    if isinstance(value, Mapping):
        return any(_masked_by_mattermost(v) for v in value.values())
    return False


def _is_whole_mask(value: Any) -> bool:
    return value == MASK or (isinstance(value, list) and bool(value) and all(v == MASK for v in value))


def _hidden_parts(original: Any, redacted: Any) -> list[Any]:
    """The pieces of `original` that redaction replaced: the credentials whose hash is compared."""
    if original == redacted:
        return []
    if isinstance(original, str) and isinstance(redacted, str):
        pieces = _REDACTOR_MASKS.split(redacted)
        pattern = "".join("(.*?)" if i % 2 else re.escape(piece) for i, piece in enumerate(pieces))
        match = re.fullmatch(pattern, original, re.DOTALL)
        return list(match.groups()) if match else [original]
    if isinstance(original, list) and isinstance(redacted, list) and len(original) == len(redacted):
        return [part for o, r in zip(original, redacted, strict=True) for part in _hidden_parts(o, r)]
    if isinstance(original, Mapping) and isinstance(redacted, Mapping) and original.keys() == redacted.keys():
        return [part for key in original for part in _hidden_parts(original[key], redacted[key])]
    return [original]


# ------------------------------------------------------------------------------------------- comparing

def compare(left: Mapping[str, Any], right: Mapping[str, Any], left_label: str, right_label: str,
            ignore: Iterable[str] = DEFAULT_IGNORED) -> Drift:
    """Every setting that differs between two configs; `ignore` holds settings or whole prefixes of them."""
    if left_label == right_label:
        raise ValueError(f"both configs are labelled {left_label!r}; give each environment its own label")
    for config, label in ((left, left_label), (right, right_label)):
        if not isinstance(config, Mapping):
            raise TypeError(f"the {label} config is a {type(config).__name__}, not a Mattermost config object")
    ignored = tuple(ignore)
    fingerprint = _Fingerprint()
    sides = []
    for config, label in ((left, left_label), (right, right_label)):
        originals, redacted = _leaves(config), _leaves(_redacted(config, label))
        sides.append({path: _view(value, redacted[path], fingerprint) for path, value in originals.items()
                      if not _is_ignored(".".join(path), ignored)})
    left_views, right_views = sides
    paths = left_views.keys() | right_views.keys()
    differences = []
    for path in paths:
        difference = _difference(path, left_views.get(path), right_views.get(path), left_label, right_label,
                                 fingerprint)
        if difference is not None:
            differences.append(difference)
    differences.sort(key=lambda d: (d.setting.casefold(), d.setting))
    return Drift(left_label, right_label, tuple(differences), len(paths), ignored)


def _is_ignored(setting: str, ignored: tuple[str, ...]) -> bool:
    return any(setting == entry or setting.startswith(entry + ".") for entry in ignored)


def _difference(path: tuple[str, ...], left: _View | None, right: _View | None, left_label: str,
                right_label: str, fingerprint: _Fingerprint) -> Difference | None:
    setting = ".".join(path)

    def found(kind: DifferenceKind, left_display: str, right_display: str, detail: str) -> Difference:
        return Difference(setting, path[0], kind, left_display, right_display, detail,
                          setting in EXPECTED_PER_ENVIRONMENT)

    if right is None:
        return found(DifferenceKind.ONLY_LEFT, _display(left), NOT_PRESENT, f"only in {left_label}")
    if left is None:
        return found(DifferenceKind.ONLY_RIGHT, NOT_PRESENT, _display(right), f"only in {right_label}")
    if left.whole_secret or right.whole_secret:
        verdict = _secret_verdict(_as_secret(left, fingerprint), _as_secret(right, fingerprint),
                                  left_label, right_label)
    elif _comparable(left.shown) != _comparable(right.shown):
        verdict = _secret_verdict(left.secret, right.secret, left_label, right_label)
        detail = "changed" if verdict is None else f"changed; credentials: {verdict}"
        return found(DifferenceKind.CHANGED, _display(left), _display(right), detail)
    else:
        verdict = _secret_verdict(left.secret, right.secret, left_label, right_label)
    if verdict in (None, SAME_SECRET):
        return None
    kind = DifferenceKind.SECRET_NOT_COMPARABLE if verdict == CANNOT_COMPARE else DifferenceKind.SECRET_DIFFERS
    return found(kind, _display(left), _display(right), verdict)


def _comparable(value: Any) -> Any:
    """Query parameters in one order: Mattermost's sanitizer re-encodes a DSN's query sorted by key, so a DSN
    from the API and the same DSN from config.json would otherwise differ."""
    if isinstance(value, str) and "://" in value and "?" in value:
        base, _, query = value.partition("?")
        return base + "?" + "&".join(sorted(query.split("&")))
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def _as_secret(view: _View, fingerprint: _Fingerprint) -> _Secret:
    """A plain value facing a whole secret: an empty one means unset, anything else is compared by hash too."""
    if view.whole_secret or view.secret is _State.MASKED:
        return view.secret
    return _State.UNSET if view.shown in ("", None, []) else fingerprint(view.shown)


def _secret_verdict(left: _Secret, right: _Secret, left_label: str, right_label: str) -> str | None:
    """None when neither side has a secret; otherwise what can be said about the two."""
    if left is _State.UNSET and right is _State.UNSET:
        return None
    # Mattermost masks some fields even when they are empty, so a mask does not even say "set".
    if _State.MASKED in (left, right):
        return CANNOT_COMPARE
    if left is _State.UNSET:
        return f"set only in {right_label}"
    if right is _State.UNSET:
        return f"set only in {left_label}"
    return SAME_SECRET if hmac.compare_digest(left, right) else DIFFERENT_SECRET


def _display(view: _View) -> str:
    if view.whole_secret:
        return MASKED_BY_MATTERMOST if view.secret is _State.MASKED else SECRET_SET
    value = view.shown
    if value == "":
        return EMPTY
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# ------------------------------------------------------------------------------------------- presenting

def to_frame(drift: Drift) -> pd.DataFrame:
    """One row per difference, for st.dataframe; the two value columns are named after the environments."""
    columns = ["Setting", "Section", "Difference", drift.left_label, drift.right_label, "Expected"]
    rows = [(d.setting, d.section, d.detail, d.left_display, d.right_display, d.expected)
            for d in drift.differences]
    return pd.DataFrame(rows, columns=columns)


def to_markdown(drift: Drift) -> str:
    """A report to paste into a ticket or a Mattermost post: drift first, expected differences after."""
    title = f"## Configuration drift: {drift.left_label} vs {drift.right_label}"
    if not drift.differences:
        return f"{title}\n\nNo differences in {drift.settings_compared} settings compared.\n"
    expected = [d for d in drift.differences if d.expected]
    lines = [title, "",
             f"{len(drift.differences)} of {drift.settings_compared} settings differ "
             f"({len(drift.unexpected)} drift, {len(expected)} expected per environment)."]
    if drift.ignored:
        lines.append("Ignored: " + ", ".join(f"`{setting}`" for setting in drift.ignored) + ".")
    lines += ["", "| Section | Differences |", "|---|---|"]
    lines += [f"| {escape(section)} | {count} |" for section, count in drift.summary.items()]
    for heading, rows in (("Drift", drift.unexpected), ("Expected per environment", expected)):
        if rows:
            lines += ["", f"### {heading}", "",
                      f"| Setting | Difference | {escape(drift.left_label)} | {escape(drift.right_label)} |",
                      "|---|---|---|---|"]
            lines += [f"| {_code(d.setting)} | {escape(d.detail)} | {_code(d.left_display)} | "
                      f"{_code(d.right_display)} |" for d in rows]
    return "\n".join(lines) + "\n"


def _code(text: str) -> str:
    """A code span, so masks (****) and underscores are not read as emphasis; a pipe would end the cell."""
    text = " ".join(text.split()).replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"

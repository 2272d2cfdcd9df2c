"""Secret redaction for support packets: Mattermost's config.json and server log lines.

Config: Mattermost's own field list, plugin settings their manifests mark secret, key names that say
"secret" in settings nobody listed, credentials inside any DSN or URL, and the AdvancedLoggingJSON
targets, which Mattermost exports verbatim. Logs: Mattermost redacts none, so every line goes through
named rules (tokens, passwords in their plain, JSON-escaped and URL-encoded spellings, credentials in
URLs and DSNs, private keys across lines, AWS keys, the admin's own terms). Each hit is reported as a
Redaction whose context shows the surroundings with the secret already masked, for the review screen.

The key-name rule and the text rules are also how `config_secrets` and `text_secrets` find the secret
values a leak gate must look for, so what is masked and what is checked cannot drift apart.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, quote_plus, unquote

import ahocorasick_rs

from packet.pseudonymise import Pseudonymiser

MASK = "********************************"  # Mattermost's model.FakeSetting
SANITIZED_CREDENTIAL = "****"  # Mattermost's model.SanitizedPassword, for the user and password of a DSN

# Config.Sanitize's fields in every server version (dotted paths; list fields mask every element).
SANITIZED_CONFIG_FIELDS = (
    "LdapSettings.BindPassword",
    "FileSettings.PublicLinkSalt",
    "FileSettings.AmazonS3SecretAccessKey",
    "FileSettings.ExportAmazonS3SecretAccessKey",
    "FileSettings.AzureAccessKey",
    "FileSettings.ExportAzureAccessKey",
    "EmailSettings.SMTPPassword",
    "GitLabSettings.Secret",
    "GoogleSettings.Secret",
    "Office365Settings.Secret",
    "OpenIdSettings.Secret",
    "SqlSettings.DataSource",
    "SqlSettings.DataSourceReplicas",
    "SqlSettings.DataSourceSearchReplicas",
    "SqlSettings.ReplicaLagSettings.DataSource",
    "SqlSettings.AtRestEncryptKey",
    "ElasticsearchSettings.Password",
    "MessageExportSettings.GlobalRelaySettings.SMTPPassword",
    "ServiceSettings.SplitKey",
    "ServiceSettings.GoogleDeveloperKey",
    "ServiceSettings.GiphySdkKey",
    "ServiceSettings.GfycatAPISecret",
    "CacheSettings.RedisPassword",
    "AutoTranslationSettings.LibreTranslate.APIKey",
)
# Secrets Mattermost exports verbatim and whose names do not say so: the atmos/camo image proxy key.
UNSANITIZED_SECRET_FIELDS = ("ImageProxySettings.RemoteImageProxyOptions",)
# JSON (as a string or an object) describing log targets; syslog, TCP and Splunk targets carry credentials.
ADVANCED_LOGGING_FIELDS = (
    "LogSettings.AdvancedLoggingJSON",
    "ExperimentalAuditSettings.AdvancedLoggingJSON",
    "NotificationLogSettings.AdvancedLoggingJSON",
)

_MASKED_FIELDS = frozenset(f.lower() for f in (*SANITIZED_CONFIG_FIELDS, *UNSANITIZED_SECRET_FIELDS))
_LOGGING_FIELDS = frozenset(f.lower() for f in ADVANCED_LOGGING_FIELDS)
_CONTEXT_CHARS = 40
# Rules whose secret sits inside a URL or DSN: the whole string is a secret as well as the password in it.
CREDENTIAL_URL_RULES = frozenset({"dsn", "url-credentials"})
_NO_MANIFESTS: Mapping[str, dict] = MappingProxyType({})


@dataclass(frozen=True)
class Redaction:
    """One secret masked: which rule, where, and the surroundings with the secret already masked."""

    rule: str
    member: str
    line: int | None
    context: str


# ------------------------------------------------------------------------------------------- key names

# A secret word anywhere in the name makes it secret, unless the last word says the value is about the
# secret rather than the secret itself (TokenEndpoint, PasswordSettings, TLSKeyFile, AmazonS3AccessKeyId).
_STRONG_WORDS = ("password", "passwd", "passphrase", "secret", "credential", "privatekey", "apikey", "accesskey",
                 "signingkey", "encryptionkey", "encryptkey", "authorization")
# Secret only as the last word: SplitKey and MMAUTHTOKEN are secrets, MaxKeys and KeyboardShortcuts are not.
_WEAK_LAST_WORDS = ("token", "key", "salt", "dsn", "csrf")
_EXACT_LAST_WORDS = ("pwd", "pass")
_QUALIFIERS = frozenset((
    "id", "ids", "file", "files", "path", "paths", "name", "names", "type", "types", "url", "urls", "uri",
    "endpoint", "link", "length", "enabled", "enable", "attribute", "settings", "header", "mode", "size", "count",
    "policy", "algorithm", "format", "location", "directory", "dir", "timeout", "seconds", "minutes", "hours",
    "days", "interval", "version", "hint", "label", "text", "prefix", "expiry", "expires", "lifetime", "duration",
    "rotation", "public",
))
# Lower-case concatenations (plugin keys, environment variables) cannot be split into words, so their
# endings are checked instead; "id" alone is too short to be told from a word ending.
_QUALIFIER_ENDINGS = (*sorted((q for q in _QUALIFIERS if len(q) >= 3), key=len, reverse=True),
                      "keyid", "tokenid", "publickey")
_WORD_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z0-9]+|[A-Z0-9]+")


def is_secret_key(name: str) -> bool:
    """Whether a setting, field or variable called `name` holds a secret, judged by its name alone."""
    parts = [p.lower() for p in _WORD_PARTS.findall(name)]
    if not parts:
        return False
    joined, last = "".join(parts), parts[-1]
    if len(parts) == 1:
        if joined.endswith(_QUALIFIER_ENDINGS) and joined not in _WEAK_LAST_WORDS:
            return False
        return (any(w in joined for w in _STRONG_WORDS) or joined.endswith(_WEAK_LAST_WORDS)
                or joined in _EXACT_LAST_WORDS)
    if last in _QUALIFIERS or (last == "key" and parts[-2] == "public"):
        return False
    return any(w in joined for w in _STRONG_WORDS) or last in _WEAK_LAST_WORDS or last in _EXACT_LAST_WORDS


# ------------------------------------------------------------------------------------------- text rules

# Quote, separator and value in the spellings a secret takes in logs: key=value, "key":"value",
# JSON inside a JSON string (\"key\":\"value\"), and URL-encoded (key%3Dvalue, %22key%22%3A%22value%22).
# It runs on ASCII-lower-cased text, anchored where _SECRET_WORD found a keyword: tried at every position
# instead, it costs a hundred times more.
_SECRET_WORD = re.compile(
    r"pass|pwd|secret|credential|token|csrf|api[_-]?key|private[_-]?key|access[_-]?key|signing[_-]?key"
    r"|encrypt(?:ion)?[_-]?key|salt"
)
_KEY_VALUE = re.compile(
    r"""
    (?P<key>
        (?:pass(?:word|wd|phrase)|pwd|secret|credential)[a-z0-9_-]*
      | (?:token|csrf|api[_-]?key|private[_-]?key|access[_-]?key|signing[_-]?key|encrypt(?:ion)?[_-]?key|salt)
        (?![a-z0-9_])
      | (?<![a-z0-9_])pass(?![a-z0-9_])
    )
    (?:"|'|\\"|%22|%27)?
    (?:\s|%20)*(?:=|:|%3d|%3a)(?:\s|%20)*
    (?:
        "(?P<dq>(?:[^"\\]|\\.)*)"
      | \\"(?P<esc>(?:[^\\"]|\\\\\\\\|\\\\\\"|\\\\[^\\"])*)\\"
      | '(?P<sq>[^']*)'
      | (?:%22|%27)(?P<pq>(?:(?!%22|%27)[^\s"'&])*)
      | (?P<bare>(?:(?!%26|%22|%27|&quot;)[^\s"'&,;<>{}\[\]\\])+)
    )
    """,
    re.VERBOSE,
)
_NOT_VALUES = frozenset({"null", "true", "false", "none", "nil"})
# A command line in a log (sos#3462 leaked one): --password hunter2, the value after a space.
_CLI_FLAG = re.compile(
    r"(?<![\w-])--(?P<key>[a-z0-9-]*(?:pass(?:word|wd|phrase)?|pwd|secret|token|api-?key)[a-z0-9-]*)"
    r"\s+(?P<v>[^\s\"'-][^\s\"']*)"
)
_CLI_FLAG_NOT_VALUES = ("-file", "-stdin", "-env", "-path")
# Anyone holding an incoming webhook's URL can post as it: the id in /hooks/<id> is a credential.
_WEBHOOK = re.compile(r"/hooks/(?P<v>[a-z0-9]{26})(?![a-z0-9])")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")
_BEARER = re.compile(r"(?i)(?<![A-Za-z0-9])bearer(?:\s+|%20|\+)(?P<v>[A-Za-z0-9._~+/-]{8,}=*)")
_AUTHORIZATION = re.compile(
    r"""(?i)(?<![A-Za-z0-9])authorization(?:"|'|\\"|%22)?(?:\s|%20)*(?::|=|%3a)(?:\s|%20)*(?:"|'|\\"|%22)?"""
    r"(?:(?:bearer|token|basic)(?:\s+|%20|\+))?(?P<v>[A-Za-z0-9._~+/-]{8,}=*)"
)
# userinfo runs to the last @ before the path, so a password holding @ is masked whole. The scheme is read
# leftwards from "://" (anchoring on the literal is what keeps this cheap).
_URL_USERINFO = re.compile(r"""(?::\\/\\/|://)(?P<userinfo>[^\s/?#"'<>\\]*)@""")
_URL_USERINFO_ENCODED = re.compile(r"""%3a%2f%2f(?P<userinfo>(?:(?!%2f|%40|%3f|%23)[^\s&"'<>/])*)%40""")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_MYSQL_AT = re.compile(r"@(?:tcp|unix)\(")
_MYSQL_USER_START = " \t\"'=(,;"
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_KEYWORD_DSN_HINT = re.compile(r"(?i)(?<![\w])(?:host|hostaddr|dbname|sslmode|port)=")
_KEYWORD_DSN_FIELD = re.compile(r"""(?i)(?<![\w])(?P<key>user|password)=(?P<value>'(?:[^'\\]|\\.)*'|[^\s'"]+)""")
_PEM_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
# A line inside a PEM block: base64, an RFC 1421 header, or a line whose logger prefixed a full-width
# (64 or 70 character) line of key material. Anything else means the block was cut short and has ended.
_PEM_BODY = re.compile(r"\s*(?:[A-Za-z0-9+/=]*|[A-Za-z-]+:.*)\s*")
_PEM_FULL_LINE = re.compile(r"[A-Za-z0-9+/]{60,}")
_AWS_ACCESS_KEY = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
# (markers, one of which must be in the lower-cased text, pattern, run on the lower-cased text?, rule):
# the secret is the pattern's group "v", or the whole match.
_TOKEN_RULES = (
    (("bearer",), _BEARER, False, "bearer-token"),
    (("authoriz",), _AUTHORIZATION, False, "bearer-token"),
    (("akia", "asia"), _AWS_ACCESS_KEY, False, "aws-access-key"),
    (("/hooks/",), _WEBHOOK, True, "webhook"),
    (("eyj",), _JWT, False, "jwt"),
)
_DSN_SCHEMES = frozenset({"postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss",
                          "amqp", "amqps", "sqlserver", "mssql", "oracle", "clickhouse"})
_USERINFO_SEPARATOR = re.compile(r"(:|%3[Aa])")
_MASKED_USERINFO = re.compile(r"^(?:\*{4}|\*{32})?(?::|%3[Aa])(?:\*{4}|\*{32})$")
_MASKED_URL = re.compile(r"://(?:\*{4}|\*{32})?:(?:\*{4}|\*{32})@")
# Lower-case markers, one of which every rule needs: a line without any of them is passed through untouched.
_TRIGGERS = (b"pass", b"pwd", b"secret", b"credential", b"token", b"csrf", b"bearer", b"authoriz", b"key", b"salt",
             b"-----", b"@", b"%40", b"akia", b"asia", b"/hooks/", b"eyj")


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    rule: str
    replacement: str
    secrets: tuple[str, ...] = ()
    recorded: bool = True


def _tag(rule: str) -> str:
    return f"[REDACTED:{rule}]"


def _already_masked(value: str) -> bool:
    return value in (MASK, SANITIZED_CREDENTIAL) or (value.startswith("[REDACTED:") and value.endswith("]"))


class _TextRules:
    """Finds secret spans in one string; `structured` keeps DSN and URL credentials parseable (****)."""

    def __init__(self, extra_terms: tuple[str, ...]):
        forms: dict[str, None] = {}
        for term in extra_terms:
            for form in (term, quote(term, safe=""), quote_plus(term, safe=""), json.dumps(term)[1:-1],
                         json.dumps(term, ensure_ascii=False)[1:-1]):
                forms[form] = None
        # Longest first, so a term inside another term's encoding does not split it.
        self.term_forms = tuple(sorted(forms, key=len, reverse=True))

    def find(self, text: str, start: int = 0, *, structured: bool) -> tuple[list[_Span], bool]:
        """Merged, sorted spans from `start` on, and whether a private key block is still open at the end.
        Each rule runs only when the literal it needs is in the text."""
        low = _ascii_lower(text)
        spans: list[_Span] = []
        pem_open = "-----begin" in low and self._pem(text, start, spans)
        if "@" in low or "%40" in low:
            self._url_credentials(text, low, start, structured, spans)
            self._mysql(text, low, start, structured, spans)
        if "password=" in low:
            self._keyword_dsn(text, start, structured, spans)
        self._key_values(text, low, start, spans)
        if "--" in low:
            self._cli_flags(text, low, start, spans)
        for markers, pattern, in_low, rule in _TOKEN_RULES:
            if any(marker in low for marker in markers):
                for m in pattern.finditer(low if in_low else text, start):
                    at, end = m.span("v") if "v" in pattern.groupindex else m.span()
                    value = text[at:end]
                    if not _already_masked(value):
                        spans.append(_Span(at, end, rule, _tag(rule), (value,)))
        for form in self.term_forms:
            at = text.find(form, start)
            while at >= 0:
                spans.append(_Span(at, at + len(form), "extra-term", _tag("extra-term")))
                at = text.find(form, at + len(form))
        return _merge(spans), pem_open

    @staticmethod
    def _pem(text: str, start: int, spans: list[_Span]) -> bool:
        at = start
        while (begin := _PEM_BEGIN.search(text, at)) is not None:
            end = _PEM_END.search(text, begin.end())
            stop = end.start() if end else len(text)
            body = text[begin.end():stop]
            if body.strip() and not _already_masked(body.strip()):
                lines = tuple(p for p in re.split(r"\\r\\n|\\n|\r?\n", body) if p.strip())
                spans.append(_Span(begin.end(), stop, "private-key", _tag("private-key"), lines))
            elif end is None:
                # The key starts on the next line: an empty span still reports the block, once, here.
                spans.append(_Span(stop, stop, "private-key", ""))
            if end is None:
                return True
            at = end.end()
        return False

    @staticmethod
    def _url_credentials(text: str, low: str, start: int, structured: bool, spans: list[_Span]) -> None:
        found = [(m, _scheme_before(text, m.start())) for m in _URL_USERINFO.finditer(text, start)]
        if "%3a%2f%2f" in low:
            found += [(m, _scheme_before(text, m.start())) for m in _URL_USERINFO_ENCODED.finditer(low, start)]
        for m, scheme in found:
            userinfo = text[m.start("userinfo"):m.end("userinfo")]
            if "[REDACTED:" in userinfo or _MASKED_USERINFO.match(userinfo):
                continue
            parts = _USERINFO_SEPARATOR.split(userinfo, maxsplit=1)
            user, sep, password = parts if len(parts) == 3 else (userinfo, "", "")
            rule = "dsn" if scheme.lower() in _DSN_SCHEMES else "url-credentials"
            if sep:
                if not password or _already_masked(unquote(password)):
                    continue
                secret = unquote(password)
                masked_user = SANITIZED_CREDENTIAL if user else ""
                replacement = f"{masked_user}{sep}{SANITIZED_CREDENTIAL}" if structured else _tag(rule)
            elif len(userinfo) >= 20 and not _already_masked(userinfo):
                # A long user and no password: a token used as the user (https://<token>@host).
                secret = unquote(userinfo)
                replacement = SANITIZED_CREDENTIAL if structured else _tag(rule)
            else:
                continue
            spans.append(_Span(m.start("userinfo"), m.end("userinfo"), rule, replacement, (secret,)))

    @staticmethod
    def _mysql(text: str, low: str, start: int, structured: bool, spans: list[_Span]) -> None:
        """Go MySQL driver DSNs, user:password@tcp(host:3306)/db: read leftwards from the @."""
        for m in _MYSQL_AT.finditer(low, start):
            at = m.start()
            begin = max(start, *(text.rfind(c, 0, at) + 1 for c in _MYSQL_USER_START))
            credentials = text[begin:at]
            user, sep, password = credentials.partition(":")
            if not sep or not user or not password or _already_masked(password) or "[REDACTED:" in credentials:
                continue
            replacement = f"{SANITIZED_CREDENTIAL}:{SANITIZED_CREDENTIAL}" if structured else _tag("dsn")
            spans.append(_Span(begin, at, "dsn", replacement, (password,)))

    @staticmethod
    def _keyword_dsn(text: str, start: int, structured: bool, spans: list[_Span]) -> None:
        if not _KEYWORD_DSN_HINT.search(text, start):
            return
        for m in _KEYWORD_DSN_FIELD.finditer(text, start):
            value = m.group("value")
            bare = value[1:-1] if value.startswith("'") else value
            if not bare or _already_masked(bare):
                continue
            is_password = m.group("key").lower() == "password"
            # The user is masked as Mattermost masks it, but it is no secret for a leak gate to hunt.
            spans.append(_Span(m.start("value"), m.end("value"), "dsn",
                               SANITIZED_CREDENTIAL if structured else _tag("dsn"),
                               (bare,) if is_password else (), recorded=is_password))

    @staticmethod
    def _key_values(text: str, low: str, start: int, spans: list[_Span]) -> None:
        done = start
        for word in _SECRET_WORD.finditer(low, start):
            if word.start() < done:
                continue
            m = _KEY_VALUE.match(low, word.start())
            if m is None:
                continue
            done = m.end()
            group = next(g for g in ("dq", "esc", "sq", "pq", "bare") if m.group(g) is not None)
            value = text[m.start(group):m.end(group)]
            if not value or value.lower() in _NOT_VALUES or _already_masked(value):
                continue
            rule = _key_rule(m.group("key"))
            spans.append(_Span(m.start(group), m.end(group), rule, _tag(rule), (_decoded(group, value),)))


    @staticmethod
    def _cli_flags(text: str, low: str, start: int, spans: list[_Span]) -> None:
        for m in _CLI_FLAG.finditer(low, start):
            value = text[m.start("v"):m.end("v")]
            if not m.group("key").endswith(_CLI_FLAG_NOT_VALUES) and not _already_masked(value):
                rule = _key_rule(m.group("key"))
                spans.append(_Span(m.start("v"), m.end("v"), rule, _tag(rule), (value,)))


def _ascii_lower(text: str) -> str:
    """Lower-cased with every character in place, so offsets found in it are offsets in `text`."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def _scheme_before(text: str, at: int) -> str:
    start = at
    while start > 0 and text[start - 1] in _SCHEME_CHARS:
        start -= 1
    return text[start:at]


def _key_rule(key: str) -> str:
    name = re.sub(r"[^a-z]", "", key.lower())
    if name == "pass" or any(w in name for w in ("password", "passwd", "passphrase", "pwd")):
        return "password"
    if "secretaccesskey" in name:
        return "aws-secret-key"
    if "token" in name or "csrf" in name:
        return "session-token"
    return "secret"


def _decoded(group: str, value: str) -> str:
    """The secret itself, so a leak gate can look for it in every spelling."""
    if group == "dq":
        try:
            return json.loads(f'"{value}"')
        except ValueError:
            return value
    if group in ("pq", "bare") and "%" in value:
        return unquote(value)
    return value


def _merge(spans: list[_Span]) -> list[_Span]:
    """Overlapping hits become one span covering both, so no part of either secret survives."""
    merged: list[_Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            if span.end <= last.end and span.secrets == ():
                continue
            end = max(last.end, span.end)
            same = span.start == last.start and span.end == last.end
            merged[-1] = _Span(last.start, end, last.rule, last.replacement if same else _tag(last.rule),
                               tuple(dict.fromkeys(last.secrets + span.secrets)), last.recorded or span.recorded)
        else:
            merged.append(span)
    return merged


_PLAIN_RULES = _TextRules(())


def text_secrets(text: str) -> list[tuple[str, str]]:
    """(rule, secret) for every secret the redactor would mask in `text`: DSN and URL passwords, tokens..."""
    spans, _ = _PLAIN_RULES.find(text, structured=True)
    return [(span.rule, secret) for span in spans for secret in span.secrets]


# ------------------------------------------------------------------------------------------- redactor

class Redactor:
    """Masks secrets in config dicts and log lines; one instance per packet (it tracks open PEM blocks)."""

    def __init__(self, extra_terms: Iterable[str] = (), pseudonymiser: Pseudonymiser | None = None):
        terms = tuple(dict.fromkeys(extra_terms))
        for number, term in enumerate(terms, 1):
            if len(term) < 3:
                raise ValueError(f"extra term {number} is shorter than 3 characters and would mask text at random")
        self._rules = _TextRules(terms)
        self._pseudonymiser = pseudonymiser
        self._open_pem: set[str] = set()
        markers = dict.fromkeys((*_TRIGGERS, *(f.encode("utf-8", "surrogateescape").lower()
                                               for f in self._rules.term_forms)))
        self._triggers = ahocorasick_rs.BytesAhoCorasick(list(markers))

    def start_member(self, name: str) -> None:
        """Forget line state of `name` (a private key left open by a file that ended mid-block)."""
        self._open_pem.discard(name)

    def redact_lines(self, lines: list[bytes], *, member: str, first_line_no: int
                     ) -> tuple[list[bytes], list[Redaction]]:
        """Many lines at once: one pre-filter pass over the block finds the few lines that can hold a secret,
        and only those (and lines inside an open private key) go through redact_line."""
        if self._pseudonymiser is not None:
            dirty = range(len(lines))
        else:
            starts = list(itertools.accumulate((len(line) for line in lines), initial=0))
            hits = self._triggers.find_matches_as_indexes(b"".join(lines).lower())
            dirty = {bisect.bisect_right(starts, start) - 1 for _, start, _ in hits}
        out: list[bytes] = []
        found: list[Redaction] = []
        for index, line in enumerate(lines):
            if index in dirty or member in self._open_pem:
                line, redactions = self.redact_line(line, member=member, line_no=first_line_no + index)
                found += redactions
            out.append(line)
        return out, found

    def redact_block(self, block: bytes, *, member: str, first_line_no: int) -> tuple[bytes, list[Redaction]]:
        """A block of whole lines as one bytes object (no per-line work for the clean ones): one pre-filter pass
        finds the lines that can hold a secret, and only those (and lines inside an open private key) go
        through redact_line; every other byte is copied through unchanged."""
        if self._pseudonymiser is not None:
            lines = _split_lines(block)
            cleaned, found = self.redact_lines(lines, member=member, first_line_no=first_line_no)
            return b"".join(cleaned), found
        hits = [start for _, start, _ in self._triggers.find_matches_as_indexes(block.lower())]
        if not hits and member not in self._open_pem:
            return block, []
        out: list[bytes] = []
        found: list[Redaction] = []
        pos, line_no, hit, size = 0, first_line_no, 0, len(block)
        while pos < size:
            if member not in self._open_pem:
                while hit < len(hits) and hits[hit] < pos:
                    hit += 1
                if hit == len(hits):
                    out.append(block[pos:])
                    break
                start = max(pos, block.rfind(b"\n", pos, hits[hit]) + 1)
                line_no += block.count(b"\n", pos, start)
                out.append(block[pos:start])
                pos = start
            end = block.find(b"\n", pos)
            end = size if end < 0 else end + 1
            line, redactions = self.redact_line(block[pos:end], member=member, line_no=line_no)
            out.append(line)
            found += redactions
            line_no += 1
            pos = end
        return b"".join(out), found

    def redact_line(self, line: bytes, *, member: str, line_no: int) -> tuple[bytes, list[Redaction]]:
        """One log line, newline included or not; bytes outside masked spans come back unchanged."""
        in_pem = member in self._open_pem
        triggered = in_pem or bool(self._triggers.find_matches_as_indexes(line.lower()))
        if not triggered and self._pseudonymiser is None:
            return line, []
        body, eol = _split_eol(line)
        text = body.decode("utf-8", "surrogateescape")
        spans: list[_Span] = []
        start = 0
        if in_pem:
            end = _PEM_END.search(text)
            if end is not None:
                self._open_pem.discard(member)
                if text[:end.start()].strip():
                    spans.append(_Span(0, end.start(), "private-key", _tag("private-key"), recorded=False))
                start = end.end()
            elif _PEM_BODY.fullmatch(text) or _PEM_FULL_LINE.search(text):
                if not text.strip():
                    return line, []
                out = _tag("private-key")
                return out.encode() + eol, []
            else:
                self._open_pem.discard(member)
        if triggered:
            found, pem_open = self._rules.find(text, start, structured=False)
            if pem_open:
                self._open_pem.add(member)
            spans += found
        if not spans and self._pseudonymiser is None:
            return line, []
        out, placed = self._render(text, spans)
        redactions = [Redaction(span.rule, member, line_no, _excerpt(out, a, b)) for a, b, span in placed
                      if span.recorded]
        return out.encode("utf-8", "surrogateescape") + eol, redactions

    def redact_config(self, config: dict, *, member: str,
                      plugin_manifests: Mapping[str, dict] = _NO_MANIFESTS) -> tuple[dict, list[Redaction]]:
        """A redacted deep copy of `config` and what was masked; masked values stay masked on a second pass."""
        walk = _ConfigWalk(self, plugin_manifests)
        redacted = walk.walk(config, (), None)
        return redacted, [Redaction(rule, member, None, context) for rule, context in walk.found]

    def _render(self, text: str, spans: list[_Span]) -> tuple[str, list[tuple[int, int, _Span]]]:
        """Text with each span replaced and the rest pseudonymised, and where each replacement landed."""
        pieces, pos = [], 0
        for span in spans:
            pieces.append(text[pos:span.start])
            pos = span.end
        pieces.append(text[pos:])
        if self._pseudonymiser is not None:
            pieces = _pseudonymise(self._pseudonymiser, pieces)
        parts: list[str] = [pieces[0]]
        placed: list[tuple[int, int, _Span]] = []
        length = len(pieces[0])
        for span, piece in zip(spans, pieces[1:], strict=True):
            placed.append((length, length + len(span.replacement), span))
            parts += (span.replacement, piece)
            length += len(span.replacement) + len(piece)
        return "".join(parts), placed

def _pseudonymise(pseudonymiser: Pseudonymiser, pieces: list[str]) -> list[str]:
    """The pieces between masked spans, pseudonymised as one text (a host right after a masked password
    must still read as a host), with NUL standing in for each span; NUL in the text itself rules that
    out, and then each piece goes alone."""
    if not any("\0" in piece for piece in pieces):
        joined = pseudonymiser.text("\0".join(pieces)).split("\0")
        if len(joined) == len(pieces):
            return joined
    return [pseudonymiser.text(piece) for piece in pieces]


def _split_lines(block: bytes) -> list[bytes]:
    """Lines split at b"\\n" only (as readline splits them), each with its newline."""
    lines = [line + b"\n" for line in block.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    if not lines[-1]:
        lines.pop()
    return lines


def _split_eol(line: bytes) -> tuple[bytes, bytes]:
    if line.endswith(b"\r\n"):
        return line[:-2], b"\r\n"
    if line.endswith((b"\n", b"\r")):
        return line[:-1], line[-1:]
    return line, b""


def _excerpt(text: str, start: int, end: int) -> str:
    """Up to 40 characters either side of a replacement; undecodable bytes shown as \\xNN."""
    left = max(0, start - _CONTEXT_CHARS)
    piece = text[left:end + _CONTEXT_CHARS]
    piece = piece.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return ("…" if left else "") + piece + ("…" if end + _CONTEXT_CHARS < len(text) else "")


# ------------------------------------------------------------------------------------------- config walk

def _secret_setting_keys(manifest: Mapping[str, Any]) -> frozenset[str]:
    """Lower-cased keys a plugin manifest marks secret, top-level and in sections (mattermost#35214)."""
    schema = manifest.get("settings_schema") or {}
    settings = list(schema.get("settings") or [])
    for section in schema.get("sections") or []:
        settings += section.get("settings") or []
    return frozenset(str(s.get("key", "")).lower() for s in settings if isinstance(s, Mapping) and s.get("secret"))


def _label(path: tuple[str, ...]) -> str:
    label = ""
    for part in path:
        label += part if part.startswith("[") or not label else "." + part
    return label


def _field(path: tuple[str, ...]) -> str:
    return ".".join(p for p in path if not p.startswith("[")).lower()


class _ConfigWalk:
    def __init__(self, redactor: Redactor, manifests: Mapping[str, Mapping[str, Any]]):
        self._redactor = redactor
        self._plugin_secrets = {plugin_id: _secret_setting_keys(m) for plugin_id, m in manifests.items()}
        self.found: list[tuple[str, str]] = []  # (rule, context)
        self.secrets: list[tuple[str, str]] = []  # (label, original secret)

    def walk(self, value: Any, path: tuple[str, ...], rule: str | None) -> Any:
        if isinstance(value, Mapping):
            return {key: self.walk(child, (*path, str(key)), rule or self._rule(path, str(key)))
                    for key, child in value.items()}
        if isinstance(value, list):
            return [self.walk(child, (*path, f"[{i}]"), rule) for i, child in enumerate(value)]
        if not isinstance(value, str) or not value or _already_masked(value):
            return value  # booleans, numbers, null, empty and already-masked strings
        if rule is not None:
            if _MASKED_URL.search(value) and not text_secrets(value):
                return value  # a DSN Mattermost already redacted partially (****:****@host)
            return self._mask(value, path, rule)
        if _field(path) in _LOGGING_FIELDS:
            return self._logging_json(value, path)
        return self._text(value, path)

    def _rule(self, parent: tuple[str, ...], key: str) -> str | None:
        if _field((*parent, key)) in _MASKED_FIELDS:
            return "config-field"
        keys = [p for p in parent if not p.startswith("[")]
        if (len(keys) == 3 and keys[0].lower() == "pluginsettings" and keys[1].lower() == "plugins"
                and key.lower() in self._plugin_secrets.get(keys[2], ())):
            return "plugin-secret"
        return "key-name" if is_secret_key(key) else None

    def _mask(self, value: str, path: tuple[str, ...], rule: str) -> str:
        label = _label(path)
        self.found.append((rule, f"{label}: {MASK}"))
        self.secrets.append((label, value))
        self.secrets += [(f"{label}#{inner_rule}", secret) for inner_rule, secret in text_secrets(value)]
        return MASK

    def _logging_json(self, value: str, path: tuple[str, ...]) -> str:
        try:
            parsed = json.loads(value)
        except ValueError:
            return self._text(value, path)
        if not isinstance(parsed, dict | list):
            return self._text(value, path)
        walked = self.walk(parsed, path, None)
        return value if walked == parsed else json.dumps(walked)

    def _text(self, value: str, path: tuple[str, ...]) -> str:
        redactor = self._redactor
        spans, _ = redactor._rules.find(value, structured=True)
        if not spans:
            pseudonymiser = redactor._pseudonymiser
            return pseudonymiser.value(path[-1], value) if pseudonymiser is not None else value
        out, placed = redactor._render(value, spans)
        label = _label(path)
        for start, end, span in placed:
            if span.recorded:
                self.found.append((span.rule, f"{label}: {_excerpt(out, start, end)}"))
            self.secrets += [(f"{label}#{span.rule}", secret) for secret in span.secrets]
        if any(span.rule in CREDENTIAL_URL_RULES and span.secrets for span in spans):
            self.secrets.append((f"{label}#whole-url", value))  # the URL with its password turns up whole, too
        return out


def config_secrets(config: Mapping[str, Any], *,
                   plugin_manifests: Mapping[str, dict] = _NO_MANIFESTS) -> dict[str, str]:
    """Every secret value in a raw config.json, labelled by its dotted path: exactly what redaction masks."""
    walk = _ConfigWalk(Redactor(), plugin_manifests)
    walk.walk(config, (), None)
    found: dict[str, str] = {}
    for label, secret in walk.secrets:
        name, n = label, 1
        while name in found and found[name] != secret:
            n += 1
            name = f"{label}-{n}"
        found[name] = secret
    return found

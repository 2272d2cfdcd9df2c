"""Keyed pseudonyms for the people and machines named in a support packet.

Usernames, emails, IP addresses and host names become `user-<8 hex>`, `user-<8 hex>@host-<8 hex>.example`,
`ip-<8 hex>` and `host-<8 hex>.example`. Each pseudonym is an HMAC-SHA256 of the value under the admin's
case key, so the same value maps to the same pseudonym in every file and in every packet made with that key,
yet nobody without the key can test a guess. The key lives only in this object: nothing here writes it,
and no mapping table is kept, so there is nothing to leak (unlike a plaintext map file next to the packet).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re

# Top-level domains that mark a dotted word as a host name rather than a file name: `server.go`,
# `config.json` or `image.png` stay as they are. A host inside a URL or an email needs no such proof.
_HOST_TLDS = frozenset((
    "com", "net", "org", "edu", "gov", "mil", "int", "io", "co", "info", "biz", "cloud", "dev", "app", "online",
    "tech", "site", "example", "test", "invalid", "local", "localdomain", "internal", "intranet", "corp", "lan",
    "home", "private", "us", "uk", "de", "fr", "nl", "be", "ch", "at", "se", "no", "fi", "dk", "es", "it", "ie",
    "eu", "ca", "au", "nz", "jp", "cn", "in", "br", "mx", "ru", "za", "kr", "tw", "sg", "hk",
))
# Public services whose names identify nobody: keeping them tells support which vendor endpoint was called.
_PUBLIC_DOMAINS = (
    "mattermost.com", "mattermost.org", "amazonaws.com", "github.com", "gitlab.com", "google.com",
    "googleapis.com", "microsoft.com", "microsoftonline.com", "office365.com", "youtube.com", "linkedin.com",
    "vimeo.com",
)
_MENTIONS_KEPT = frozenset({"all", "here", "channel"})
_USER_KEYS = frozenset({"userid", "username", "loginid"})

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOTTED = rf"{_LABEL}(?:\.{_LABEL})+"
_PSEUDONYM = re.compile(r"(?:user|host|ip)-[0-9a-f]{8}(?:\.example)?")
# Each pass starts with a literal (or runs only when a cheap substring test says it can match), because
# Python's regex engine scans fast for a literal but tries an alternation at every position of every line.
_JSON_USER = re.compile(r'(?P<key>"(?:user_id|username|user_name|login_id)"\s*:\s*")(?P<value>[^"\\\0]+)(?=")')
_KV_USER = re.compile(r"(?P<key>(?<![\w-])(?:user_id|username|user_name|login_id)=)(?P<value>[^\s&\"',;\0]+)")
_AT_FORMS = re.compile(
    rf"(?P<email>(?<![\w.%+-])[\w.%+-]+@{_DOTTED})"
    r"|(?<![^\s(\[{\"'>,;])@(?P<mention>[A-Za-z0-9](?:[\w.-]*[A-Za-z0-9])?)"
)
_URL_HOST = re.compile(rf"(?P<prefix>://(?:[^\s/?#@\"'<>]*@)?)(?P<host>{_DOTTED})")
_IPV4_HINT = re.compile(r"\.\d{1,3}\.\d{1,3}\.\d")
_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)")
_IPV6_HINT = re.compile(r"::|:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
# A host name is found by its top-level domain first (a fast literal search for the dot), then read leftwards.
_TLD = re.compile(r"\.(?:" + "|".join(sorted(_HOST_TLDS, key=len, reverse=True)) + r")(?![\w-]|\.[A-Za-z0-9])",
                  re.IGNORECASE)
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
_DOTTED_NAME = re.compile(_DOTTED)
# An LDAP DN ending in domain components (cn=alice,ou=people,dc=contoso,dc=com): the domain is a host name,
# and cn/uid values name people or service accounts.
_LDAP_DN = re.compile(
    r"(?i)(?<![\w-])(?P<rdns>(?:[a-z]+=[^,=\"\\\n]+,\s*)*)(?P<dcs>dc=[^,=\"\\\s]+(?:,\s*dc=[^,=\"\\\s]+)+)"
)
_LDAP_RDN = re.compile(r"(?i)(?P<attr>[a-z]+)=(?P<value>[^,]+)")
_LDAP_PERSON_ATTRIBUTES = frozenset({"cn", "uid"})


class Pseudonymiser:
    """Replaces identities with keyed pseudonyms; same key and value give the same pseudonym everywhere."""

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("the pseudonymisation key must be at least 16 bytes, or pseudonyms can be guessed")
        self._key = key

    def __repr__(self) -> str:
        return "Pseudonymiser(key=<hidden>)"

    def _digest(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:8]

    def user(self, name: str) -> str:
        if _PSEUDONYM.fullmatch(name):
            return name
        return f"user-{self._digest('user', name.lower())}"

    def host(self, name: str) -> str:
        name = name.lower().rstrip(".")
        if _PSEUDONYM.fullmatch(name) or _is_public(name):
            return name
        return f"host-{self._digest('host', name)}.example"

    def ip(self, address: str) -> str:
        """Loopback, unspecified and link-local addresses identify nobody and stay as they are."""
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return address
        if parsed.is_loopback or parsed.is_unspecified or parsed.is_link_local:
            return address
        return f"ip-{self._digest('ip', parsed.compressed)}"

    def email(self, address: str) -> str:
        local, _, domain = address.rpartition("@")
        if _PSEUDONYM.fullmatch(local) and _PSEUDONYM.fullmatch(domain):
            return address
        return f"{self.user(address)}@{self.host(domain)}"

    def value(self, key: str, value: str) -> str:
        """A config value: a username setting is a user as a whole; anything else is free text."""
        if key.replace("_", "").replace("-", "").lower() in _USER_KEYS or key.lower().endswith("username"):
            return self.email(value) if "@" in value and "." in value else self.user(value)
        return self.text(value)

    def text(self, text: str) -> str:
        """Free text or a log line: user fields, emails, @mentions, IPs and host names."""
        if '"user' in text or '"login_id"' in text:
            text = _JSON_USER.sub(self._user_field, text)
        if "user_id=" in text or "username=" in text or "user_name=" in text or "login_id=" in text:
            text = _KV_USER.sub(self._user_field, text)
        if "@" in text:
            text = _AT_FORMS.sub(self._at_form, text)
        if "://" in text:
            text = _URL_HOST.sub(self._url_host, text)
        if _IPV4_HINT.search(text):
            text = _IPV4.sub(lambda m: self.ip(m.group()), text)
        if _IPV6_HINT.search(text):
            # Only real addresses: times (12:34:56) and MAC-like runs also match the shape.
            text = _IPV6.sub(lambda m: self.ip(m.group()) if _is_ipv6(m.group()) else m.group(), text)
        if "." in text:
            text = self._hosts(text)
        if "dc=" in text or "DC=" in text:
            text = _LDAP_DN.sub(self._ldap_dn, text)
        return text

    def _ldap_dn(self, match: re.Match[str]) -> str:
        values = [part.split("=", 1)[1].strip() for part in match.group("dcs").split(",")]
        domain = self.host(".".join(values))
        if domain.endswith(".example") and _PSEUDONYM.fullmatch(domain):
            dcs = f"dc={domain.removesuffix('.example')},dc=example"
        else:
            dcs = match.group("dcs")
        rdns = _LDAP_RDN.sub(
            lambda m: f"{m['attr']}={self.user(m['value'])}" if m["attr"].lower() in _LDAP_PERSON_ATTRIBUTES
            else m.group(), match.group("rdns"))
        return rdns + dcs

    def _user_field(self, match: re.Match[str]) -> str:
        return match.group("key") + self.user(match.group("value"))

    def _at_form(self, match: re.Match[str]) -> str:
        if match.group("email") is not None:
            return self.email(match.group("email"))
        mention = match.group("mention")
        return "@" + (mention if mention.lower() in _MENTIONS_KEPT else self.user(mention))

    def _url_host(self, match: re.Match[str]) -> str:
        host = match.group("host")
        return match.group("prefix") + (self.ip(host) if _IPV4.fullmatch(host) else self.host(host))

    def _hosts(self, text: str) -> str:
        parts: list[str] = []
        done = 0
        for match in _TLD.finditer(text):
            start = match.start()
            while start > done and text[start - 1] in _HOST_CHARS:
                start -= 1
            name = text[start:match.end()].lstrip(".-")
            start = match.end() - len(name)
            before = text[start - 1] if start else " "
            if before.isalnum() or before in "_@" or not _DOTTED_NAME.fullmatch(name):
                continue
            parts += (text[done:start], self.host(name))
            done = match.end()
        return "".join(parts) + text[done:] if parts else text


def _is_public(host: str) -> bool:
    return any(host == d or host.endswith("." + d) for d in _PUBLIC_DOMAINS)


def _is_ipv6(text: str) -> bool:
    if "::" not in text and text.count(":") != 7:
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True

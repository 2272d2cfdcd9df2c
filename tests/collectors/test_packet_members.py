"""Safe parsing of a packet's YAML and JSON members: nesting, aliases and size are measured before anything is
built, so a hostile member ends as a sentence instead of a crash."""

from __future__ import annotations

import io
import zipfile

import pytest

from collectors import packet_archive as pa
from collectors import packet_members


def archive_of(members: dict[str, bytes]) -> pa.Archive:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    archive, _ = pa.open_archive(out.getvalue(), "test.zip")
    return archive


def load(kind: str, content: bytes) -> tuple[object, dict[str, str]]:
    name = "diagnostics.yaml" if kind == "yaml" else "sanitized_config.json"
    unreadable: dict[str, str] = {}
    loader = packet_members.load_yaml if kind == "yaml" else packet_members.load_json
    return loader(archive_of({name: content}), name, unreadable), unreadable


@pytest.mark.parametrize("content", [b"[" * 100_000, b"a: " + b"[" * 100_000, b"a: " + b"{x: " * 50_000])
def test_deeply_bracketed_yaml_is_refused_not_crashing(content: bytes) -> None:
    """A diagnostics.yaml of 100k brackets used to kill the whole process inside libyaml; now it is one
    unreadable member with a sentence."""
    value, unreadable = load("yaml", content)
    assert value is None and "more than 64 levels deep" in unreadable["diagnostics.yaml"]


@pytest.mark.parametrize("content", [b'a: [x"' + b"[" * 20_000 + b'"]\n', b"- " * 20_000 + b"x\n",
                                     b"".join(b" " * i + b"k:\n" for i in range(200))])
def test_deep_yaml_that_hides_from_the_bracket_count_still_ends_in_a_sentence(content: bytes) -> None:
    """Nesting the quick count cannot see (a stray quote, block-style nesting) is parsed by the safe loader and
    refused with a sentence, never a crash."""
    value, unreadable = load("yaml", content)
    assert value is None and "diagnostics.yaml" in unreadable


def test_brackets_inside_quoted_strings_do_not_count() -> None:
    """A real member whose strings happen to hold many brackets is still read."""
    value, unreadable = load("yaml", b'server: {motd: "' + b"[" * 500 + b'"}\nversion: 15.10\n')
    assert unreadable == {} and isinstance(value, dict) and value["version"] == "15.10"
    value, unreadable = load("json", b'{"SiteName": "' + b"{[" * 500 + b'", "A": [[1]]}')
    assert unreadable == {} and isinstance(value, dict) and value["A"] == [[1]]


def test_deep_json_is_refused() -> None:
    """A deeply nested sanitized_config.json is one unreadable member, not a RecursionError."""
    value, unreadable = load("json", b'{"a":' * 100_000 + b"1" + b"}" * 100_000)
    assert value is None and "more than 64 levels deep" in unreadable["sanitized_config.json"]


def test_yaml_alias_bomb_is_refused() -> None:
    """A billion-laughs diagnostics.yaml is refused before it is expanded."""
    lines = [b'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [b"a%d: &a%d [%s]" % (i, i, b",".join([b"*a%d" % (i - 1)] * 9)) for i in range(1, 10)]
    value, unreadable = load("yaml", b"\n".join(lines) + b"\n")
    assert value is None and "aliases" in unreadable["diagnostics.yaml"]


def test_few_yaml_aliases_are_fine() -> None:
    """Ordinary YAML with an anchor or two is still read, with strings staying strings."""
    value, unreadable = load("yaml", b"base: &b {v: 1.10}\nother: *b\n")
    assert unreadable == {} and value == {"base": {"v": "1.10"}, "other": {"v": "1.10"}}


def test_recursive_yaml_alias_is_refused() -> None:
    """A YAML node that contains itself is refused with a sentence."""
    value, unreadable = load("yaml", b"a: &x [*x]\n")
    assert value is None and "diagnostics.yaml" in unreadable


def test_non_utf8_yaml_and_json_say_so() -> None:
    """Members with bytes that are not UTF-8 are still read, with a sentence saying values may be garbled."""
    value, unreadable = load("yaml", b"site: Northwind Ch\xe4t\n")
    assert isinstance(value, dict) and "not UTF-8" in unreadable["diagnostics.yaml"]
    value, unreadable = load("json", b'{"site": "Ch\xe4t"}')
    assert isinstance(value, dict) and "not UTF-8" in unreadable["sanitized_config.json"]


def test_json_with_a_number_past_the_digit_limit_says_so() -> None:
    value, unreadable = load("json", b'{"SqlSettings": {"MaxIdleConns": ' + b"9" * 5_000 + b"}}")
    assert value is None
    assert unreadable["sanitized_config.json"] == ("sanitized_config.json holds a number of more than 4,300 digits, "
                                                   "which no Mattermost writes, so its facts are missing.")


@pytest.mark.parametrize(("kind", "content"), [("json", b'{"ServiceSettings": {"SiteURL": "https://\\ud800x"}}'),
                                               ("yaml", b'a: "' + b"[" * 70 + b'"\nSiteURL: "https://\\ud800x"\n')])
def test_lone_surrogate_escapes_are_read_as_replacement_characters(kind: str, content: bytes) -> None:
    """A \\ud800 escape is no valid Unicode, and a page or table that meets one cannot encode it (the YAML case has
    brackets in a string, which sends it to the pure-Python loader: libyaml refuses the escape itself)."""
    value, unreadable = load(kind, content)
    site_url = value["ServiceSettings"]["SiteURL"] if kind == "json" else value["SiteURL"]
    assert site_url == "https://\N{REPLACEMENT CHARACTER}x"
    [why] = unreadable.values()
    assert "not valid Unicode" in why and "garbled" in why


def test_valid_escapes_and_surrogate_pairs_are_kept() -> None:
    value, unreadable = load("json", b'{"SiteName": "Caf\\u00e9 \\ud83d\\ude00 \\u0026"}')
    assert unreadable == {} and value["SiteName"] == "Caf\u00e9 \U0001f600 &"

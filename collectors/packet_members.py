"""The text members of a support packet (YAML and JSON) parsed safely: a packet is evidence from a sick or hostile
system, so nesting, aliases and expanded size are measured before anything is built, and every refusal is a
sentence in `unreadable` instead of a crash.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from typing import Any

import yaml

from collectors.packet_archive import Archive, decode, read_member, valid_unicode

MAX_NESTING_DEPTH = 64  # levels of YAML and JSON nesting; Mattermost's own members use fewer than 10
MAX_YAML_ALIASES = 100  # Mattermost writes no YAML aliases at all
MAX_YAML_NODES = 1_000_000  # YAML nodes once aliases are expanded (a diagnostics.yaml has a few hundred)
MAX_SAFE_YAML_BYTES = 1024 * 1024  # suspicious YAML is parsed by the slow pure-Python loader only up to this size


def load_yaml(archive: Archive, name: str, unreadable: dict[str, str]) -> dict[str, Any] | None:
    raw = read_member(archive, name, unreadable)
    if raw is None:
        return None
    text = decode(name, raw, unreadable)
    # libyaml's composer recurses in C and crashes the process on deep nesting, so it only gets what is plainly
    # shallow; anything else goes to the pure-Python loader, where the depth ends in a RecursionError.
    shallow = bracket_depth(raw, skip_strings=False) <= MAX_NESTING_DEPTH and not _deep_block(raw)
    if not shallow and bracket_depth(raw, skip_strings=True) > MAX_NESTING_DEPTH:
        unreadable[name] = _too_deep(name, "YAML")
        return None
    if not shallow and len(raw) > MAX_SAFE_YAML_BYTES:
        unreadable[name] = (f"{name} is nested too deeply to be read safely at {len(raw) // 2**10:,} KB, so its "
                            "facts are missing.")
        return None
    # The base loader keeps every scalar a string: "15.10" stays a version instead of becoming 15.1.
    loader_class = getattr(yaml, "CBaseLoader", yaml.BaseLoader) if shallow else yaml.BaseLoader
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is not None and (problem := _yaml_problem(name, node)):
            unreadable[name] = problem
            return None
        value = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        unreadable[name] = f"{name} is not valid YAML ({problem}{where}), so its facts are missing."
        return None
    except RecursionError:
        unreadable[name] = _too_deep(name, "YAML")
        return None
    finally:
        loader.dispose()
    if not isinstance(value, dict):
        unreadable[name] = f"{name} does not hold a YAML mapping, so its facts are missing."
        return None
    return _mended(name, raw, value, unreadable)


def load_json(archive: Archive, name: str, unreadable: dict[str, str]) -> dict[str, Any] | None:
    raw = read_member(archive, name, unreadable)
    if raw is None:
        return None
    if bracket_depth(raw, skip_strings=True) > MAX_NESTING_DEPTH:
        unreadable[name] = _too_deep(name, "JSON")
        return None
    try:
        value = json.loads(decode(name, raw, unreadable))
    except RecursionError:
        unreadable[name] = _too_deep(name, "JSON")
        return None
    except json.JSONDecodeError as exc:
        unreadable[name] = (f"{name} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}), so its "
                            "facts are missing.")
        return None
    except ValueError:  # the parser's only other one: an integer literal past Python's limit on digits
        unreadable[name] = (f"{name} holds a number of more than {sys.get_int_max_str_digits():,} digits, which no "
                            "Mattermost writes, so its facts are missing.")
        return None
    if not isinstance(value, dict):
        unreadable[name] = f"{name} does not hold a JSON object, so its facts are missing."
        return None
    return _mended(name, raw, value, unreadable)


def _too_deep(name: str, kind: str) -> str:
    return (f"{name} nests {kind} more than {MAX_NESTING_DEPTH} levels deep, deeper than any real packet member, "
            "so it was not parsed and its facts are missing.")


def _mended(name: str, raw: bytes, value: dict[str, Any], unreadable: dict[str, str]) -> dict[str, Any]:
    """`value` with lone surrogates replaced, said as undecodable bytes are; only a member with such an escape in
    it is walked."""
    if _SURROGATE_ESCAPE.search(raw) is None:
        return value
    mended = _valid(value)
    if mended != value:
        unreadable.setdefault(name, f"{name} has text that is not valid Unicode (an escape such as \\ud800); it was "
                                    "read as \N{REPLACEMENT CHARACTER}, so some values may be garbled.")
    return mended


def _valid(value: Any) -> Any:
    if isinstance(value, str):
        return valid_unicode(value)
    if isinstance(value, dict):
        return {_valid(key): _valid(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_valid(item) for item in value]
    return value


_SURROGATE_ESCAPE = re.compile(rb"\\(?:u|U0000)[dD][89a-fA-F]")
_QUOTED = re.compile(rb'"(?:[^"\\\n]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = [0] * 256
for _open, _close in (b"[]", b"{}"):
    _BRACKET_STEP[_open], _BRACKET_STEP[_close] = 1, -1
_DEEP_BLOCK = re.compile(rb"\n[ \t?:-]{%d}" % MAX_NESTING_DEPTH)


def bracket_depth(data: bytes, *, skip_strings: bool) -> int:
    """How many [ and { are open at most, counted over the bytes without parsing (a bracket inside a one-line
    double-quoted string is not counted when `skip_strings`)."""
    if data.count(b"[") + data.count(b"{") <= MAX_NESTING_DEPTH:
        return 0
    if skip_strings:
        data = _QUOTED.sub(b"", data)
    brackets = data.translate(None, _NOT_BRACKETS)
    return max(itertools.accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


def _deep_block(data: bytes) -> bool:
    """A line indented (or led by - ? : indicators) as far as MAX_NESTING_DEPTH block levels could need."""
    return _DEEP_BLOCK.search(data) is not None or _DEEP_BLOCK.match(b"\n" + data[:MAX_NESTING_DEPTH]) is not None


def _yaml_problem(name: str, root: yaml.Node) -> str | None:
    """Depth, aliases and expanded size of a composed YAML document, measured on the node graph (an alias is the
    same node object met again), so a billion-laughs document is refused before anything is expanded."""
    sizes: dict[int, int] = {}
    aliases = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    depth = 0
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            depth -= 1
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_YAML_NODES:
                how = " through its aliases (a \"billion laughs\" document)" if aliases else ""
                return (f"{name} expands to more than {MAX_YAML_NODES:,} YAML values{how}, so it was not read and "
                        "its facts are missing.")
            continue
        if key in sizes:
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                return (f"{name} uses more than {MAX_YAML_ALIASES} YAML aliases, which Mattermost never writes (it "
                        "looks like a \"billion laughs\" document), so it was not read and its facts are missing.")
            continue
        if key in on_path:
            return f"{name} holds a YAML alias to itself, so it was not read and its facts are missing."
        depth += 1
        if depth > MAX_NESTING_DEPTH:
            return _too_deep(name, "YAML")
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                return f"{name} holds a YAML alias to itself, so it was not read and its facts are missing."
            stack.append((child, False))
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []

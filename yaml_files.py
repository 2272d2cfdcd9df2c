"""YAML files validated against pydantic models: every problem named by file, line and field, so whoever edits
the file (a rollout checklist, an implementation plan, a playbook) can fix it without reading Python."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~15x faster on a 300-item checklist
SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
Slug = Annotated[str, StringConstraints(pattern=rf"^{SLUG}$")]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    # strict: a quoted "5" where a number belongs is a mistake in the file, not something to coerce.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    line: int
    column: int
    field: str | None
    message: str


class YamlFileError(Exception):
    """A YAML file that cannot be used; the message names file, line and field of every problem."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(_describe(path, p) for p in problems))

    @property
    def line(self) -> int:
        return self.problems[0].line

    @property
    def field(self) -> str | None:
        return self.problems[0].field


def _describe(path: Path, problem: Problem) -> str:
    where = f"{path}:{problem.line}:{problem.column}" if problem.field is None else f"{path}:{problem.line}"
    return f"{where}: {problem.field}: {problem.message}" if problem.field else f"{where}: {problem.message}"


def field_name(loc: Loc) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else part)
    return name


def _node_at(root: yaml.Node, loc: Loc) -> yaml.Node:
    """The deepest YAML node along loc, so a problem points at the line that holds the bad value."""
    node = root
    for index, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                break
            # The last step points at the key: it names the field, and a missing or unknown field has no value.
            node = match[0] if index == len(loc) - 1 else match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return node


def _problem(root: yaml.Node, loc: Loc, message: str) -> Problem:
    mark = _node_at(root, loc).start_mark
    return Problem(line=mark.line + 1, column=mark.column + 1, field=field_name(loc) or "(document)", message=message)


def _encoding_error(path: Path, exc: UnicodeDecodeError) -> YamlFileError:
    data: bytes = exc.object
    line_start = data.rfind(b"\n", 0, exc.start) + 1
    line = data.count(b"\n", 0, exc.start) + 1
    byte = data[exc.start : exc.start + 1].hex()
    message = f"the file is not UTF-8 text (byte 0x{byte} cannot be read); save it with UTF-8 encoding"
    return YamlFileError(path, [Problem(line, exc.start - line_start + 1, None, message)])


def _unprintable_error(path: Path, exc: yaml.reader.ReaderError) -> YamlFileError:
    before = path.read_text(encoding="utf-8")[: exc.position]
    line, column = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
    # PyYAML gives the character as its code point when it read a str.
    code = exc.character if isinstance(exc.character, int) else ord(exc.character)
    message = f"malformed YAML: the control character U+{code:04X} is not allowed in a YAML file; delete it"
    return YamlFileError(path, [Problem(line, column, None, message)])


def _parse(path: Path) -> tuple[yaml.Node, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, exc) from exc
    except OSError as exc:
        raise YamlFileError(path, [Problem(1, 1, None, f"cannot read the file: {exc.strerror}")]) from exc
    try:
        root = yaml.compose(text, Loader=FAST_LOADER)
        data = yaml.load(text, Loader=FAST_LOADER)
    except yaml.reader.ReaderError as exc:
        raise _unprintable_error(path, exc) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlFileError(path, [Problem(line, column, None, f"malformed YAML: {exc.problem}")]) from exc
    if root is None:
        raise YamlFileError(path, [Problem(1, 1, None, "the file is empty")])
    return root, data


def validate_yaml(path: Path, model: type[M], check: Callable[[M], list[tuple[Loc, str]]]) -> M:
    """`path` parsed into `model`, then `check`ed; raises YamlFileError naming file, line and field."""
    root, data = _parse(path)
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(root, tuple(err["loc"]), err["msg"]) for err in exc.errors()]
        raise YamlFileError(path, problems) from exc
    problems = [_problem(root, loc, message) for loc, message in check(parsed)]
    if problems:
        raise YamlFileError(path, problems)
    return parsed

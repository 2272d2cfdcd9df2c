"""Load and validate the checklist YAML files, pointing every problem at its file, line and field."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Generic, Literal, NamedTuple, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

HERE = Path(__file__).resolve().parent
ROLLOUT_PATH = HERE / "rollout.yaml"
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~15x faster on a 300-item checklist
PLAN_PATH = HERE / "implementation_plan.yaml"

# Names of the checks that can confirm an item against a live server; a typo in the YAML must fail loudly.
VERIFY_RULES: frozenset[str] = frozenset(
    {
        "license_uploaded",
        "site_url_https",
        "smtp_configured",
        "push_notifications_configured",
        "elasticsearch_at_scale",
        "metrics_enabled",
        "ldap_or_saml_configured",
        "mfa_enforced",
        "support_url_customised",
        "legal_links_set",
        "ha_cluster_configured",
        "file_storage_configured",
        "data_retention_configured",
    }
)

_SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
Slug = Annotated[str, StringConstraints(pattern=rf"^{_SLUG}$")]
SectionId = Annotated[str, StringConstraints(pattern=rf"^{_SLUG}\.{_SLUG}$")]
ItemId = Annotated[str, StringConstraints(pattern=rf"^{_SLUG}\.{_SLUG}\.{_SLUG}$")]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
Url = Annotated[str, StringConstraints(pattern=r"^https://\S+$")]
PositiveInt = Annotated[int, Field(ge=1)]


class Strict(BaseModel):
    # strict: a quoted "5" where a number belongs is a mistake in the file, not something to coerce.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Item(Strict):
    id: ItemId
    text: Text
    docs: list[Url] = []
    verify: str | None = None

    @field_validator("verify")
    @classmethod
    def _known_rule(cls, value: str | None) -> str | None:
        if value is not None and value not in VERIFY_RULES:
            raise ValueError(f"unknown verify rule {value!r}; known rules: {', '.join(sorted(VERIFY_RULES))}")
        return value


class Section(Strict):
    id: SectionId
    number: PositiveInt
    title: Text
    items: list[Item] = Field(min_length=1)


class Phase(Strict):
    id: Slug
    title: Text
    summary: Text | None = None
    sections: list[Section] = Field(min_length=1)


class Rollout(Strict):
    version: Literal[1]
    title: Text
    phases: list[Phase] = Field(min_length=1)

    def items(self) -> Iterator[tuple[Phase, Section, Item]]:
        for phase in self.phases:
            for section in phase.sections:
                for item in section.items:
                    yield phase, section, item


class Task(Strict):
    id: Slug
    title: Text
    summary: Text
    typical_days: PositiveInt
    depends_on: list[Slug] = []


class TeamRole(Strict):
    role: Text
    responsibilities: list[Text] = Field(min_length=1)


class SizingRow(Strict):
    users_up_to: PositiveInt
    component: Text
    quantity: PositiveInt
    vcpus: PositiveInt
    memory_gb: PositiveInt
    storage_gb_min: PositiveInt
    storage_gb_max: PositiveInt


class SecurityFeature(Strict):
    id: Slug
    title: Text
    summary: Text


class ImplementationPlan(Strict):
    version: Literal[1]
    title: Text
    tasks: list[Task] = Field(min_length=1)
    team: list[TeamRole] = Field(min_length=1)
    hardware_sizing: list[SizingRow] = Field(min_length=1)
    security_features: list[SecurityFeature] = Field(min_length=1)


Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    line: int
    column: int
    field: str | None
    message: str


class ChecklistError(Exception):
    """A checklist file that cannot be used; the message names file, line and field of every problem."""

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


def _field_name(loc: Loc) -> str:
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
    return Problem(line=mark.line + 1, column=mark.column + 1, field=_field_name(loc) or "(document)", message=message)


def _encoding_error(path: Path, exc: UnicodeDecodeError) -> ChecklistError:
    data: bytes = exc.object
    line_start = data.rfind(b"\n", 0, exc.start) + 1
    line = data.count(b"\n", 0, exc.start) + 1
    byte = data[exc.start : exc.start + 1].hex()
    message = f"the file is not UTF-8 text (byte 0x{byte} cannot be read); save it with UTF-8 encoding"
    return ChecklistError(path, [Problem(line, exc.start - line_start + 1, None, message)])


def _unprintable_error(path: Path, exc: yaml.reader.ReaderError) -> ChecklistError:
    before = path.read_text(encoding="utf-8")[: exc.position]
    line, column = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
    # PyYAML gives the character as its code point when it read a str.
    code = exc.character if isinstance(exc.character, int) else ord(exc.character)
    message = f"malformed YAML: the control character U+{code:04X} is not allowed in a YAML file; delete it"
    return ChecklistError(path, [Problem(line, column, None, message)])


def _parse(path: Path) -> tuple[yaml.Node, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, exc) from exc
    except OSError as exc:
        raise ChecklistError(path, [Problem(1, 1, None, f"cannot read the file: {exc.strerror}")]) from exc
    try:
        root = yaml.compose(text, Loader=FAST_LOADER)
        data = yaml.load(text, Loader=FAST_LOADER)
    except yaml.reader.ReaderError as exc:
        raise _unprintable_error(path, exc) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ChecklistError(path, [Problem(line, column, None, f"malformed YAML: {exc.problem}")]) from exc
    if root is None:
        raise ChecklistError(path, [Problem(1, 1, None, "the file is empty")])
    return root, data


def validate_yaml(path: Path, model: type[M], check: Callable[[M], list[tuple[Loc, str]]]) -> M:
    """`path` parsed into `model`, then `check`ed; raises ChecklistError naming file, line and field."""
    root, data = _parse(path)
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(root, tuple(err["loc"]), err["msg"]) for err in exc.errors()]
        raise ChecklistError(path, problems) from exc
    problems = [_problem(root, loc, message) for loc, message in check(parsed)]
    if problems:
        raise ChecklistError(path, problems)
    return parsed


def _duplicates(ids: list[tuple[Loc, str]]) -> list[tuple[Loc, str]]:
    first_seen: dict[str, Loc] = {}
    found = []
    for loc, value in ids:
        if value in first_seen:
            found.append((loc, f"duplicate id {value!r}, already used at {_field_name(first_seen[value])}"))
        else:
            first_seen[value] = loc
    return found


def _check_rollout(rollout: Rollout) -> list[tuple[Loc, str]]:
    ids: list[tuple[Loc, str]] = []
    found: list[tuple[Loc, str]] = []
    for p, phase in enumerate(rollout.phases):
        ids.append((("phases", p, "id"), phase.id))
        for s, section in enumerate(phase.sections):
            loc: Loc = ("phases", p, "sections", s)
            ids.append(((*loc, "id"), section.id))
            if not section.id.startswith(f"{phase.id}."):
                found.append(((*loc, "id"), f"section id must start with its phase id {phase.id!r}"))
            if section.number != s + 1:
                found.append(((*loc, "number"), f"sections are numbered in order; expected {s + 1}"))
            for i, item in enumerate(section.items):
                ids.append(((*loc, "items", i, "id"), item.id))
                if not item.id.startswith(f"{section.id}."):
                    found.append(((*loc, "items", i, "id"), f"item id must start with its section id {section.id!r}"))
    return found + _duplicates(ids)


def _check_plan(plan: ImplementationPlan) -> list[tuple[Loc, str]]:
    ids = [(("tasks", t, "id"), task.id) for t, task in enumerate(plan.tasks)]
    ids += [(("security_features", f, "id"), feature.id) for f, feature in enumerate(plan.security_features)]
    task_ids = {task.id for task in plan.tasks}
    found = _duplicates(ids)
    for t, task in enumerate(plan.tasks):
        for d, dependency in enumerate(task.depends_on):
            if dependency not in task_ids:
                found.append((("tasks", t, "depends_on", d), f"depends on unknown task {dependency!r}"))
            elif dependency == task.id:
                found.append((("tasks", t, "depends_on", d), "a task cannot depend on itself"))
    for r, row in enumerate(plan.hardware_sizing):
        if row.storage_gb_max < row.storage_gb_min:
            found.append((("hardware_sizing", r, "storage_gb_max"), "must not be below storage_gb_min"))
    return found + _cycles(plan, task_ids)


def _cycles(plan: ImplementationPlan, task_ids: set[str]) -> list[tuple[Loc, str]]:
    """Tasks that wait on each other in a loop could never be scheduled."""
    waiting = {task.id: set(task.depends_on) & task_ids for task in plan.tasks}
    while ready := [task_id for task_id, dependencies in waiting.items() if not dependencies]:
        for task_id in ready:
            del waiting[task_id]
        for dependencies in waiting.values():
            dependencies.difference_update(ready)
    return [(("tasks", t, "depends_on"), "is part of a dependency loop; remove one of its entries")
            for t, task in enumerate(plan.tasks) if task.id in waiting and task.id not in task.depends_on]


def load_rollout(path: Path | str | None = None) -> Rollout:
    """The roll-out checklist; raises ChecklistError naming file, line and field when it is invalid."""
    return validate_yaml(Path(path) if path else ROLLOUT_PATH, Rollout, _check_rollout)


def load_plan(path: Path | str | None = None) -> ImplementationPlan:
    """The implementation plan; raises ChecklistError naming file, line and field when it is invalid."""
    return validate_yaml(Path(path) if path else PLAN_PATH, ImplementationPlan, _check_plan)


M = TypeVar("M", bound=BaseModel)


class Loaded(NamedTuple, Generic[M]):
    model: M | None
    error: ChecklistError | None


class LastGood(Generic[M]):
    """Keeps the last valid version so an edit that breaks the file does not take the app down with it."""

    def __init__(self, loader: Callable[[Path], M]) -> None:
        self._loader = loader
        self.model: M | None = None

    def load(self, path: Path | str) -> Loaded[M]:
        try:
            self.model = self._loader(Path(path))
        except ChecklistError as exc:
            return Loaded(self.model, exc)
        return Loaded(self.model, None)

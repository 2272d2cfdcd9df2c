"""Load and validate the checklist YAML files, pointing every problem at its file, line and field."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Generic, Literal, NamedTuple

from pydantic import Field, StringConstraints, field_validator

from yaml_files import SLUG, Loc, M, Slug, Strict, Text, YamlFileError, field_name, validate_yaml

HERE = Path(__file__).resolve().parent
ROLLOUT_PATH = HERE / "rollout.yaml"
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

SectionId = Annotated[str, StringConstraints(pattern=rf"^{SLUG}\.{SLUG}$")]
ItemId = Annotated[str, StringConstraints(pattern=rf"^{SLUG}\.{SLUG}\.{SLUG}$")]
Url = Annotated[str, StringConstraints(pattern=r"^https://\S+$")]
PositiveInt = Annotated[int, Field(ge=1)]


class Item(Strict):
    id: ItemId
    text: Text
    docs: list[Url] = Field(default_factory=list)
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
    depends_on: list[Slug] = Field(default_factory=list)


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


def _duplicates(ids: list[tuple[Loc, str]]) -> list[tuple[Loc, str]]:
    first_seen: dict[str, Loc] = {}
    found = []
    for loc, value in ids:
        if value in first_seen:
            found.append((loc, f"duplicate id {value!r}, already used at {field_name(first_seen[value])}"))
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
    """The roll-out checklist; raises YamlFileError naming file, line and field when it is invalid."""
    return validate_yaml(Path(path) if path else ROLLOUT_PATH, Rollout, _check_rollout)


def load_plan(path: Path | str | None = None) -> ImplementationPlan:
    """The implementation plan; raises YamlFileError naming file, line and field when it is invalid."""
    return validate_yaml(Path(path) if path else PLAN_PATH, ImplementationPlan, _check_plan)


class Loaded(NamedTuple, Generic[M]):
    model: M | None
    error: YamlFileError | None


class LastGood(Generic[M]):
    """Keeps the last valid version so an edit that breaks the file does not take the app down with it."""

    def __init__(self, loader: Callable[[Path], M]) -> None:
        self._loader = loader
        self.model: M | None = None

    def load(self, path: Path | str) -> Loaded[M]:
        try:
            self.model = self._loader(Path(path))
        except YamlFileError as exc:
            return Loaded(self.model, exc)
        return Loaded(self.model, None)

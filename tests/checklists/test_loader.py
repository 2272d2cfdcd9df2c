"""The shipped checklists load, and every kind of mistake in them is reported with file, line and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from checklists.loader import (
    PLAN_PATH,
    ROLLOUT_PATH,
    VERIFY_RULES,
    LastGood,
    YamlFileError,
    load_plan,
    load_rollout,
)

ITEM_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*){2}$")


def _edit(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    target = tmp_path / source.name
    target.write_text(text.replace(old, new), encoding="utf-8")
    return target


def _line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _assert_points_at(exc: YamlFileError, path: Path, line: int, field: str) -> None:
    message = str(exc)
    assert f"{path}:{line}" in message, message
    assert field in message, message
    assert exc.line == line


def test_rollout_has_three_phases_each_with_sections_and_items() -> None:
    rollout = load_rollout()
    assert [phase.id for phase in rollout.phases] == ["prepare", "roll-out", "review"]
    for phase in rollout.phases:
        assert phase.sections
        assert [section.number for section in phase.sections] == list(range(1, len(phase.sections) + 1))
        assert all(section.items for section in phase.sections)


def test_rollout_ids_are_unique_and_follow_phase_section_item() -> None:
    items = list(load_rollout().items())
    ids = [item.id for _, _, item in items]
    assert len(ids) == len(set(ids))
    for phase, section, item in items:
        assert ITEM_ID.match(item.id)
        assert item.id.startswith(f"{phase.id}.{section.id.split('.')[1]}.")
    assert {item.verify for _, _, item in items if item.verify} <= VERIFY_RULES


def test_plan_loads_with_consistent_tasks_and_sizing() -> None:
    plan = load_plan()
    ids = {task.id for task in plan.tasks}
    assert len(ids) == len(plan.tasks)
    assert all(set(task.depends_on) <= ids for task in plan.tasks)
    assert all(isinstance(task.typical_days, int) for task in plan.tasks)
    assert all(row.storage_gb_min <= row.storage_gb_max for row in plan.hardware_sizing)
    assert plan.team and plan.security_features


def test_duplicate_item_id_is_reported_at_the_second_use(tmp_path: Path) -> None:
    path = _edit(
        tmp_path, ROLLOUT_PATH, "id: prepare.define-project.use-cases", "id: prepare.define-project.stakeholders"
    )
    with pytest.raises(YamlFileError) as caught:
        load_rollout(path)
    lines = path.read_text().splitlines()
    second = [n for n, line in enumerate(lines, 1) if "id: prepare.define-project.stakeholders" in line][1]
    _assert_points_at(caught.value, path, second, "phases[0].sections[0].items[1].id")
    assert "duplicate id" in str(caught.value)


def test_unknown_field_is_reported(tmp_path: Path) -> None:
    path = _edit(
        tmp_path,
        ROLLOUT_PATH,
        "            verify: mfa_enforced\n",
        "            verify: mfa_enforced\n            owner: bob\n",
    )
    with pytest.raises(YamlFileError) as caught:
        load_rollout(path)
    _assert_points_at(caught.value, path, _line_of(path, "owner: bob"), "owner")


def test_bad_verify_name_is_reported(tmp_path: Path) -> None:
    path = _edit(tmp_path, ROLLOUT_PATH, "verify: license_uploaded", "verify: licence_uploaded")
    with pytest.raises(YamlFileError) as caught:
        load_rollout(path)
    _assert_points_at(caught.value, path, _line_of(path, "licence_uploaded"), "verify")
    assert "unknown verify rule" in str(caught.value)


def test_unknown_dependency_is_reported(tmp_path: Path) -> None:
    path = _edit(
        tmp_path, PLAN_PATH, "depends_on: [architecture-document, gather-software]", "depends_on: [architecture-doc]"
    )
    with pytest.raises(YamlFileError) as caught:
        load_plan(path)
    _assert_points_at(caught.value, path, _line_of(path, "architecture-doc]"), "tasks[2].depends_on[0]")


def test_string_where_a_number_belongs_is_reported(tmp_path: Path) -> None:
    path = _edit(tmp_path, PLAN_PATH, "    vcpus: 1\n", '    vcpus: "1"\n')
    with pytest.raises(YamlFileError) as caught:
        load_plan(path)
    _assert_points_at(caught.value, path, _line_of(path, 'vcpus: "1"'), "hardware_sizing[2].vcpus")


def test_malformed_yaml_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "rollout.yaml"
    path.write_text("version: 1\ntitle: [unclosed\nphases: []\n", encoding="utf-8")
    with pytest.raises(YamlFileError) as caught:
        load_rollout(path)
    assert re.search(rf"{re.escape(str(path))}:\d+:\d+: malformed YAML", str(caught.value))
    assert caught.value.line >= 2


def test_last_good_keeps_the_previous_valid_version(tmp_path: Path) -> None:
    holder = LastGood(load_plan)
    path = tmp_path / "implementation_plan.yaml"
    path.write_text(PLAN_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    first = holder.load(path)
    assert first.error is None and first.model is not None

    path.write_text("tasks: [\n", encoding="utf-8")
    broken = holder.load(path)
    assert broken.model is first.model
    assert isinstance(broken.error, YamlFileError)

    path.write_text(
        PLAN_PATH.read_text(encoding="utf-8").replace("typical_days: 5", "typical_days: 6"), encoding="utf-8"
    )
    fixed = holder.load(path)
    assert fixed.error is None and fixed.model is not first.model
    assert fixed.model.tasks[0].typical_days == 6


def test_tasks_waiting_on_each_other_in_a_loop_are_refused(tmp_path):
    path = _edit(tmp_path, PLAN_PATH, "depends_on: [architecture-document]\n",
                 "depends_on: [architecture-document, test-deployment]\n")
    with pytest.raises(YamlFileError) as caught:
        load_plan(path)
    assert "dependency loop" in str(caught.value) and "tasks[1].depends_on" in str(caught.value)

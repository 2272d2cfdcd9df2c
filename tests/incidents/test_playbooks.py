"""The shipped playbooks load; every mistake in a playbook file names file, line and field; channel names are valid."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from checklists.loader import YamlFileError
from incidents.playbooks import (
    PLAYBOOKS_DIR,
    WEBHOOK_EVENTS,
    ForwardingRule,
    Playbook,
    PlaybookStage,
    channel_name,
    load_playbooks,
    load_playbooks_lenient,
)

SECURITY = PLAYBOOKS_DIR / "security-incident.yaml"
MAJOR_OUTAGE = PLAYBOOKS_DIR / "major-outage.yaml"
VALID_CHANNEL_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])$")
DAY = date(2024, 5, 31)

MINIMAL = """\
version: 1
id: {id}
name: Minimal
stages:
  - name: Only
"""


def _copy_with(tmp_path: Path, old: str, new: str, source: Path = MAJOR_OUTAGE) -> Path:
    """A copy of a shipped playbook with one edit, alone in its own folder."""
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    target = tmp_path / source.name
    target.write_text(text.replace(old, new), encoding="utf-8")
    return target


def _line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def _error_for(path: Path) -> YamlFileError:
    with pytest.raises(YamlFileError) as caught:
        load_playbooks(path.parent)
    return caught.value


def _assert_points_at(exc: YamlFileError, path: Path, line: int, field: str, *words: str) -> None:
    message = str(exc)
    assert f"{path}:{line}: {field}:" in message, message
    for word in words:
        assert word in message, message
    assert (exc.path, exc.line, exc.field) == (path, line, field)


def _playbook(template: str = "incident-{date}-{slug}") -> Playbook:
    return Playbook(version=1, id="p", name="P", channel_name_template=template, stages=[PlaybookStage(name="S")])


# --- the shipped playbooks ---------------------------------------------------------------------------------------


def test_shipped_playbooks_load_with_their_stages() -> None:
    playbooks = load_playbooks()
    assert set(playbooks) == {"major-outage", "security-incident", "degraded-performance"}
    outage = playbooks["major-outage"]
    assert [stage.name for stage in outage.stages] == ["Triage", "Mitigate", "Resolve", "Postmortem"]
    assert all(stage.items for stage in outage.stages)
    assert outage.broadcast_channels
    rule = outage.forwarding[0]
    assert rule.source_channels == ["engineering/ops-alerts"]
    assert rule.keywords == ["error", "outage", "firing"]
    assert rule.regex
    assert outage.forwarding[1].users == ["pagerbot"]


def test_shipped_webhooks_use_a_reserved_domain_and_default_to_every_event() -> None:
    playbooks = load_playbooks()
    hooks = [hook for playbook in playbooks.values() for hook in playbook.webhooks]
    assert hooks
    assert all(hook.url.startswith("https://hooks.example.invalid/") for hook in hooks)
    assert playbooks["security-incident"].webhooks[0].events == list(WEBHOOK_EVENTS)
    assert playbooks["security-incident"].webhooks[1].events == ["started", "stage_changed", "ended"]


def test_loading_from_a_configured_folder_keeps_ids_from_the_files(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(MINIMAL.format(id="first"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a playbook", encoding="utf-8")
    playbooks = load_playbooks(tmp_path)
    assert list(playbooks) == ["first"]
    assert playbooks["first"].channel_name_template == "incident-{date}-{slug}"
    assert playbooks["first"].stages[0].items == []


# --- mistakes, each pointing at file, line and field ----------------------------------------------------------------


def test_duplicate_stage_name_differing_only_in_case(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, "- name: Resolve", "- name: mitigate")
    _assert_points_at(_error_for(path), path, _line_of(path, "name: mitigate"), "stages[2].name", "duplicate stage")


def test_duplicate_item_in_a_stage(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, "- Post the all-clear", "- Confirm the service works for users again")
    line = _line_of(path, "Confirm the service") + 2
    _assert_points_at(_error_for(path), path, line, "stages[2].items[2]", "duplicate item", "already item 1")


def test_invalid_regex_reports_the_regex_error(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, 'regex: "HTTP 5\\\\d\\\\d"', 'regex: "HTTP (5xx"')
    line = _line_of(path, "regex:")
    _assert_points_at(_error_for(path), path, line, "forwarding[0].regex", "'HTTP (5xx'", "missing ), unterminated")


def test_webhook_url_that_is_not_http(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, "url: https://hooks.example.invalid/incidents/security\n",
                      "url: ftp://hooks.example.invalid/incidents/security\n", SECURITY)
    _assert_points_at(_error_for(path), path, _line_of(path, "url:"), "webhooks[0].url", "https://")


def test_unknown_webhook_event(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, "events: [started, stage_changed, ended]", "events: [started, resolved]", SECURITY)
    _assert_points_at(_error_for(path), path, _line_of(path, "events:"), "webhooks[1].events[1]", "'ended'")


@pytest.mark.parametrize("bad", ["ops", "ops/alerts/more", "Ops/Alerts", "ops/ops alerts"])
def test_channel_reference_not_in_team_channel_form(tmp_path: Path, bad: str) -> None:
    path = _copy_with(tmp_path, "- engineering/town-square", f'- "{bad}"')
    line = _line_of(path, f'"{bad}"')
    _assert_points_at(_error_for(path), path, line, "broadcast_channels[0]", "team-name/channel-name")


def test_forwarding_source_channel_reference_is_checked_too(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, "source_channels: [engineering/support]", "source_channels: [support]")
    _assert_points_at(_error_for(path), path, _line_of(path, "[support]"), "forwarding[1].source_channels[0]")


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("outage-{day}-{slug}", ("unknown placeholder {day}", "{date}, {slug}, {seq}, {playbook}")),
        ("outage-{date-{slug}", ("unbalanced braces",)),
        ("outage-{seq:03d}", ("takes no format",)),
    ],
)
def test_channel_name_template_with_bad_placeholders(tmp_path: Path, template: str, words: tuple[str, ...]) -> None:
    path = _copy_with(tmp_path, '"outage-{date}-{slug}"', f'"{template}"')
    field = "channel_name_template"
    _assert_points_at(_error_for(path), path, _line_of(path, field), field, *words)


def test_unknown_field_and_missing_stages(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, "stages:\n", "steps:\n")
    message = str(_error_for(path))
    assert f"{path}:{_line_of(path, 'steps:')}: steps: Extra inputs are not permitted" in message
    assert ": stages: Field required" in message


def test_playbook_ids_must_be_unique_across_files_and_the_error_names_both(tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    second = tmp_path / "b.yaml"
    first.write_text(MINIMAL.format(id="same"), encoding="utf-8")
    second.write_text(MINIMAL.format(id="same"), encoding="utf-8")
    error = _error_for(second)
    _assert_points_at(error, second, 2, "id", str(first), "unique across playbook files")


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\nid: broken\nstages: [\n  - name: x\n", encoding="utf-8")
    message = str(_error_for(path))
    assert message.startswith(f"{path}:4:"), message
    assert "malformed YAML" in message


def test_bytes_that_are_not_utf8_give_a_sentence_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(MINIMAL.format(id="latin").replace("Minimal", "Caf\u00e9").encode("latin-1"))
    error = _error_for(path)
    expected = "the file is not UTF-8 text (byte 0xe9 cannot be read); save it with UTF-8 encoding"
    assert str(error) == f"{path}:3:10: {expected}"


def test_control_characters_give_a_sentence_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bell.yaml"
    path.write_text(MINIMAL.format(id="bell").replace("Minimal", "Mini\x07mal"), encoding="utf-8")
    message = str(_error_for(path))
    assert message.startswith(f"{path}:3:11: malformed YAML"), message
    assert "control character U+0007" in message


def test_empty_file_and_missing_or_empty_folder(tmp_path: Path) -> None:
    assert "no playbook (*.yaml) files" in str(_error_for(tmp_path / "nothing-here"))
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    assert str(_error_for(tmp_path / "empty.yaml")) == f"{tmp_path / 'empty.yaml'}:1:1: the file is empty"
    with pytest.raises(YamlFileError, match="folder does not exist"):
        load_playbooks(tmp_path / "missing")


# --- leniency ---------------------------------------------------------------------------------------------------


def test_lenient_loading_keeps_good_files_and_reports_each_bad_one(tmp_path: Path) -> None:
    (tmp_path / "a-good.yaml").write_text(MINIMAL.format(id="good"), encoding="utf-8")
    (tmp_path / "b-broken.yaml").write_text("version: 1\nid: [\n", encoding="utf-8")
    (tmp_path / "c-invalid.yaml").write_text(MINIMAL.format(id="Not A Slug"), encoding="utf-8")
    (tmp_path / "d-duplicate.yaml").write_text(MINIMAL.format(id="good"), encoding="utf-8")
    (tmp_path / "e-also-good.yaml").write_text(MINIMAL.format(id="also-good"), encoding="utf-8")
    playbooks, errors = load_playbooks_lenient(tmp_path)
    assert list(playbooks) == ["good", "also-good"]
    assert [error.path.name for error in errors] == ["b-broken.yaml", "c-invalid.yaml", "d-duplicate.yaml"]
    assert errors[1].field == "id"
    assert str(tmp_path / "a-good.yaml") in str(errors[2])


# --- channel names ----------------------------------------------------------------------------------------------


def test_channel_name_uses_the_template_and_a_slug_of_the_incident_name() -> None:
    outage = load_playbooks()["major-outage"]
    assert channel_name(outage, "  Login FAILS for EU users!! ", DAY) == "outage-2024-05-31-login-fails-for-eu-users"


def test_channel_name_transliterates_and_strips_other_scripts() -> None:
    name = channel_name(_playbook("{slug}"), "Café Zürich – Straße Ørsted 数据库 down", DAY)
    assert name == "cafe-zurich-strasse-orsted-down"


@pytest.mark.parametrize("incident_name", ["", "   ", "数据库", "🔥🔥", "---"])
def test_channel_name_falls_back_to_incident_when_the_slug_is_empty(incident_name: str) -> None:
    assert channel_name(_playbook("{slug}"), incident_name, DAY) == "incident"
    assert channel_name(_playbook(), incident_name, DAY) == "incident-2024-05-31-incident"


def test_channel_name_seq_fills_its_placeholder_or_is_appended() -> None:
    assert channel_name(_playbook("sec-{date}-{seq}"), "x", DAY) == "sec-2024-05-31"
    assert channel_name(_playbook("sec-{date}-{seq}"), "x", DAY, seq=2) == "sec-2024-05-31-2"
    assert channel_name(_playbook(), "db down", DAY, seq=3) == "incident-2024-05-31-db-down-3"
    assert channel_name(_playbook("{playbook}-{slug}"), "db down", DAY) == "p-db-down"


def test_long_names_are_cut_in_the_slug_so_date_and_seq_stay() -> None:
    name = channel_name(_playbook(), "database " * 20, DAY, seq=12)
    assert len(name) == 64
    assert name.startswith("incident-2024-05-31-database-")
    assert name.endswith("-12")
    assert VALID_CHANNEL_NAME.match(name)


@pytest.mark.parametrize(
    ("template", "incident_name"),
    [("{slug}", "a"), ("X_{slug}_Y", "b"), ("-{slug}-", "--c--"), ("{date}" + "-long" * 20, "d"), ("{seq}", "")],
)
def test_channel_names_are_always_valid(template: str, incident_name: str) -> None:
    for seq in (None, 7):
        name = channel_name(_playbook(template), incident_name, DAY, seq)
        assert VALID_CHANNEL_NAME.match(name), name


# --- forwarding rule matching -----------------------------------------------------------------------------------


def test_forwarding_rule_matches_keyword_as_whole_word_regex_or_user() -> None:
    rule = ForwardingRule(source_channels=["ops/ops-alerts"], keywords=["error", "5xx!"], regex=r"db-\d+ down",
                          users=["@pagerbot"])
    assert rule.users == ["pagerbot"]
    assert rule.matches("An ERROR happened", "alice")
    assert not rule.matches("a terrorist plot in the novel", "alice")
    assert rule.matches("seeing 5xx! now", "alice")
    assert rule.matches("db-3 down since noon", "alice")
    assert rule.matches("all fine", "pagerbot")
    assert not rule.matches("all fine", "alice")


def test_forwarding_rule_without_conditions_copies_everything() -> None:
    assert ForwardingRule(source_channels=["ops/ops-alerts"]).matches("anything", "anyone")

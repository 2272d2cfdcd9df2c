"""Retrospectives of ended incidents: the template, the facts, conflict-safe saving, Markdown and HTML exports."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import ValidationError

from incidents import repository, retrospective
from incidents.mattermost_api import MattermostApi
from incidents.models import Actor
from incidents.playbooks import Playbook
from incidents.service import IncidentService
from store import ConflictError
from tests.incidents import test_incident_metrics
from tests.incidents.test_incident_metrics import ENVIRONMENT, T0, record_incident

clock = test_incident_metrics.clock  # the same fixtures: the store's and the service's clock, a SQLite store
sqlite_store = test_incident_metrics.sqlite_store

OUTAGE = {
    "version": 1, "id": "outage", "name": "Outage", "channel_name_template": "r-{slug}",
    "stages": [{"name": "Triage", "items": ["Page on-call", "Open a bridge"]}, {"name": "Mitigate",
                                                                              "items": ["Roll back"]}],
    "retrospective": [{"heading": "What happened", "prompt": "In a few sentences."},
                      {"heading": "Follow-ups"}],
}


@pytest.fixture
async def ended(simulator, sqlite_store, clock):
    """An incident run through the real service: one item checked after 4 min, Mitigate after 10, ended at 30."""
    admin = Actor(simulator.model.admin.id, simulator.model.admin.username)
    playbook = Playbook.model_validate(OUTAGE)
    async with MattermostApi(simulator.url, simulator.admin_token, timeout=2) as api:
        service = IncidentService(sqlite_store, api, {"outage": playbook}, ENVIRONMENT, clock=clock)
        started = await service.start(admin, team_id=simulator.model.teams[0].id, playbook_id="outage",
                                      name=f"Checkout <b>down</b> {uuid.uuid4().hex[:6]}")
        clock.advance(4)
        await service.set_item(started.id, admin, "Page on-call", True)
        clock.advance(6)
        await service.change_stage(started.id, admin, "Mitigate")
        clock.advance(20)
        incident = await service.end(started.id, admin)
    return incident, repository.timeline(sqlite_store, ENVIRONMENT, incident.id), playbook, admin


async def test_the_retrospective_is_prefilled_with_stages_checklist_and_timeline(sqlite_store, ended):
    incident, events, playbook, admin = ended
    retro = retrospective.build(sqlite_store, incident, events, playbook)
    assert [s.heading for s in retro.sections] == ["What happened", "Follow-ups"]  # the playbook's template
    assert retro.version is None and all(s.text == "" for s in retro.sections)
    assert [(s.name, s.duration) for s in retro.stages] == [("Triage", timedelta(minutes=10)),
                                                             ("Mitigate", timedelta(minutes=20))]
    assert [(i.title, i.checked_by, i.checked_at) for i in retro.checked] == [
        ("Page on-call", admin.user_id, T0 + timedelta(minutes=4))]
    assert [i.title for i in retro.unchecked] == ["Open a bridge", "Roll back"]
    assert [e.type for e in retro.timeline] == ["incident_started", "item_checked", "stage_changed",
                                                "incident_ended"]
    markdown = retrospective.to_markdown(retro, {admin.user_id: admin.username})
    assert "| Triage | 2026-03-02 09:00:00 UTC | 2026-03-02 09:10:00 UTC | 10 min 00 s |" in markdown
    assert f"| Page on\\-call | @{admin.username} | 2026-03-02 09:04:00 UTC |" in markdown
    assert "Left unchecked:" in markdown and "- Mitigate: Roll back" in markdown
    assert "_In a few sentences\\._" in markdown  # an unwritten section shows its prompt


def test_a_playbook_without_a_template_gets_the_default_one(sqlite_store, clock):
    incident = record_incident(sqlite_store, clock, T0, [5, 5, 5])
    events = repository.timeline(sqlite_store, ENVIRONMENT, incident.id)
    plain = Playbook.model_validate({k: v for k, v in OUTAGE.items() if k != "retrospective"})
    for playbook in (plain, None):  # None: the playbook file is gone
        retro = retrospective.build(sqlite_store, incident, events, playbook)
        assert [s.heading for s in retro.sections] == [s.heading for s in retrospective.DEFAULT_TEMPLATE]
        assert "Action items" in [s.heading for s in retro.sections]


def test_only_an_ended_incident_has_a_retrospective(sqlite_store, clock):
    active = record_incident(sqlite_store, clock, T0, [5, 5], ended=False, name="Still burning")
    with pytest.raises(retrospective.NotEnded, match="'Still burning' is still active"):
        retrospective.build(sqlite_store, active, [], None)


def test_saved_texts_come_back_and_a_concurrent_edit_is_refused(sqlite_store, clock):
    incident = record_incident(sqlite_store, clock, T0, [5, 5, 5])
    events = repository.timeline(sqlite_store, ENVIRONMENT, incident.id)
    opened_by_dana = retrospective.build(sqlite_store, incident, events, None)
    opened_by_lee = retrospective.build(sqlite_store, incident, events, None)
    texts = [f"Dana wrote {s.heading}" for s in opened_by_dana.sections]
    saved = retrospective.save(sqlite_store, opened_by_dana, texts, actor="dana")
    assert saved.version == 1 and saved.updated_by == "dana"
    reread = retrospective.build(sqlite_store, incident, events, None)
    assert [s.text for s in reread.sections] == texts and reread.version == 1
    with pytest.raises(ConflictError):
        retrospective.save(sqlite_store, opened_by_lee, ["Lee's version"] * len(texts), actor="lee")
    assert [s.text for s in retrospective.build(sqlite_store, incident, events, None).sections] == texts
    again = retrospective.save(sqlite_store, reread, ["second pass", *texts[1:]], actor="lee")
    assert again.version == 2
    document = sqlite_store.get(retrospective.RETROSPECTIVE_KIND, incident.id, ENVIRONMENT)
    assert document.body["sections"][0]["text"] == "second pass"


def test_the_saved_sections_survive_a_later_change_of_the_template(sqlite_store, clock):
    incident = record_incident(sqlite_store, clock, T0, [5, 5, 5])
    first = retrospective.build(sqlite_store, incident, [], None)
    retrospective.save(sqlite_store, first, ["x"] * len(first.sections), actor="dana")
    with_template = Playbook.model_validate(OUTAGE)
    kept = retrospective.build(sqlite_store, incident, [], with_template)
    assert [s.heading for s in kept.sections] == [s.heading for s in retrospective.DEFAULT_TEMPLATE]


def test_the_html_export_is_a_standalone_page_that_escapes_what_people_wrote(sqlite_store, clock):
    incident = record_incident(sqlite_store, clock, T0, [5, 5, 5], name="DB <script>alert('name')</script>")
    events = repository.timeline(sqlite_store, ENVIRONMENT, incident.id)
    incident = replace(incident, stages=(replace(incident.stages[0], items=(
        replace(incident.stages[0].items[0], title="<img src=x onerror=alert(1)>"),)), *incident.stages[1:]))
    retro = retrospective.build(sqlite_store, incident, events, None)
    texts = ["<script>alert('x')</script>\nsecond line & more"] + [""] * (len(retro.sections) - 1)
    page = retrospective.to_html(retrospective.save(sqlite_store, retro, texts, actor="dana"))
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<style>" in page and "@media print" in page
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;\nsecond line &amp; more" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<title>Retrospective: DB &lt;script&gt;" in page
    assert "Root cause" in page and "Why it happened" in page  # unwritten sections show their prompt
    markdown = retrospective.to_markdown(retrospective.build(sqlite_store, incident, events, None))
    assert not re.search(r"(?<!\\)<(script|img)", markdown)  # backslash-escaped or &lt;: shown, never run
    assert "&lt;script>alert('x')" in markdown and "# Retrospective: DB \\<script\\>" in markdown


@pytest.mark.parametrize(("retro", "says"), [
    ([], "at least 1"),
    ([{"heading": ""}], "at least 1 character"),
    ([{"heading": "Summary", "questions": "?"}], "Extra inputs are not permitted"),
])
def test_a_wrong_retrospective_template_in_a_playbook_is_refused(retro, says):
    with pytest.raises(ValidationError, match=says):
        Playbook.model_validate({**OUTAGE, "retrospective": retro})

"""The retrospective written after an incident ends: sections from the playbook's template, next to the facts.

The facts (timeline, time in each stage, who checked which item and when, what stayed unchecked) come from the
ended incident and its timeline, which no longer change. What people write (one text per section) is kept in the
store as its own versioned document (kind "incident_retrospective", key the incident id), so two people editing
at once never overwrite each other: the second save raises ConflictError. Exports: Markdown, and a standalone
printable HTML page in which everything people wrote is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from incidents.models import Incident, TimelineEvent
from incidents.playbooks import Playbook, RetrospectiveSection
from incidents.timeline import TIME_FORMAT, escape_markdown, format_duration, stage_spans
from store import Store

RETROSPECTIVE_KIND = "incident_retrospective"

DEFAULT_TEMPLATE: tuple[RetrospectiveSection, ...] = (
    RetrospectiveSection(heading="Summary", prompt="What happened, who noticed it, and how it ended."),
    RetrospectiveSection(heading="Impact", prompt="Who and what was affected, and for how long."),
    RetrospectiveSection(heading="Root cause", prompt="Why it happened; keep asking why until the answer is useful."),
    RetrospectiveSection(heading="What went well", prompt="What helped: alerts, runbooks, people, tools."),
    RetrospectiveSection(heading="What went badly", prompt="What slowed the response or made it worse."),
    RetrospectiveSection(heading="Action items", prompt="One line each: what, who, by when."),
)


class NotEnded(ValueError):
    """A retrospective is only for an incident that has ended."""


@dataclass(frozen=True)
class Section:
    heading: str
    prompt: str
    text: str = ""


@dataclass(frozen=True)
class StageTime:
    name: str
    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True)
class CheckedItem:
    stage: str
    title: str
    checked_by: str | None  # user id; None while unchecked
    checked_at: datetime | None


@dataclass(frozen=True)
class Retrospective:
    incident: Incident
    sections: tuple[Section, ...]
    stages: tuple[StageTime, ...]  # in the order the incident went through them
    checklist: tuple[CheckedItem, ...]  # every item of every stage, in playbook order
    timeline: tuple[TimelineEvent, ...]  # oldest first
    version: int | None = None  # the stored document's version; None until first saved
    updated_by: str = ""
    updated_at: datetime | None = None

    @property
    def checked(self) -> tuple[CheckedItem, ...]:
        return tuple(item for item in self.checklist if item.checked_at is not None)

    @property
    def unchecked(self) -> tuple[CheckedItem, ...]:
        return tuple(item for item in self.checklist if item.checked_at is None)


def template(playbook: Playbook | None) -> tuple[RetrospectiveSection, ...]:
    """The playbook's retrospective sections, or the default template when it has none (or is gone)."""
    if playbook is not None and playbook.retrospective:
        return tuple(playbook.retrospective)
    return DEFAULT_TEMPLATE


def build(store: Store, incident: Incident, events: Sequence[TimelineEvent],
          playbook: Playbook | None) -> Retrospective:
    """The incident's retrospective: what was saved of it, or a fresh one from the template.

    Raises NotEnded for an incident that is still active, with a sentence to show.
    """
    if incident.active:
        raise NotEnded(f"'{incident.name}' is still active; its retrospective can be written once it has ended.")
    ordered = tuple(sorted(events, key=lambda e: e.at))
    spans = tuple(StageTime(s.name, s.start, s.end) for s in stage_spans(incident, ordered))
    checklist = tuple(CheckedItem(stage.name, item.title, item.checked_by, item.checked_at)
                      for stage in incident.stages for item in stage.items)
    fresh = Retrospective(incident, tuple(Section(s.heading, s.prompt) for s in template(playbook)), spans,
                          checklist, ordered)
    document = store.get(RETROSPECTIVE_KIND, incident.id, incident.environment)
    if document is None:
        return fresh
    sections = tuple(Section(s["heading"], s.get("prompt", ""), s.get("text", ""))
                     for s in document.body.get("sections", []))
    return replace(fresh, sections=sections, version=document.version, updated_by=document.updated_by,
                   updated_at=document.updated_at)


def save(store: Store, retrospective: Retrospective, texts: Sequence[str], *, actor: str) -> Retrospective:
    """Keep the section texts (one per section, in order) on top of the version ``retrospective`` was read at.

    Raises ConflictError when someone saved the retrospective since then: nothing is overwritten.
    """
    if len(texts) != len(retrospective.sections):
        raise ValueError(f"expected {len(retrospective.sections)} section texts, got {len(texts)}")
    sections = tuple(replace(section, text=text) for section, text in zip(retrospective.sections, texts,
                                                                           strict=True))
    incident = retrospective.incident
    body = {"incident_id": incident.id, "incident_name": incident.name,
            "sections": [{"heading": s.heading, "prompt": s.prompt, "text": s.text} for s in sections]}
    document = store.put(RETROSPECTIVE_KIND, incident.id, incident.environment, body, actor=actor,
                         expected_version=retrospective.version,
                         audit_details={"sections": len(sections), "incident": incident.name})
    return replace(retrospective, sections=sections, version=document.version, updated_by=document.updated_by,
                   updated_at=document.updated_at)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT) + " UTC" if moment else "–"


def _who(user_id: str | None, names: Mapping[str, str]) -> str:
    if not user_id:
        return "?"
    return "@" + names[user_id] if user_id in names else user_id


# ------------------------------------------------------------------------------------------------- Markdown

def _own_markdown(text: str) -> str:
    # People write their sections in Markdown, kept as written, except that no raw HTML tag survives: renderers
    # would pass a <script> through.
    return text.strip().replace("<", "&lt;")


def to_markdown(retrospective: Retrospective, names: Mapping[str, str] | None = None) -> str:
    """The retrospective as Markdown: people's sections as written, then the facts (escaped, as tables)."""
    names = names or {}
    e = escape_markdown
    incident = retrospective.incident
    lines = [
        f"# Retrospective: {e(incident.name)}",
        "",
        f"- Playbook: {e(incident.playbook_id)}",
        f"- Channel: {e(incident.channel_name or incident.channel_id)}",
        f"- Commander: {e(_who(incident.commander_id, names))}",
        f"- Started: {_when(incident.started_at)}; ended: {_when(incident.ended_at)} "
        f"(after {format_duration((incident.ended_at or incident.started_at) - incident.started_at)})",
        "",
    ]
    for section in retrospective.sections:
        written = _own_markdown(section.text) or f"_{e(section.prompt or 'Not written.')}_"
        lines += [f"## {e(section.heading)}", "", written, ""]
    lines += ["## Time in each stage", "", "| Stage | From | To | Duration |", "| --- | --- | --- | --- |"]
    lines += [f"| {e(s.name)} | {_when(s.start)} | {_when(s.end)} | {format_duration(s.duration)} |"
              for s in retrospective.stages]
    lines += ["", "## Checklist", ""]
    if retrospective.checked:
        lines += ["| Stage | Item | Checked by | When |", "| --- | --- | --- | --- |"]
        lines += [f"| {e(i.stage)} | {e(i.title)} | {e(_who(i.checked_by, names))} | {_when(i.checked_at)} |"
                  for i in retrospective.checked]
    else:
        lines.append("No item was checked.")
    lines += ["", "Left unchecked:" if retrospective.unchecked else "Every item was checked.", ""]
    lines += [f"- {e(i.stage)}: {e(i.title)}" for i in retrospective.unchecked]
    lines += ["", "## Timeline", "", "| Time (UTC) | Type | Who | What |", "| --- | --- | --- | --- |"]
    lines += [f"| {_when(ev.at)} | {e(ev.type)} | {e(_who(ev.actor, names))} | {e(ev.summary)} |"
              for ev in retrospective.timeline]
    if not retrospective.timeline:
        lines.append("| – | – | – | No events recorded. |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------------- HTML

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #1f2328; line-height: 1.5; }
h1 { border-bottom: 2px solid #1f2328; padding-bottom: .3rem; }
h2 { margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: .9rem; }
th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.text { white-space: pre-wrap; }
.prompt { color: #656d76; font-style: italic; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { font-weight: 600; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(retrospective: Retrospective, names: Mapping[str, str] | None = None) -> str:
    """A standalone, printable HTML page; every text from people or Mattermost is escaped, so none of it runs."""
    names = names or {}
    esc = html.escape
    incident = retrospective.incident
    facts = [
        ("Playbook", incident.playbook_id),
        ("Channel", incident.channel_name or incident.channel_id),
        ("Commander", _who(incident.commander_id, names)),
        ("Started", _when(incident.started_at)),
        ("Ended", _when(incident.ended_at)),
        ("Duration", format_duration((incident.ended_at or incident.started_at) - incident.started_at)),
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Retrospective: {esc(incident.name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Retrospective: {esc(incident.name)}</h1>",
        "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts) + "</dl>",
    ]
    for section in retrospective.sections:
        parts.append(f"<h2>{esc(section.heading)}</h2>")
        if section.text.strip():
            parts.append(f'<div class="text">{esc(section.text.strip())}</div>')
        else:
            parts.append(f'<p class="prompt">{esc(section.prompt or "Not written.")}</p>')
    parts.append("<h2>Time in each stage</h2>")
    parts.append(_table(["Stage", "From", "To", "Duration"],
                        [(s.name, _when(s.start), _when(s.end), format_duration(s.duration))
                         for s in retrospective.stages]))
    parts.append("<h2>Checklist</h2>")
    if retrospective.checked:
        parts.append(_table(["Stage", "Item", "Checked by", "When"],
                            [(i.stage, i.title, _who(i.checked_by, names), _when(i.checked_at))
                             for i in retrospective.checked]))
    else:
        parts.append("<p>No item was checked.</p>")
    if retrospective.unchecked:
        parts.append("<p>Left unchecked:</p><ul>"
                     + "".join(f"<li>{esc(i.stage)}: {esc(i.title)}</li>" for i in retrospective.unchecked)
                     + "</ul>")
    else:
        parts.append("<p>Every item was checked.</p>")
    parts.append("<h2>Timeline</h2>")
    parts.append(_table(["Time (UTC)", "Type", "Who", "What"],
                        [(_when(ev.at), ev.type, _who(ev.actor, names), ev.summary)
                         for ev in retrospective.timeline]))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"

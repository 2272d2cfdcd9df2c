"""What the watcher tells a channel after a run: which findings opened, came back or healed, and what to do.

`compose` turns one run's lifecycle changes into an outbox body (plain JSON, so it survives a restart and can be
shown on a page); `build_post` renders one Mattermost message from one or several bodies (runs queue up while
Mattermost is down or the rate limit holds them, and go out together, oldest first). The message stays well
under Mattermost's limit (model.PostMessageMaxRunesV2 = 16383 runes): evidence and remediation are shortened
first, and changes that still do not fit are counted ("and N more"), never dropped without a word.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from health.findings import Finding
from health.lifecycle import Change, ChangeKind, fingerprint

# A margin below Mattermost's 16383 runes: servers with a smaller column, and the "and N more" tail.
MESSAGE_BUDGET_RUNES = 12_000
# Props key listing the outbox keys a post covers, so duplicates can be counted from the channel afterwards.
ALERT_KEYS_PROP = "mmdash_alert_keys"
ALERTED = {"critical": ("critical",), "warning": ("critical", "warning")}  # min_severity -> severities sent
_KIND_ORDER = {ChangeKind.NEW.value: 0, ChangeKind.REOPENED.value: 1, ChangeKind.RESOLVED.value: 2}
_SEVERITY_ORDER = {"critical": 0, "warning": 1}
_HEADINGS = {"new": "New", "reopened": "Back again", "resolved": "Resolved"}
_ICONS = {"critical": ":red_circle:", "warning": ":large_orange_diamond:"}
# How much evidence and remediation each attempt keeps (None: all of it), before changes are counted instead.
_DETAIL_LIMITS: tuple[int | None, ...] = (None, 400, 120, 0)
_TITLE_MAX = 200
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+@", re.IGNORECASE)
# @channel, @all, @here or a username in evidence would notify people; a zero-width space keeps the text readable.
_MENTION = re.compile(r"@(?=\w)")


def alert_key(environment: str, run_at: datetime) -> str:
    """The outbox key of one environment's run: every replica judging that run enqueues under the same key."""
    return f"{environment}/{run_at.isoformat()}"


def health_link(dashboard_url: str | None, environment: str) -> str | None:
    return f"{dashboard_url.rstrip('/')}/health?env={quote(environment)}" if dashboard_url else None


def compose(*, environment: str, label: str, run_at: datetime, changes: Iterable[Change],
            findings: Iterable[Finding], min_severity: str = "warning", dashboard_url: str | None = None,
            muted: Collection[str] = ()) -> dict[str, Any] | None:
    """The outbox body for one run, or None when none of its changes is worth an alert.

    Keeps critical and warning changes at or above `min_severity` whose fingerprint is not in `muted`; the run's
    `findings` supply evidence, remediation, docs and threshold (a resolved finding's are those of its OK verdict).
    """
    by_fingerprint = {fingerprint(f.code, f.subject): f for f in findings}
    wanted = ALERTED[min_severity]
    items = [_item(change, by_fingerprint.get(change.finding.fingerprint)) for change in changes
             if change.finding.severity in wanted and change.finding.fingerprint not in muted]
    if not items:
        return None
    items.sort(key=lambda i: (_KIND_ORDER[i["kind"]], _SEVERITY_ORDER[i["severity"]], i["code"], i["subject"] or ""))
    return {"environment": environment, "label": label, "run_at": run_at.isoformat(),
            "link": health_link(dashboard_url, environment), "items": items}


def _item(change: Change, finding: Finding | None) -> dict[str, Any]:
    tracked = change.finding
    return {
        "kind": change.kind.value, "severity": tracked.severity, "code": tracked.code, "subject": tracked.subject,
        "title": tracked.title, "observed": tracked.observed,
        "threshold": finding.threshold if finding else "",
        "evidence": _clean(finding.evidence) if finding else "",
        "remediation": _clean(finding.remediation) if finding else "",
        "docs_url": finding.docs_url if finding else "", "fingerprint": tracked.fingerprint,
    }


def _clean(text: str) -> str:
    return _URL_PASSWORD.sub(r"\1***@", text)


@dataclass(frozen=True)
class AlertPost:
    message: str
    props: dict[str, Any]
    keys: tuple[str, ...]  # the outbox keys this post covers, oldest first


def build_post(bodies: Sequence[tuple[str, Mapping[str, Any]]], *,
               budget: int = MESSAGE_BUDGET_RUNES) -> AlertPost:
    """One post for the (key, body) pairs given oldest first."""
    keys = tuple(key for key, _ in bodies)
    return AlertPost(render([body for _, body in bodies], budget=budget), {ALERT_KEYS_PROP: list(keys)}, keys)


def render(bodies: Sequence[Mapping[str, Any]], *, budget: int = MESSAGE_BUDGET_RUNES) -> str:
    """The Markdown message for several runs' bodies, at most `budget` runes long."""
    if not bodies:
        raise ValueError("nothing to render: give at least one alert body")
    for limit in _DETAIL_LIMITS:
        text = "\n".join(_lines(bodies, limit))
        if len(text) <= budget:
            return text
    return _counted(bodies, budget)


def _lines(bodies: Sequence[Mapping[str, Any]], limit: int | None) -> list[str]:
    lines = _header(bodies)
    for body in bodies:
        lines.extend(_run_lines(body, limit, len(bodies) > 1))
    return lines


def _header(bodies: Sequence[Mapping[str, Any]]) -> list[str]:
    first, last = bodies[0], bodies[-1]
    items = [item for body in bodies for item in body["items"]]
    counts = ", ".join(f"{sum(1 for i in items if i['kind'] == kind)} {_HEADINGS[kind].lower()}"
                       for kind in _HEADINGS if any(i["kind"] == kind for i in items))
    where = f"{first['label']} ({first['environment']})" if first["label"] != first["environment"] \
        else first["environment"]
    lines = [f"#### Mattermost health: {where}: {counts}"]
    if len(bodies) > 1:
        lines.append(f"This post covers {len(bodies)} runs, from {_when(first['run_at'])} to "
                     f"{_when(last['run_at'])} (alerts were held back while they could not be posted, or by the "
                     "hourly limit).")
    link = last.get("link")
    if link:
        lines.append(f"[Open the health page]({link})")
    return lines


def _run_lines(body: Mapping[str, Any], limit: int | None, several: bool) -> list[str]:
    lines = [""]
    if several:
        lines.append(f"##### Run at {_when(body['run_at'])}")
    else:
        lines.append(f"Run at {_when(body['run_at'])}.")
    for kind, heading in _HEADINGS.items():
        chosen = [i for i in body["items"] if i["kind"] == kind]
        if chosen:
            lines.append(f"**{heading}**")
            for item in chosen:
                lines.extend(_item_lines(item, limit))
    return lines


def _item_lines(item: Mapping[str, Any], limit: int | None) -> list[str]:
    subject = f" ({_safe(item['subject'])})" if item.get("subject") else ""
    icon = ":white_check_mark:" if item["kind"] == "resolved" else _ICONS.get(item["severity"], "")
    title = _shorten(_safe(item["title"]), _TITLE_MAX)
    lines = [f"- {icon} **{item['severity']}** `{item['code']}`{subject}: {title}"]
    observed = _safe(item.get("observed") or "")
    if observed:
        threshold = f" (expected: {_shorten(_safe(item['threshold']), 120)})" if item.get("threshold") else ""
        lines.append(f"  Observed: {_shorten(observed, limit or 120)}{threshold}")
    if limit != 0:
        if item.get("evidence"):
            lines.append(f"  Evidence: {_shorten(_safe(item['evidence']), limit)}")
        if item.get("remediation") and item["kind"] != "resolved":
            lines.append(f"  What to do: {_shorten(_safe(item['remediation']), limit)}")
        if item.get("docs_url"):
            lines.append(f"  [Documentation]({item['docs_url']})")
    return lines


def _counted(bodies: Sequence[Mapping[str, Any]], budget: int) -> str:
    """The shortest form, with as many changes as fit and the rest counted, so none goes unmentioned."""
    link = bodies[-1].get("link")
    total = sum(len(body["items"]) for body in bodies)
    lines = _header(bodies)
    reserve = 200 + len(link or "")  # room for the tail that counts the rest and says where to see them
    shown, full = 0, False
    for body in bodies:
        run_lines = ["", f"##### Run at {_when(body['run_at'])}"]
        for item in body["items"]:
            candidate = _item_lines(item, 0)
            if len("\n".join([*lines, *run_lines, *candidate])) > budget - reserve:
                full = True
                break
            run_lines.extend(candidate)
            shown += 1
        if len(run_lines) > 2:
            lines.extend(run_lines)
        if full:
            break
    rest = total - shown
    if rest:
        where = f": see [the health page]({link})" if link else " on the dashboard's health page"
        lines += ["", f"…and {rest} more change{'s' if rest != 1 else ''} not listed here{where}."]
    return "\n".join(lines)


def _when(iso: str) -> str:
    return f"{datetime.fromisoformat(iso).astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _safe(text: str) -> str:
    return _MENTION.sub("@\u200b", str(text)).replace("\n", " ")


def _shorten(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"

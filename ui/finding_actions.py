"""What an admin does about a firing finding on the health page: mute or acknowledge it (who, why, until when),
lift that, and start an incident from a critical one. Each card also says the finding's lifecycle.

Writes run in widget callbacks with the version the admin saw bound when the card was drawn, so a change someone
else made in between is refused with who made it, and the admin's entry stays in the form.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st

from health import finding_states, mutes
from health.findings import Finding, Severity
from health.fleet import health_link
from health.lifecycle import Tracked, fingerprint
from health.mutes import Mute, MuteError, MuteKind
from health.stored_view import (
    conflict_sentence,
    firing,
    incident_message,
    incident_name,
    lifecycle_sentence,
    mute_sentence,
)
from incidents import repository as incident_records
from incidents.playbooks import Playbook
from incidents.service import IncidentError, IncidentService
from store import ConflictError, StoreError
from store.utc import utc_now
from ui import incidents_view
from ui.context import PageContext, token_fingerprint
from ui.health_view import SEVERITY_BADGES, SEVERITY_ICONS

# How long a mute or acknowledgement lasts; None: until someone lifts it (acknowledgements only).
DURATIONS: dict[str, timedelta | None] = {
    "1 hour": timedelta(hours=1), "4 hours": timedelta(hours=4), "12 hours": timedelta(hours=12),
    "1 day": timedelta(days=1), "3 days": timedelta(days=3), "1 week": timedelta(weeks=1),
    "30 days": timedelta(days=30), "until lifted (acknowledge only)": None}
KIND_WORDS = {MuteKind.MUTE.value: "Mute: silence it (no alert, does not fail checks)",
              MuteKind.ACKNOWLEDGE.value: "Acknowledge: someone is on it (it still counts)"}


def render_firing(context: PageContext, findings: list[Finding], now: datetime) -> None:
    """One card per firing finding, most urgent first."""
    shown = firing(findings)
    if not shown:
        st.success("Nothing is firing in this snapshot.")
        return
    try:
        tracked = finding_states.load(context.store, context.env.name)
        in_force = mutes.active(context.store, context.env.name, now)
        incidents_on = incident_records.incidents_enabled(context.store)
    except StoreError as exc:
        st.error(f"Mutes and the findings' lifecycle could not be read from the store: {exc}")
        return
    books = incidents_view.playbooks(context) if incidents_on and any(
        f.severity is Severity.CRITICAL for f in shown) else {}
    for finding in shown:
        key = fingerprint(finding.code, finding.subject)
        render_card(context, finding, key, tracked.get(key), in_force.get(key), now, incidents_on, books)


def render_card(context: PageContext, finding: Finding, key: str, tracked: Tracked | None, mute: Mute | None,
                now: datetime, incidents_on: bool, books: dict[str, Playbook]) -> None:
    with st.container(border=True, key=f"finding-{key}"):
        subject = f" · {finding.subject}" if finding.subject else ""
        st.markdown(f"{SEVERITY_ICONS[finding.severity]} **{finding.title}**{subject} · "
                    f":{SEVERITY_BADGES[finding.severity]}-badge[{finding.severity.value}] · `{finding.code}`")
        expected = f" (expected {finding.threshold})" if finding.threshold else ""
        st.caption(f"Observed: {finding.observed}{expected}. {lifecycle_sentence(tracked, now)}.")
        if mute is not None:
            icon = ":material/notifications_off:" if mute.kind is MuteKind.MUTE else ":material/assignment_ind:"
            st.info(mute_sentence(mute), icon=icon)
        _show_outcome(key)
        with st.container(horizontal=True):
            with st.popover("Change mute" if mute else "Mute or acknowledge", icon=":material/notifications_off:"):
                _mute_form(context, finding, key, mute)
            if mute is not None:
                st.button("Lift", key=f"lift-{key}", icon=":material/notifications_active:",
                          on_click=_lift, args=(context, finding, key, mute.version),
                          help="End the mute or acknowledgement now; it stays in the history.")
            if finding.severity is Severity.CRITICAL:
                with st.popover("Start incident", icon=":material/emergency:"):
                    _incident_form(context, finding, key, incidents_on, books)
        _show_started(key)


def _show_outcome(key: str) -> None:
    outcome = st.session_state.pop(f"finding-outcome-{key}", None)
    if outcome is not None:
        kind, text = outcome
        (st.error if kind == "error" else st.success)(text)


def _outcome(key: str, kind: str, text: str) -> None:
    st.session_state[f"finding-outcome-{key}"] = (kind, text)


# -- mute, acknowledge, lift ------------------------------------------------------------------------------


def _mute_form(context: PageContext, finding: Finding, key: str, current: Mute | None) -> None:
    seen = current.version if current is not None else None
    with st.form(f"mute-form-{key}", border=False):
        st.radio("What", list(KIND_WORDS), format_func=KIND_WORDS.__getitem__, key=f"mute-kind-{key}")
        st.text_input("Why", key=f"mute-why-{key}", placeholder="raising LimitNOFILE in tonight's window",
                      help="Kept with your name, so whoever looks later knows why.")
        st.selectbox("For", list(DURATIONS), index=2, key=f"mute-for-{key}")
        st.form_submit_button("Save", type="primary", key=f"mute-save-{key}", on_click=_save_mute,
                              args=(context, finding, key, seen))


def _save_mute(context: PageContext, finding: Finding, key: str, seen_version: int | None) -> None:
    kind = MuteKind(st.session_state[f"mute-kind-{key}"])
    duration = DURATIONS[st.session_state[f"mute-for-{key}"]]
    if kind is MuteKind.MUTE and duration is None:
        _outcome(key, "error", "A mute needs an end: choose how long, or acknowledge instead.")
        return
    now = utc_now()
    wanted = Mute(finding.code, finding.subject, kind, st.session_state[f"mute-why-{key}"].strip(), context.actor,
                  now, now + duration if duration else None)
    try:
        mutes.set_mute(context.store, context.env.name, wanted, expected_version=seen_version)
    except MuteError as exc:
        _outcome(key, "error", f"Not saved: {exc}.")
    except ConflictError as exc:
        _outcome(key, "error", conflict_sentence(exc.changed_by, exc.changed_at, _in_force(context, finding),
                                                 "yours was not saved"))
    except StoreError as exc:
        _outcome(key, "error", f"Not saved, the store cannot be used: {exc}")
    # Saved: the card's own line now says who muted it, why and until when.


def _in_force(context: PageContext, finding: Finding) -> Mute | None:
    current = mutes.get(context.store, context.env.name, finding.code, finding.subject)
    return current if current is not None and current.active(utc_now()) else None


def _lift(context: PageContext, finding: Finding, key: str, seen_version: int) -> None:
    try:
        document = context.store.get(mutes.KIND, key, context.env.name)
        if document is None or document.version != seen_version:
            _outcome(key, "error", conflict_sentence(document.updated_by if document else None,
                                                     document.updated_at if document else None,
                                                     _in_force(context, finding), "it was not lifted"))
            return
        mutes.lift(context.store, context.env.name, finding.code, finding.subject, by=context.actor, at=utc_now())
    except ConflictError as exc:
        _outcome(key, "error", conflict_sentence(exc.changed_by, exc.changed_at, _in_force(context, finding),
                                                 "it was not lifted"))
    except StoreError as exc:
        _outcome(key, "error", f"Not lifted, the store cannot be used: {exc}")
    else:
        _outcome(key, "success", f"Lifted by @{context.actor}: the finding counts and alerts again.")


# -- incidents ----------------------------------------------------------------------------------------------


@st.cache_data(ttl=300, show_spinner=False)
def _teams(env_name: str, fingerprint_: str, _context: PageContext) -> list[dict[str, str]]:
    teams = incidents_view.call(_context, {}, lambda service: service.api.teams())
    return [{"id": t["id"], "name": t["name"], "display_name": t.get("display_name") or t["name"]} for t in teams]


def _incident_form(context: PageContext, finding: Finding, key: str, incidents_on: bool,
                   books: dict[str, Playbook]) -> None:
    if not incidents_on:
        st.info("Incidents are turned off (the sidebar's Incidents switch); turn them on to start one from here.")
        return
    if not books:
        st.warning("No playbook loads, so no incident can be started.")
        return
    try:
        teams = _teams(context.env.name, token_fingerprint(context.visitor_token), context)
    except IncidentError as exc:
        st.error(str(exc))
        return
    preferred = context.env.alerts.playbook
    if preferred and preferred not in books:
        st.caption(f"alerts.playbook names {preferred!r}, which does not load; choose another.")
    names = [t["name"] for t in teams]
    with st.form(f"incident-form-{key}", border=False):
        st.selectbox("Playbook", list(books), format_func=lambda b: books[b].name, key=f"incident-playbook-{key}",
                     index=list(books).index(preferred) if preferred in books else 0)
        st.selectbox("Team", names, key=f"incident-team-{key}",
                     index=names.index(context.env.incidents.team) if context.env.incidents.team in names else 0,
                     format_func=lambda n: next(t["display_name"] for t in teams if t["name"] == n))
        st.text_input("Incident name", value=incident_name(finding, context.env.label), key=f"incident-name-{key}")
        st.caption("A private channel is created with you as commander; its first message after the playbook's "
                   "start message carries this finding's evidence and remediation.")
        st.form_submit_button("Start incident", type="primary", key=f"incident-start-{key}",
                              on_click=_start_incident,
                              args=(context, finding, key, books, {t["name"]: t["id"] for t in teams}))


def _health_url(context: PageContext) -> str | None:
    base = context.settings.health.dashboard_url
    return f"{base.rstrip('/')}{health_link(context.env.name)}" if base else None


def _start_incident(context: PageContext, finding: Finding, key: str, books: dict[str, Playbook],
                    team_ids: dict[str, str]) -> None:
    name = st.session_state[f"incident-name-{key}"].strip()
    playbook_id = st.session_state[f"incident-playbook-{key}"]
    team_id = team_ids[st.session_state[f"incident-team-{key}"]]
    message = incident_message(finding, context.env.label, _health_url(context))

    async def start(service: IncidentService) -> dict[str, str]:
        incident = await service.start(me, team_id=team_id, playbook_id=playbook_id, name=name, details=message)
        url = (await service.channel_urls([incident])).get(incident.id, "")
        return {"name": incident.name, "channel": incident.channel_name, "url": url}

    try:
        me = incidents_view.actor(context)  # its own Mattermost call: outside the one below
        started = incidents_view.call(context, books, start)
    except IncidentError as exc:
        _outcome(key, "error", f"No incident was started: {exc}")
        return
    st.session_state[f"incident-started-{key}"] = started


def _show_started(key: str) -> None:
    started = st.session_state.get(f"incident-started-{key}")
    if started is None:
        return
    st.success(f"Incident **{started['name']}** started in ~{started['channel']}.", icon=":material/emergency:")
    if started["url"]:
        st.link_button(f"Open ~{started['channel']} in Mattermost", started["url"], icon=":material/open_in_new:")

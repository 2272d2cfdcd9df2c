"""Streamlit panels of the incidents page: run incidents in Mattermost channels, list and review them afterwards
(timelines, retrospectives, figures across incidents).

Every action goes through incidents.service with the signed-in admin as the actor, so the page, the slash command
and automation share one set of rules (who may change what, messages in the channel, the timeline).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import TypeVar

import pandas as pd
import streamlit as st

from collectors.runner import run_async, tls_for
from incidents import incident_metrics, playbooks_plugin, repository, retrospective, timeline
from incidents.card_posts import CardKeeper, signer_for
from incidents.mattermost_api import MattermostApi, MattermostApiError
from incidents.models import Actor, Incident, TimelineEvent
from incidents.playbooks import Playbook, channel_name, load_playbooks_lenient
from incidents.service import IncidentError, IncidentService
from incidents.webhooks import WebhookSender
from store import ConflictError
from ui import incident_charts
from ui.context import PageContext, effective_environment, token_fingerprint

T = TypeVar("T")


def playbooks(context: PageContext) -> dict[str, Playbook]:
    """The playbooks that load; each broken file is shown with its file, line and field, the others still work."""
    found, errors = load_playbooks_lenient(context.env.incidents.playbooks_dir)
    for error in errors:
        st.error(f"A playbook file has errors and is left out: {error}")
    return found


def _token(context: PageContext) -> str | None:
    env = effective_environment(context.env)
    if context.visitor_token:
        return context.visitor_token
    return env.mattermost.token.get_secret_value() if env.mattermost and env.mattermost.token else None


def call(context: PageContext, books: dict[str, Playbook], action: Callable[[IncidentService], Awaitable[T]]) -> T:
    """Run one service call with a fresh Mattermost client as the signed-in admin."""
    env = effective_environment(context.env)
    if env.mattermost is None:
        raise IncidentError(f"{context.env.label} has no Mattermost URL configured, so incidents cannot run there.")

    async def run() -> T:
        async with MattermostApi.from_settings(env.mattermost, _token(context)) as api:
            cards = CardKeeper(context.store, api, env.name, signer=signer_for(context.settings),
                               dashboard_url=context.settings.health.dashboard_url)
            return await action(IncidentService(context.store, api, books, env.name, webhooks=WebhookSender(),
                                                cards=cards))

    try:
        return run_async(run())
    except MattermostApiError as exc:
        raise IncidentError(str(exc)) from exc


@st.cache_data(ttl=300, show_spinner=False)
def _me(env_name: str, fingerprint: str, _context: PageContext) -> tuple[str, str]:
    me = call(_context, {}, lambda service: service.api.me())
    return me["id"], me["username"]


def actor(context: PageContext) -> Actor:
    user_id, username = _me(context.env.name, token_fingerprint(_token(context)), context)
    return Actor(user_id, username)


@st.cache_data(ttl=300, show_spinner=False)
def _usernames(env_name: str, user_ids: tuple[str, ...], _context: PageContext) -> dict[str, str]:
    users = call(_context, {}, lambda service: service.api.users_by_ids(list(user_ids))) if user_ids else []
    return {user["id"]: user["username"] for user in users}


def _people(incidents: list[Incident], events: list[TimelineEvent]) -> tuple[str, ...]:
    """The commanders, the people who checked items and who acted."""
    return tuple(sorted({i.commander_id for i in incidents}
                        | {item.checked_by for i in incidents for s in i.stages for item in s.items if item.checked_by}
                        | {e.actor for e in events if len(e.actor) == 26}))


def usernames(context: PageContext, incidents: list[Incident], events: list[TimelineEvent] = ()) -> dict[str, str]:
    """User id -> username for everyone the incidents and events name: one batch call."""
    try:
        return _usernames(context.env.name, _people(incidents, events), context)
    except IncidentError:
        return {}  # ids stay readable enough; the page shows the reason elsewhere


def _act(context: PageContext, books: dict[str, Playbook], done: str,
         action: Callable[[IncidentService], Awaitable[Incident]]) -> None:
    async def act(service: IncidentService) -> int:
        incident = await action(service)
        return service.pending_messages(incident.id)

    try:
        waiting = call(context, books, act)
    except IncidentError as exc:
        st.error(str(exc))
        return
    st.toast(done + (f" Mattermost did not take the channel message yet; it is queued ({waiting})." if waiting
                     else ""))
    st.rerun()


def _age(incident: Incident, now: datetime) -> str:
    return timeline.format_duration((incident.ended_at or now) - incident.started_at)


def active_table(incidents: list[Incident], names: dict[str, str], books: dict[str, Playbook],
                 links: dict[str, str], now: datetime) -> pd.DataFrame:
    return pd.DataFrame([{
        "Incident": i.name, "Playbook": books[i.playbook_id].name if i.playbook_id in books else i.playbook_id,
        "Commander": "@" + names.get(i.commander_id, i.commander_id),
        "Stage": f"{i.stage_index + 1}/{len(i.stages)} {i.stage.name}", "Since start": _age(i, now),
        "Channel": links.get(i.id, "")} for i in incidents],
        columns=["Incident", "Playbook", "Commander", "Stage", "Since start", "Channel"])


def render_active(context: PageContext, books: dict[str, Playbook]) -> None:
    try:
        incidents, links = call(context, books, _active_with_links)
    except IncidentError as exc:
        st.error(str(exc))
        return
    if not incidents:
        st.info("No active incidents. Start one here, or with `/incident start` in Mattermost.")
        return
    names = usernames(context, incidents)
    now = datetime.now(UTC)
    st.dataframe(active_table(incidents, names, books, links, now), hide_index=True, width="stretch",
                 height="content", column_config={"Channel": st.column_config.LinkColumn(display_text="open")})
    # Options are ids, not Incident objects: the widget would hand back the object it kept from an earlier run.
    by_id = {incident.id: incident for incident in incidents}
    chosen = st.selectbox("Incident", list(by_id), key="incident-chosen",
                          format_func=lambda i: f"{by_id[i].name} (~{by_id[i].channel_name})")
    if chosen is not None:
        render_incident(context, books, by_id[chosen], names, now)


async def _active_with_links(service: IncidentService) -> tuple[list[Incident], dict[str, str]]:
    incidents = await service.list_active()
    return incidents, await service.channel_urls(incidents)


def render_incident(context: PageContext, books: dict[str, Playbook], incident: Incident, names: dict[str, str],
                    now: datetime) -> None:
    me = actor(context)
    stage = incident.stage
    checked = sum(item.checked for item in stage.items)
    with st.container(horizontal=True):
        st.metric("Stage", f"{incident.stage_index + 1}/{len(incident.stages)}", border=True, help=stage.name)
        st.metric("Checklist (this stage)", f"{checked}/{len(stage.items)}", border=True)
        st.metric("Commander", "@" + names.get(incident.commander_id, incident.commander_id), border=True)
        st.metric("Since start", _age(incident, now), border=True)
    left, right = st.columns([3, 2])
    with left:
        st.subheader(f"Stage: {stage.name}")
        render_checklist(context, books, incident, me)
    with right:
        st.subheader("Change")
        stages = [s.name for s in incident.stages]
        target = st.selectbox("Move to stage", stages, index=incident.stage_index, key=f"stage-{incident.id}")
        if st.button("Change stage", disabled=target == stage.name, key=f"stage-go-{incident.id}"):
            _act(context, books, f"Moved to {target}.", lambda s: s.change_stage(incident.id, me, target))
        commander = st.text_input("New commander", placeholder="@username", key=f"commander-{incident.id}")
        if st.button("Change commander", disabled=not commander.strip(), key=f"commander-go-{incident.id}"):
            _act(context, books, f"{commander} is commander.",
                 lambda s: s.change_commander(incident.id, me, commander.strip()))
        with st.popover("End incident", icon=":material/flag:"):
            st.write("Ending posts a message in the channel and closes the incident; its timeline stays.")
            if st.button("End it now", type="primary", key=f"end-{incident.id}"):
                _act(context, books, "Incident ended.", lambda s: s.end(incident.id, me))
    st.subheader("Latest events")
    events = repository.timeline(context.store, context.env.name, incident.id, limit=10)
    named = with_names(list(reversed(events)), usernames(context, [incident], events))
    st.dataframe(timeline.event_frame(named), hide_index=True, width="stretch", height="content")


def with_names(events: list[TimelineEvent], names: dict[str, str]) -> list[TimelineEvent]:
    """Events with @usernames for the people who acted, for tables people read."""
    return [dataclasses.replace(e, actor="@" + names[e.actor]) if e.actor in names else e for e in events]


def render_checklist(context: PageContext, books: dict[str, Playbook], incident: Incident, me: Actor) -> None:
    for number, item in enumerate(incident.stage.items, start=1):
        row_box, remove_box = st.columns([12, 1], vertical_alignment="center")
        ticked = row_box.checkbox(f"{number}. {item.title}", value=item.checked, key=f"item-{incident.id}-{item.id}")
        if ticked != item.checked:
            _act(context, books, f"{'Checked' if ticked else 'Unchecked'}: {item.title}.",
                 lambda s, item=item, ticked=ticked: s.set_item(incident.id, me, item.id, ticked))
        if remove_box.button("", icon=":material/delete:", key=f"remove-{incident.id}-{item.id}",
                             help=f"Remove '{item.title}'"):
            _act(context, books, f"Removed: {item.title}.",
                 lambda s, item=item: s.remove_item(incident.id, me, item.id))
    with st.form(f"add-{incident.id}", clear_on_submit=True, border=False):
        title_box, add_box = st.columns([5, 1], vertical_alignment="bottom")
        title = title_box.text_input("Add an item to this stage", placeholder="Page the database on-call")
        if add_box.form_submit_button("Add") and title.strip():
            _act(context, books, f"Added: {title.strip()}.", lambda s: s.add_item(incident.id, me, title.strip()))


def render_start(context: PageContext, books: dict[str, Playbook]) -> None:
    if not books:
        st.warning("No playbook loads, so no incident can be started; see the errors above.")
        return
    try:
        teams = call(context, books, lambda service: service.api.teams())
    except IncidentError as exc:
        st.error(str(exc))
        return
    default_team = context.env.incidents.team
    names = [t["name"] for t in teams]
    book_id = st.selectbox("Playbook", list(books), format_func=lambda b: books[b].name, key="start-playbook")
    with st.form("start-incident"):
        team = st.selectbox("Team", names, index=names.index(default_team) if default_team in names else 0,
                            format_func=lambda n: next(t["display_name"] for t in teams if t["name"] == n))
        name = st.text_input("Incident name", placeholder="Login failures for EU users")
        channel = st.text_input("Channel name", placeholder=channel_name(books[book_id], "name", datetime.now(UTC)
                                                                          .date()),
                                help="Leave empty to use the playbook's template. A private channel is created.")
        submitted = st.form_submit_button("Start incident", type="primary")
    if submitted:
        if not name.strip():
            st.error("Give the incident a name people will recognise.")
            return
        team_id = next(t["id"] for t in teams if t["name"] == team)
        me = actor(context)
        _act(context, books, f"Incident '{name.strip()}' started.",
             lambda s: s.start(me, team_id=team_id, playbook_id=book_id, name=name.strip(),
                               channel_name=channel.strip() or None))


@st.cache_data(ttl=60, show_spinner=False)
def _plugin_runs(env_name: str, fingerprint: str, _context: PageContext) -> playbooks_plugin.PluginRuns:
    # Cached for a minute: searching and filtering rerun the page, and runs change far more slowly than that.
    env = effective_environment(_context.env)
    if env.mattermost is None:
        return playbooks_plugin.PluginRuns(problem="No Mattermost URL is configured.")
    return run_async(playbooks_plugin.read_runs(env.mattermost.url, _token(_context), tls_for(env.mattermost),
                                                timeout=env.mattermost.timeout_seconds, environment=env.name))


def render_timelines(context: PageContext, books: dict[str, Playbook]) -> None:
    try:
        ours = call(context, books, lambda service: service.list_all())
    except IncidentError as exc:
        st.error(str(exc))
        ours = []
    plugin = _plugin_runs(context.env.name, token_fingerprint(_token(context)), context)
    if plugin.problem:
        st.caption(f"Playbooks plugin: {plugin.problem}")
    everything = ours + plugin.incidents
    names = usernames(context, everything)
    query = st.text_input("Search incidents", placeholder="name, channel, commander or playbook",
                          key="incident-search")
    found = timeline.search(everything, query, names) if query.strip() else everything
    if not found:
        st.info("No incidents match." if query.strip() else "No incidents yet.")
        return
    now = datetime.now(UTC)
    by_id = {incident.id: incident for incident in found}
    chosen_id = st.selectbox("Incident", list(by_id), key="timeline-incident", format_func=lambda i: (
        f"{by_id[i].name} · {by_id[i].started_at:%Y-%m-%d} · {'active' if by_id[i].active else 'ended'} · "
        f"{by_id[i].source}"))
    chosen = by_id[chosen_id]
    events = (plugin.events.get(chosen.id, []) if chosen.source != "dashboard"
              else repository.timeline(context.store, context.env.name, chosen.id))
    names = usernames(context, [chosen], events)
    figures = timeline.metrics(chosen, events, now)
    render_metrics(figures)
    types = sorted({e.type for e in events})
    actors = sorted({e.actor for e in events})
    left, right = st.columns(2)
    chosen_types = left.multiselect("Event types", types, default=types, key=f"types-{chosen.id}")
    chosen_actors = right.multiselect("People", actors, default=actors, key=f"actors-{chosen.id}",
                                      format_func=lambda a: "@" + names[a] if a in names else a)
    st.plotly_chart(timeline.figure(events, chosen_types, chosen_actors), width="stretch", key="incident-timeline")
    shown = timeline.filter_events(events, chosen_types, chosen_actors)
    st.dataframe(timeline.event_frame(with_names(shown, names)), hide_index=True, width="stretch")
    st.download_button("Postmortem (Markdown)", timeline.postmortem_markdown(chosen, events, figures),
                       file_name=f"postmortem-{chosen.channel_name or chosen.id}.md", mime="text/markdown",
                       icon=":material/download:", on_click="ignore")


def render_metrics(figures: timeline.IncidentMetrics) -> None:
    with st.container(horizontal=True):
        st.metric("Total duration" + (" (ongoing)" if figures.ongoing else ""),
                  timeline.format_duration(figures.total_duration), border=True)
        st.metric("To commander change", timeline.format_duration(figures.time_to_commander_change), border=True)
        st.metric("To first check", timeline.format_duration(figures.time_to_first_check), border=True)
        st.metric("To last check", timeline.format_duration(figures.time_to_last_check), border=True)
    if figures.time_in_stage:
        st.dataframe(pd.DataFrame([{"Stage": name, "Time": timeline.format_duration(spent)}
                                   for name, spent in figures.time_in_stage.items()]),
                     hide_index=True, height="content")
    for note in figures.notes:
        st.caption(note)


def render_playbooks(books: dict[str, Playbook]) -> None:
    st.caption("Playbooks are YAML files in incidents/playbooks (or incidents.playbooks_dir): edit them in git.")
    for book in books.values():
        with st.expander(f"{book.name} · {len(book.stages)} stages"):
            st.markdown(book.description or "")
            for number, stage in enumerate(book.stages, start=1):
                st.markdown(f"**{number}. {stage.name}**\n" + "\n".join(f"- {item}" for item in stage.items))
            if book.broadcast_channels:
                st.markdown("Announced in: " + ", ".join(f"`{c}`" for c in book.broadcast_channels))
            for rule in book.forwarding:
                st.markdown("Forwards from " + ", ".join(f"`{c}`" for c in rule.source_channels)
                            + (f"; keywords {', '.join(rule.keywords)}" if rule.keywords else "")
                            + (f"; pattern `{rule.regex}`" if rule.regex else "")
                            + (f"; by {', '.join('@' + u for u in rule.users)}" if rule.users else ""))
            if book.webhooks:
                st.markdown(f"{len(book.webhooks)} outgoing webhook(s) on: "
                            + "; ".join(", ".join(w.events) for w in book.webhooks))


# ------------------------------------------------------------------------------------------ every incident

STATES = ("All", "Active", "Ended")
_WHEN = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm z")


@dataclasses.dataclass(frozen=True)
class ListFilter:
    """What the list shows; empty tuples and None mean no filter on that field."""

    teams: tuple[str, ...] = ()
    state: str = "All"
    commanders: tuple[str, ...] = ()
    playbooks: tuple[str, ...] = ()
    since: date | None = None  # start day (UTC), inclusive
    until: date | None = None


def filter_incidents(incidents: list[Incident], chosen: ListFilter) -> list[Incident]:
    def wanted(incident: Incident) -> bool:
        day = incident.started_at.astimezone(UTC).date()
        return ((not chosen.teams or incident.team_id in chosen.teams)
                and (chosen.state == "All" or incident.active == (chosen.state == "Active"))
                and (not chosen.commanders or incident.commander_id in chosen.commanders)
                and (not chosen.playbooks or incident.playbook_id in chosen.playbooks)
                and (chosen.since is None or day >= chosen.since)
                and (chosen.until is None or day <= chosen.until))

    return [incident for incident in incidents if wanted(incident)]


def incident_list(incidents: list[Incident], names: dict[str, str], teams: dict[str, str],
                  books: dict[str, Playbook], now: datetime) -> pd.DataFrame:
    """One row per incident, built in one go from the store's incidents: no call per row."""
    return pd.DataFrame({
        "Incident": [i.name for i in incidents],
        "State": ["active" if i.active else "ended" for i in incidents],
        "Team": [teams.get(i.team_id, i.team_id) for i in incidents],
        "Playbook": [books[i.playbook_id].name if i.playbook_id in books else i.playbook_id for i in incidents],
        "Commander": ["@" + names[i.commander_id] if i.commander_id in names else i.commander_id
                      for i in incidents],
        "Stage": [f"{i.stage_index + 1}/{len(i.stages)} {i.stage.name}" for i in incidents],
        "Started": pd.to_datetime([i.started_at for i in incidents], utc=True),
        "Ended": pd.to_datetime([i.ended_at for i in incidents], utc=True),
        "Duration": [_age(i, now) for i in incidents],
    }, columns=["Incident", "State", "Team", "Playbook", "Commander", "Stage", "Started", "Ended", "Duration"])


@st.cache_data(ttl=300, show_spinner=False)
def _team_names(env_name: str, fingerprint: str, _context: PageContext) -> dict[str, str]:
    teams = call(_context, {}, lambda service: service.api.teams())
    return {team["id"]: team["display_name"] for team in teams}


def people_and_teams(context: PageContext, incidents: list[Incident]) -> tuple[dict[str, str], dict[str, str], str]:
    """Usernames and team names (by id) in two batch calls, and why not ("" when Mattermost answered): without
    them the list shows ids rather than waiting for Mattermost once per row."""
    try:
        return (_usernames(context.env.name, _people(incidents, []), context),
                _team_names(context.env.name, token_fingerprint(_token(context)), context), "")
    except IncidentError as exc:
        return {}, {}, str(exc)


def render_list(context: PageContext, books: dict[str, Playbook]) -> None:
    incidents = repository.list_incidents(context.store, context.env.name)
    if not incidents:
        st.info("No incidents yet. Start one under Start, or with `/incident start` in Mattermost.")
        return
    names, teams, problem = people_and_teams(context, incidents)
    if problem:
        st.caption(f"People and teams show as ids: {problem}")
    team_box, state_box, commander_box, playbook_box, date_box = st.columns([2, 3, 2, 2, 3])
    chosen_teams = team_box.multiselect("Team", sorted({i.team_id for i in incidents}), key="list-teams",
                                        format_func=lambda t: teams.get(t, t))
    state = state_box.segmented_control("State", STATES, default="All", key="list-state") or "All"
    chosen_commanders = commander_box.multiselect(
        "Commander", sorted({i.commander_id for i in incidents}, key=lambda c: names.get(c, c)),
        key="list-commanders", format_func=lambda c: "@" + names[c] if c in names else c)
    chosen_books = playbook_box.multiselect("Playbook", sorted({i.playbook_id for i in incidents}),
                                            key="list-playbooks",
                                            format_func=lambda b: books[b].name if b in books else b)
    first, last = (min(i.started_at for i in incidents).astimezone(UTC).date(),
                   max(i.started_at for i in incidents).astimezone(UTC).date())
    days = date_box.date_input("Started between", value=(first, last), key="list-dates")
    days = days if isinstance(days, tuple) else (days,)
    chosen = ListFilter(tuple(chosen_teams), state, tuple(chosen_commanders), tuple(chosen_books),
                        days[0] if days else None, days[1] if len(days) > 1 else None)
    shown = filter_incidents(incidents, chosen)
    st.caption(f"{len(shown)} of {len(incidents)} incidents, newest first.")
    st.dataframe(incident_list(shown, names, teams, books, datetime.now(UTC)), hide_index=True, width="stretch",
                 key="incident-list", column_config={"Started": _WHEN, "Ended": _WHEN})


def render_refused(context: PageContext) -> None:
    """Channel messages Mattermost refused for good: shown with the reason, so nobody waits for them."""
    refused = repository.outbox(context.store, context.env.name, status=repository.FAILED)
    if not refused:
        return
    st.warning(f"Mattermost refused {len(refused)} channel message(s) for good; they will not be posted. "
               "Post what still matters by hand.", icon=":material/block:")
    incidents = {i: repository.load(context.store, context.env.name, i) for i in {m.incident_id for m in refused}}
    with st.expander("Refused messages"):
        st.dataframe(pd.DataFrame([{
            "Incident": incidents[m.incident_id].name if incidents[m.incident_id] else m.incident_id,
            "Channel": m.channel or m.channel_id, "Message": m.message, "Why": m.error, "Attempts": m.attempts,
        } for m in refused]), hide_index=True, width="stretch", key="refused-messages")


# ------------------------------------------------------------------------------------------ retrospectives

def render_retrospective(context: PageContext, books: dict[str, Playbook]) -> None:
    ended = [i for i in repository.list_incidents(context.store, context.env.name) if not i.active]
    if not ended:
        st.info("No incident has ended yet. A retrospective is written once its incident has ended.")
        return
    by_id = {incident.id: incident for incident in ended}
    chosen = st.selectbox("Ended incident", list(by_id), key="retro-incident", format_func=lambda i: (
        f"{by_id[i].name} · ended {by_id[i].ended_at:%Y-%m-%d %H:%M} UTC"))
    incident = by_id[chosen]
    events = repository.timeline(context.store, context.env.name, incident.id)
    try:
        retro = retrospective.build(context.store, incident, events, books.get(incident.playbook_id))
    except retrospective.NotEnded as exc:
        st.info(str(exc))
        return
    names = usernames(context, [incident], events)
    # The form edits the version first read here; a save on top of someone else's is refused, not merged.
    base = f"retro-base-{incident.id}"
    keys = [f"retro-{incident.id}-{n}" for n in range(len(retro.sections))]
    based_on = dataclasses.replace(retro, version=st.session_state.setdefault(base, retro.version))
    saved_note = st.empty()  # filled once this run's save, if any, is done
    with st.form(f"retro-form-{incident.id}", border=False):
        texts = [st.text_area(section.heading, value=section.text, placeholder=section.prompt, key=key, height=120)
                 for section, key in zip(retro.sections, keys, strict=True)]
        save = st.form_submit_button("Save retrospective", type="primary")
    st.button("Reload (drops what you typed)", key=f"retro-reload-{incident.id}", on_click=_forget,
              args=([base, *keys],))
    if save:
        try:
            retro = retrospective.save(context.store, based_on, texts, actor=context.actor)
        except ConflictError:
            st.error("Someone else saved this retrospective after you opened it, so yours was not saved and "
                     "theirs is kept. Your text is still in the form: copy what you need, then reload to see theirs.")
        else:
            st.session_state[base] = retro.version
            st.toast("Retrospective saved.")
    if retro.updated_at:
        saved_note.caption(f"Last saved by {retro.updated_by} at {retro.updated_at:%Y-%m-%d %H:%M} UTC.")
    render_retrospective_facts(retro, names)
    stem = f"retrospective-{incident.channel_name or incident.id}"
    with st.container(horizontal=True):
        st.download_button("Markdown", retrospective.to_markdown(retro, names), file_name=f"{stem}.md",
                           mime="text/markdown", icon=":material/download:", on_click="ignore",
                           key=f"retro-md-{incident.id}")
        st.download_button("HTML (printable)", retrospective.to_html(retro, names), file_name=f"{stem}.html",
                           mime="text/html", icon=":material/download:", on_click="ignore",
                           key=f"retro-html-{incident.id}")


def _forget(keys: list[str]) -> None:
    for key in keys:
        st.session_state.pop(key, None)


def render_retrospective_facts(retro: retrospective.Retrospective, names: dict[str, str]) -> None:
    def who(user_id: str | None) -> str:
        return "@" + names[user_id] if user_id in names else (user_id or "?")

    st.subheader("Time in each stage")
    st.dataframe(pd.DataFrame({
        "Stage": [s.name for s in retro.stages],
        "From": pd.to_datetime([s.start for s in retro.stages], utc=True),
        "To": pd.to_datetime([s.end for s in retro.stages], utc=True),
        "Duration": [timeline.format_duration(s.duration) for s in retro.stages],
    }), hide_index=True, height="content", key="retro-stages", column_config={"From": _WHEN, "To": _WHEN})
    st.subheader("Checklist")
    st.dataframe(pd.DataFrame({
        "Stage": [i.stage for i in retro.checklist], "Item": [i.title for i in retro.checklist],
        "Checked by": [who(i.checked_by) if i.checked_at else "" for i in retro.checklist],
        "When": pd.to_datetime([i.checked_at for i in retro.checklist], utc=True),
    }), hide_index=True, height="content", key="retro-checklist", column_config={"When": _WHEN})
    if retro.unchecked:
        st.caption("Left unchecked: " + "; ".join(f"{i.stage}: {i.title}" for i in retro.unchecked))
    with st.expander(f"Timeline ({len(retro.timeline)} events)"):
        st.dataframe(timeline.event_frame(with_names(list(retro.timeline), names)), hide_index=True,
                     width="stretch", key="retro-timeline")


# ------------------------------------------------------------------------------------ figures across incidents

def render_metrics_across(context: PageContext, books: dict[str, Playbook]) -> None:
    figures = incident_metrics.figures_from_store(context.store, context.env.name)
    if figures.incidents.empty:
        st.info("No incidents yet, so there is nothing to measure.")
        return
    st.caption("Per playbook and per month (UTC) the incident started in. Time to acknowledge: from the start to "
               "the first change a person made (stage, checklist or commander). Time to resolve: from the start to "
               "the end. Median and p90 (90th percentile); stage times count ended incidents only.")
    names = {book_id: book.name for book_id, book in books.items()}
    st.plotly_chart(incident_charts.count_chart(figures.summary, names), width="stretch", key="metrics-count")
    left, right = st.columns(2)
    left.plotly_chart(incident_charts.duration_chart(figures.summary, "acknowledge", names), width="stretch",
                      key="metrics-acknowledge")
    right.plotly_chart(incident_charts.duration_chart(figures.summary, "resolve", names), width="stretch",
                       key="metrics-resolve")
    overall = incident_metrics.stage_summary(figures.stages, per_month=False)
    if overall.empty:
        st.caption("No incident has ended yet, so there are no stage times.")
    else:
        st.plotly_chart(incident_charts.stage_chart(overall, names), width="stretch", key="metrics-stages")
    table = figures.summary.assign(playbook_id=figures.summary["playbook_id"].map(lambda b: names.get(b, b)))
    st.dataframe(table.rename(columns={
        "playbook_id": "Playbook", "month": "Month", "incidents": "Incidents", "ended": "Ended",
        "acknowledge_median_min": "Acknowledge median (min)", "acknowledge_p90_min": "Acknowledge p90 (min)",
        "resolve_median_min": "Resolve median (min)", "resolve_p90_min": "Resolve p90 (min)"}).round(1),
        hide_index=True, width="stretch", key="metrics-table")

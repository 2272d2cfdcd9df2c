"""Streamlit panels of the support packet page: help links, the form, generation with progress, the review."""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path

import pandas as pd
import streamlit as st

from collectors.mattermost_admin import set_log_level
from collectors.mattermost_models import MattermostFacts
from collectors.runner import run_async
from packet.builder import PacketResult, build_packet
from packet.form import COMPONENTS, DATABASE_TYPES, PacketForm
from packet.gather import gather
from ui.context import PageContext, clear_snapshots, effective_environment

ENTERPRISE_SUPPORT = "https://support.mattermost.com"
COMMUNITY_FORUM = "https://forum.mattermost.com"
STATE = "support_packet"


def render_help(facts: MattermostFacts | None, support_url: str | None) -> None:
    licensed = facts is not None and facts.license is not None and facts.license.is_licensed
    if support_url:
        st.markdown(f"Send the packet to your support team: {support_url}")
    elif licensed:
        st.markdown(f"Licensed deployments get help from Mattermost's enterprise support: open a ticket at "
                    f"{ENTERPRISE_SUPPORT} and attach the packet.")
    else:
        st.markdown(f"Without a license, ask on the community forum at {COMMUNITY_FORUM}; share the packet's "
                    "README and findings, not the whole zip, in public.")


LOG_LEVEL_DOC = ("log_level", "previous")


def _change_level(context: PageContext, actor: str, level: str, remember_previous: bool) -> None:
    env = effective_environment(context.env)
    token = env.mattermost.token.get_secret_value() if env.mattermost and env.mattermost.token else None
    if env.mattermost is None or token is None:
        st.error("The log level can only be changed with a system admin token configured for this environment.")
        return
    change = run_async(set_log_level(env.mattermost, token, level))
    if change.error:
        st.error(change.error)
        return
    if context.store is not None:
        kind, key = LOG_LEVEL_DOC
        stored = context.store.get(kind, key, env.name)
        body = {"level": change.previous} if remember_previous else {"level": None}
        context.store.put(kind, key, env.name, body, actor=actor,
                          expected_version=stored.version if stored else None)
        context.store.record(actor, "log_level.change", environment=env.name,
                             details={"from": change.previous, "to": change.current})
    clear_snapshots()
    st.success(f"Log level changed from {change.previous} to {change.current}.")


def render_log_level(context: PageContext, facts: MattermostFacts | None, actor: str) -> None:
    """Warn when logs are not at DEBUG; raise the level after confirmation, and offer to put it back."""
    level = ((facts.config or {}).get("LogSettings") or {}).get("FileLevel") if facts else None
    stored = context.store.get(*LOG_LEVEL_DOC, context.env.name) if context.store is not None else None
    previous = stored.body.get("level") if stored else None
    if level and str(level).upper() != "DEBUG":
        st.warning(f"Your support packet output will be limited until log level is changed (the log file is at "
                   f"{level}; support usually needs DEBUG while the problem happens).", icon=":material/warning:")
        confirmed = st.checkbox("I understand DEBUG logging writes much more and should be turned back after the "
                                "packet is made.", key="confirm_debug")
        if st.button("Change log level to DEBUG", disabled=not confirmed):
            _change_level(context, actor, "DEBUG", remember_previous=True)
    elif level and previous:
        st.info(f"Logging is at DEBUG; it was {previous} before this dashboard changed it.")
        if st.button(f"Restore log level {previous}"):
            _change_level(context, actor, previous, remember_previous=False)


def _when(label: str, key: str) -> datetime | None:
    left, right = st.columns(2)
    day = left.date_input(f"{label}: date", value=None, key=f"{key}_date")
    moment = right.time_input(f"{label}: time (UTC)", value=time(0, 0), key=f"{key}_time")
    return datetime.combine(day, moment, tzinfo=UTC) if day else None


@dataclass(frozen=True)
class Submitted:
    form: PacketForm
    pseudonymise_key: bytes | None
    ldap_trace: bool


def render_form(ldap_configured: bool) -> Submitted | None:
    """The seed's information form and the packet's options; returned when submitted and valid."""
    with st.form("packet_form"):
        issue = st.text_area("Describe the issue", placeholder="What went wrong, for whom, since when?")
        left, right = st.columns(2)
        users = left.number_input("Users affected", min_value=0, step=1, value=None)
        percent = right.number_input("Productivity affected (%)", min_value=0, max_value=100, step=5, value=None)
        steps = st.text_area("Steps to reproduce")
        component = st.selectbox("Mattermost component", COMPONENTS, index=len(COMPONENTS) - 1)
        left, right = st.columns(2)
        environment_os = left.text_input("Environment: operating system", placeholder="Ubuntu 24.04")
        ha = right.radio("High availability", ["Not sure", "Yes", "No"], horizontal=True)
        left, middle, right = st.columns(3)
        database = left.selectbox("Database", DATABASE_TYPES)
        database_other = middle.text_input("Other database (if Other)")
        database_version = right.text_input("Database version", placeholder="15.8")
        st.caption("When the problem started and ended sets the window of server logs included (plus 30 minutes).")
        started = _when("Problem started", "started")
        ended = _when("Problem ended", "ended")
        key = st.text_input("Pseudonymisation key (optional, for regulated sites)", type="password",
                            help="With a key of 16 characters or more, usernames, emails, IP addresses and host names "
                                 "are replaced by consistent pseudonyms. Keep the key: it maps them back. It is "
                                 "never stored or written into the packet.")
        trace = st.checkbox("Include an LDAP trace (one connection, bind and search; passwords hidden)",
                            disabled=not ldap_configured,
                            help=None if ldap_configured else "Configure the ldap source for this environment first.")
        submitted = st.form_submit_button("Generate support packet", type="primary", icon=":material/inventory_2:")
    if not submitted:
        return None
    form = PacketForm(issue=issue, users_affected=int(users) if users is not None else None,
                      productivity_affected_percent=int(percent) if percent is not None else None,
                      steps_to_reproduce=steps, component=component, environment_os=environment_os,
                      high_availability={"Yes": True, "No": False}.get(ha), database_type=database,
                      database_other=database_other, database_version=database_version, started_at=started,
                      ended_at=ended)
    problems = form.problems()
    if key and len(key) < 16:
        problems.append("The pseudonymisation key must be at least 16 characters long.")
    for problem in problems:
        st.error(problem)
    return None if problems else Submitted(form, key.encode() if key else None, trace)


def _scratch() -> Path:
    folder = st.session_state.setdefault(f"{STATE}_dir", tempfile.mkdtemp(prefix="mmdash-packet-"))
    return Path(folder)


def generate(context: PageContext, submitted: Submitted, username: str, email: str | None) -> None:
    """Collect with live progress, build, and keep the request so the review can rebuild it."""
    env = effective_environment(context.env)
    with st.status("Generating the support packet...", expanded=True) as status:
        # A demo's Site URL and SMTP server are fictional names: testing them would only ask DNS about them.
        gathered = run_async(gather(env, deadline_s=context.settings.deadline_seconds, scratch=_scratch(),
                                    progress=st.write, test_site_and_smtp=not env.is_demo,
                                    trace_ldap=submitted.ldap_trace))
        if gathered.snapshot is not None:
            for name, source in gathered.snapshot.sources.items():
                st.write(f"{name}: {source.status.value} in {source.elapsed_ms:,.0f} ms"
                         + (f" ({source.error})" if source.error else ""))
        for check in gathered.checks:
            (st.write if check.ok else st.error)(f"{'OK' if check.ok else 'FAILED'}: {check.name}: {check.detail}")
        for note in gathered.notes:
            st.warning(note)
        request = gathered.request(context.settings, env, generated_by=username, generated_by_email=email,
                                   form=submitted.form, log_files=env.files.logs,
                                   pseudonymise_key=submitted.pseudonymise_key)
        result = build_packet(request, _scratch() / "support_packet.zip", progress=st.write)
        status.update(label="Support packet ready for review" if result.ok else "The packet was blocked",
                      state="complete" if result.ok else "error")
    st.session_state[STATE] = (request, result)
    if context.store is not None and result.ok:
        context.store.record(username, "packet.generate", environment=env.name,
                             details={"files": len(result.members), "redactions": result.total_redactions})


def rebuild_with_terms(terms: list[str]) -> None:
    request, _ = st.session_state[STATE]
    request = dataclasses.replace(request, extra_terms=tuple(sorted({*request.extra_terms, *terms})))
    result = build_packet(request, _scratch() / "support_packet.zip")
    st.session_state[STATE] = (request, result)


def render_review(result: PacketResult) -> None:
    if result.leaks:
        st.error(f"Blocked: {len(result.leaks)} known secret(s) were found in the packet, so it was not offered for "
                 "download. Add the terms below or fix the source, then rebuild.")
        st.dataframe(pd.DataFrame([{"Where": leak.where(), "Secret": leak.label, "Form": leak.form}
                                   for leak in result.leaks]), hide_index=True, width="stretch")
    for member, why in result.errors.items():
        st.caption(f"Not collected: {member}: {why}")
    st.subheader(f"Redactions ({result.total_redactions})")
    if result.redactions:
        st.dataframe(pd.DataFrame([{"File": r.member, "Line": r.line or "", "Rule": r.rule, "Context": r.context}
                                   for r in result.redactions]), hide_index=True, width="stretch")
    else:
        st.caption("Nothing needed redacting.")
    st.subheader("Files")
    st.dataframe(pd.DataFrame([{"File": m.name, "Bytes": m.size_after, "Redactions": m.redactions,
                                "Truncated": m.truncated, "Note": m.note or ""} for m in result.members]),
                 hide_index=True, width="stretch")
    with st.form("extra_terms"):
        terms = st.text_area("More terms to mask (one per line): customer names, internal hostnames...")
        if st.form_submit_button("Rebuild with these terms masked"):
            rebuild_with_terms([t.strip() for t in terms.splitlines() if len(t.strip()) >= 3])
            st.rerun()
    if result.ok and result.path is not None:
        st.download_button("Download support packet", data=result.path.read_bytes(), type="primary",
                           file_name=f"mattermost_support_packet_{datetime.now(UTC):%Y%m%d_%H%M}.zip",
                           mime="application/zip", icon=":material/download:", on_click="ignore")

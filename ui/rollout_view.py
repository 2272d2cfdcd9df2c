"""Streamlit panels of the rollout page: the checklist per section, editable, with the system's verdicts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

import streamlit as st

from checklists import board, environments, plan_charts, progress, verification_log
from checklists.loader import PLAN_PATH, ROLLOUT_PATH, ImplementationPlan, LastGood, Rollout, load_plan, load_rollout
from checklists.progress import EnvironmentProgress, Status
from checklists.verify import Verification, verify
from health.packet_inputs import from_live
from store import ConflictError, Store, StoreError
from ui.context import PageContext
from ui.signin import signed_in

STATUSES = [status.value for status in Status]
LOADERS = {"checklist": load_rollout, "implementation plan": load_plan}
T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def _last_good(what: str, path: str) -> LastGood:
    return LastGood(LOADERS[what])


def _load(what: str, path: str) -> Any:  # the model LOADERS[what] gives
    """The file; when an edit broke it, the last good version and the error on screen."""
    loaded = _last_good(what, path).load(path)
    if loaded.error is not None:
        st.error(f"The {what} file has errors, so the last good version is shown: {loaded.error}")
    return loaded.model


def checklist(context: PageContext) -> Rollout | None:
    return _load("checklist", str(context.settings.rollout_checklist or ROLLOUT_PATH))


def plan(context: PageContext) -> ImplementationPlan | None:
    return _load("implementation plan", str(context.settings.implementation_plan or PLAN_PATH))


def save_each(changes: Sequence[T], save: Callable[[T], object], name: Callable[[T], str],
              refused: type[Exception] | tuple[type[Exception], ...] = ()) -> int:
    """Save every change, saying on screen which were not saved and why; returns how many were saved. `refused`
    names the errors whose message already says what to change (shown as they are)."""
    saved = 0
    for change in changes:
        try:
            save(change)
            saved += 1
        except refused as exc:
            st.error(f"Not saved: {exc}.")
        except ConflictError as conflict:
            st.error(f"{name(change)}: {conflict} Your edit is still in the table: reload to see theirs, then "
                     "apply yours again.")
        except StoreError as exc:
            st.error(f"{name(change)} was not saved ({exc}); your edit is still in the table, try again.")
    return saved


def verifications(context: PageContext, rollout: Rollout) -> dict[str, Verification]:
    inputs = from_live(context.snapshot())
    return {item.id: verify(item.verify, inputs) for _, _, item in rollout.items() if item.verify}


def progress_or_empty(context: PageContext, rollout: Rollout) -> EnvironmentProgress:
    """This environment's saved progress; with the store down, none (and the page says so)."""
    if context.store is not None:
        try:
            return progress.load(context.store, rollout, context.env.name)
        except StoreError as exc:
            st.error(f"Progress could not be read from the store ({exc}); the checklist is shown without it.")
    return progress.EnvironmentProgress(context.env.name)


def regressions(context: PageContext, checks: dict[str, Verification]) -> list[verification_log.Regression]:
    """Items the system verified before and that fail now; this visit's verdicts are recorded for the next one."""
    if context.store is None:
        return []
    try:
        found = verification_log.observe(context.store, context.env.name, checks)
    except StoreError as exc:
        st.warning(f"The system's verdicts could not be compared with earlier ones ({exc}).")
        return []
    return found


def render_regressions(rollout: Rollout, found: list[verification_log.Regression]) -> None:
    if not found:
        return
    texts = {item.id: item.text for _, _, item in rollout.items()}
    lines = [f"- **{texts.get(r.item_id, r.item_id)}**: verified since {r.verified_since:%Y-%m-%d}, failing since "
             f"{r.failing_since:%Y-%m-%d %H:%M} UTC ({r.evidence})" for r in found]
    st.error(f"**{len(found)} regression(s)**: the system verified these before and now says they fail.\n\n"
             + "\n".join(lines), icon=":material/trending_down:")


def render_attention(rollout: Rollout, state: EnvironmentProgress, today: date) -> None:
    frame = environments.overdue_and_unowned(rollout, state, today)
    label = f"Needs attention: {len(frame)} item(s) overdue or without an owner"
    with st.expander(label, expanded=False, icon=":material/assignment_late:"):
        if frame.empty:
            st.success("Nothing overdue, and every open item has an owner.")
        else:
            st.dataframe(frame.drop(columns=["id"]), hide_index=True, width="stretch")


def render_summary(summary: board.Summary) -> None:
    with st.container(horizontal=True):
        st.metric("Done", f"{summary.percent}%", border=True, help=f"{summary.done} of {summary.items} items "
                  "(not applicable counts as done)")
        st.metric("Verified by system", summary.verified, border=True)
        st.metric("Done but failing", summary.failing, border=True,
                  help="Marked done, but the live system says the item does not hold (a regression).")
        st.metric("Overdue", summary.overdue, border=True)
        st.metric("Without owner", summary.unowned, border=True)


def _save(store: Store, context: PageContext, changes: list[progress.ItemProgress], actor: str) -> bool:
    """Save every change; True when all were saved (otherwise the errors stay on screen with the edits)."""
    saved = save_each(changes, lambda item: progress.save(store, item, actor=actor), lambda item: item.item_id)
    if saved:
        st.toast(f"Saved {saved} item(s) for {context.env.label}.")
    return saved == len(changes)


def render_sections(context: PageContext, rollout: Rollout, state: EnvironmentProgress,
                    checks: dict[str, Verification], actor: str) -> None:
    config = {"id": None, "Item": st.column_config.TextColumn(disabled=True, width="large"),
              "Status": st.column_config.SelectboxColumn(options=STATUSES, required=True),
              "Due": st.column_config.DateColumn(), "Evidence": st.column_config.LinkColumn(),
              "System check": st.column_config.TextColumn(disabled=True, width="medium"),
              "Updated": st.column_config.TextColumn(disabled=True)}
    for phase in rollout.phases:
        st.subheader(phase.title)
        for section in phase.sections:
            before = board.section_rows(section, state, checks)
            done = sum(state.get(item.id).finished for item in section.items)
            # A closed section builds nothing: 30 editable tables at once were most of the page's time.
            with st.expander(f"{section.number}. {section.title}: {done}/{len(before)} done",
                             key=f"open-{context.env.name}-{section.id}", on_change="rerun") as box:
                if not box.open:
                    continue
                with st.form(f"section-{section.id}"):
                    after = st.data_editor(before, hide_index=True, width="stretch", column_config=config,
                                           key=f"editor-{context.env.name}-{section.id}")
                    submitted = st.form_submit_button("Save changes")
                if submitted:
                    changes = board.edits(before, after, state)
                    if context.store is None:
                        st.error("The store is unavailable, so nothing was saved; your edits are still in the table.")
                    elif changes and _save(context.store, context, changes, actor):
                        st.rerun()


def other_environment(context: PageContext, name: str) -> PageContext:
    """The same visitor's view of environment `name`, signed in there if they are (demo ones sign in by themselves)."""
    identity = signed_in(context.settings.environment(name), context.store)
    return context.environment(name, identity.token if identity else None)


def render_environments(context: PageContext, rollout: Rollout, today: date) -> None:
    if context.store is None:
        st.error("The store is unavailable, so other environments' progress cannot be read; try again shortly.")
        return
    names = list(context.settings.environments)
    labels = {name: context.settings.environments[name].label for name in names}
    try:
        progresses = {name: progress.load(context.store, rollout, name) for name in names}
    except StoreError as exc:
        st.error(f"Progress could not be read from the store ({exc}).")
        return
    with st.spinner("Asking each environment's live system..."):
        checks = {name: verifications(other_environment(context, name), rollout) for name in names}
    matrix = environments.section_matrix(rollout, progresses).rename(columns=labels)
    st.subheader("Per section, percent done")
    st.dataframe(matrix, hide_index=True, width="stretch", height="content",
                 column_config={labels[n]: st.column_config.ProgressColumn(labels[n], min_value=0, max_value=100,
                                                                           format="%d%%") for n in names})
    st.subheader("Per item")
    st.caption("Status per environment with the live system's verdict: ✔ verified, ✖ the system says no, "
               "? cannot tell.")
    frame = environments.side_by_side(rollout, progresses, checks)
    if st.toggle("Only where environments differ", value=True, key="env-diff-only"):
        frame = environments.differences_only(frame)
    st.dataframe(frame.drop(columns=["id"]).rename(columns=labels), hide_index=True, width="stretch")
    st.subheader("Burn-up")
    chosen = st.segmented_control("Environment", names, default=context.env.name, format_func=labels.get,
                                  key="burn-up-env") or context.env.name
    render_burn_up(context, rollout, chosen, today)


def render_burn_up(context: PageContext, rollout: Rollout, environment: str, today: date) -> None:
    try:
        points = environments.burn_up(context.store, rollout, environment, today)
    except StoreError as exc:
        st.error(f"The history could not be read from the store ({exc}).")
        return
    if not points:
        st.info("No progress saved yet in this environment: the burn-up starts with the first saved status.")
        return
    st.plotly_chart(plan_charts.burn_up(points), width="stretch", key=f"burn-up-{environment}")


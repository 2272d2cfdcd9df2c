"""Streamlit panel of the rollout page: the review meeting's one page, and its HTML, Markdown and CSV exports."""

from __future__ import annotations

import re
from datetime import date
from functools import partial

import streamlit as st

from checklists import review, review_export, schedule
from checklists.loader import ImplementationPlan, Rollout
from health.charts import peak_usage
from health.engine import evaluate
from health.packet_inputs import from_live
from store import StoreError
from ui import rollout_view
from ui.context import PageContext

TREND_HOURS = 24 * 7
_HEADING = re.compile(r"^## ", re.MULTILINE)


def _overdue_tasks(context: PageContext, plan: ImplementationPlan, today: date) -> list[review.ScheduledTask]:
    if context.store is None:
        return []
    try:
        start, _ = schedule.project_start(context.store, context.env.name, today)
        current = schedule.load(context.store, plan, context.env.name, start)
    except StoreError:
        return []  # the checklist part already says the store is down
    return [review.ScheduledTask(task.name, task.end, task.owner) for task in schedule.overdue(current, today)]


def build(context: PageContext, rollout: Rollout, plan: ImplementationPlan, today: date) -> review.Review:
    state = rollout_view.progress_or_empty(context, rollout)
    checks = rollout_view.verifications(context, rollout)
    snapshot = context.snapshot()
    return review.build_review(rollout, state, checks, snapshot, evaluate(from_live(snapshot)),
                               context.metrics_range(TREND_HOURS), today, context.env.label,
                               schedule_overdue=_overdue_tasks(context, plan, today))


def _items_csv(context: PageContext, rollout: Rollout) -> str:
    state = rollout_view.progress_or_empty(context, rollout)
    return review_export.items_csv(rollout, state, rollout_view.verifications(context, rollout), context.env.name)


def render(context: PageContext, rollout: Rollout, plan: ImplementationPlan, today: date) -> None:
    with st.spinner("Gathering progress, usage, trends and findings..."):
        result = build(context, rollout, plan, today)
    stem = f"rollout-review-{context.env.name}-{today.isoformat()}"
    with st.container(horizontal=True):
        st.download_button("HTML report", partial(review_export.to_html, result), file_name=f"{stem}.html",
                           mime="text/html", icon=":material/download:", on_click="ignore",
                           help="One self-contained file (charts included) that opens offline and prints well.")
        st.download_button("Markdown", partial(review_export.to_markdown, result), file_name=f"{stem}.md",
                           mime="text/markdown", icon=":material/download:", on_click="ignore")
        st.download_button("Items (CSV)", partial(_items_csv, context, rollout), file_name=f"{stem}-items.csv",
                           mime="text/csv", icon=":material/download:", on_click="ignore")
    progress = result.progress
    with st.container(horizontal=True):
        st.metric("Done", f"{progress.overall.percent}%", border=True,
                  help=f"{progress.overall.done} of {progress.overall.items} items")
        st.metric("Verified by system", progress.verified, border=True)
        st.metric("Regressions", progress.regressions, border=True)
        st.metric("Blockers", len(result.blockers), border=True)
        st.metric("Open findings", len(result.findings.firing), border=True)
    # The Markdown export is the page's text, so screen and file never disagree; charts go after their section.
    for section in _HEADING.split(review_export.to_markdown(result))[1:]:
        st.markdown("## " + section)
        if section.startswith("Usage") and not isinstance(result.usage.peak, review.Unavailable):
            st.plotly_chart(peak_usage(result.usage.peak.activity), width="stretch", key="review-peak")
        if section.startswith("Performance") and not isinstance(result.performance, review.Unavailable):
            figure = review_export.trends_figure(result.performance)
            if figure is not None:
                st.plotly_chart(figure, width="stretch", key="review-trends")

"""The review meeting view as files to hand around: one self-contained HTML page, Markdown, and the items as CSV.

The HTML must open on a laptop with no network in the meeting room and survive being mailed: styles are inline,
plotly.js is embedded once, and no tag loads anything from elsewhere. Every text that came from people or
servers is escaped, since item notes and server answers are not ours to trust.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from urllib.parse import urlsplit

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from checklists.loader import Rollout
from checklists.markdown import escape
from checklists.progress import EnvironmentProgress
from checklists.review import (
    WEEKDAY_NAMES,
    CompletionRow,
    PerformanceReview,
    Review,
    Trend,
    TrendSummary,
    Unavailable,
)
from checklists.verify import Verification
from health.charts import peak_usage
from health.panels import size

CSV_COLUMNS = ("environment", "phase", "section", "id", "item", "status", "owner", "due", "notes", "evidence",
               "system check", "updated by", "updated at")
# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(...) can leak data); tab and
# carriage return are on OWASP's list too, as some spreadsheets strip them and read what follows.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TREND_MARKS = {Trend.RISING: "↑ rising", Trend.FALLING: "↓ falling", Trend.FLAT: "→ flat", Trend.UNKNOWN: "? unknown"}
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
TREND_ROW_HEIGHT = 170

STYLE = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --accent: #1c58d9; --bad: #c0392b; --warn: #b7791f;
        --good: #1a7f37; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 1px solid
var(--line); padding-bottom: 4px; } h3 { font-size: 15px; margin: 18px 0 6px; }
.meta, .note { color: var(--muted); } nav a { margin-right: 12px; color: var(--accent); }
.kpis { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0 12px; }
.kpi { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 150px; }
.kpi b { display: block; font-size: 22px; } .kpi span { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
th { background: #f6f8fa; } td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.bar { display: inline-block; width: 120px; height: 10px; background: #eaeef2; border-radius: 5px;
       vertical-align: middle; margin-right: 6px; overflow: hidden; }
.bar > span { display: block; height: 100%; background: var(--good); }
.unavailable { color: var(--warn); font-style: italic; }
.sev-critical { color: var(--bad); font-weight: 600; } .sev-warning { color: var(--warn); font-weight: 600; }
.kind-regression, .kind-overdue { color: var(--bad); font-weight: 600; }
.chart { margin: 8px 0 16px; break-inside: avoid; }
@page { margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; } nav { display: none; }
  section { break-inside: auto; } h2, h3 { break-after: avoid; } tr, .kpi, .chart { break-inside: avoid; }
  a { color: inherit; text-decoration: none; } th { background: #eee !important; print-color-adjust: exact; }
  .bar > span { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
"""


# ================================================================================================= formatting

def format_value(value: float, unit: str) -> str:
    if unit == "percent":
        return f"{value:,.1f} %"
    if unit == "bytes":
        return size(round(value)) or ""
    if unit == "per_second":
        return f"{value:,.2f}/s"
    if unit == "seconds":
        return f"{value:,.3f} s"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def trend_text(summary: TrendSummary) -> str:
    change = "" if summary.change_percent is None else f" ({summary.change_percent:+.1f} %)"
    return TREND_MARKS[summary.trend] + change


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def _due(day: date | None) -> str:
    return day.isoformat() if day else ""


def _progress_line(review: Review) -> str:
    progress = review.progress
    overall = progress.overall
    return (f"{overall.percent} % done ({overall.done} of {overall.items} items; not applicable counts as done); "
            f"verified by the live system: {progress.verified}; the system says no: {progress.failing} "
            f"(marked done: {progress.regressions}); blockers: {len(review.blockers)}")


def _performance_rows(performance: PerformanceReview) -> list[tuple[str, ...]]:
    rows = []
    for metric in performance.metrics:
        s = metric.summary
        if isinstance(s, Unavailable):
            rows.append((metric.title, "", "", "", "", "", str(s)))
            continue
        rows.append((metric.title, str(s.nodes), *(format_value(v, metric.unit)
                                                    for v in (s.minimum, s.mean, s.maximum, s.latest)),
                     trend_text(s)))
    return rows


PERFORMANCE_HEADERS = ("Metric (sum over nodes)", "Nodes", "Min", "Mean", "Max", "Latest", "Trend")
BLOCKER_HEADERS = ("Kind", "Item", "Where", "Reason", "Owner", "Due", "Notes")
FINDING_HEADERS = ("Severity", "Area", "Finding", "Observed", "Threshold", "What to do")


# ================================================================================================= HTML

def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _link(url: str, text: str) -> str:
    """A link only for http(s) addresses; anything else (javascript:, data:) stays plain text."""
    if urlsplit(url).scheme in ("http", "https"):
        return f'<a href="{_e(url)}" rel="noopener noreferrer">{_e(text)}</a>'
    return _e(text)


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = (),
           raw: Iterable[int] = ()) -> str:
    """Cells are escaped unless their column is in `raw` (already HTML built here from escaped parts)."""
    numeric, raw = set(numeric), set(raw)
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td{" class=num" if i in numeric else ""}>{cell if i in raw else _e(cell)}</td>'
                         for i, cell in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _unavailable(value: Unavailable) -> str:
    return f"<p>{_unavailable_inline(value)}</p>"


def _unavailable_inline(value: Unavailable) -> str:
    return f'<span class="unavailable">{_e(value)}</span>'


def _bar(percent: int) -> str:
    return f'<span class="bar"><span style="width:{max(0, min(100, int(percent)))}%"></span></span>{percent} %'


def _completion_rows(rows: Iterable[CompletionRow], labels: Callable[[CompletionRow], tuple[str, ...]]
                     ) -> list[tuple[str, ...]]:
    return [(*(_e(label) for label in labels(r)), str(r.done), str(r.in_progress), str(r.items), _bar(r.percent))
            for r in rows]


class _Figures:
    """Embeds plotly figures, putting plotly.js inline with the first one only."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._js_included = False

    def __call__(self, figure: go.Figure) -> str:
        if not self.enabled:
            return ""
        snippet = figure.to_html(full_html=False, include_plotlyjs=not self._js_included, config=PLOTLY_CONFIG)
        self._js_included = True
        return f'<div class="chart">{snippet}</div>'


def trends_figure(performance: PerformanceReview) -> go.Figure | None:
    """One small chart per metric that has data, stacked on one time axis."""
    shown = [m for m in performance.metrics if not isinstance(m.summary, Unavailable)]
    if not shown:
        return None
    figure = make_subplots(rows=len(shown), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                           subplot_titles=[f"{m.title}: {trend_text(m.summary)}" for m in shown])
    for row, metric in enumerate(shown, start=1):
        summary: TrendSummary = metric.summary  # type: ignore[assignment]
        figure.add_trace(go.Scatter(x=list(summary.times), y=list(summary.values), mode="lines", name=metric.title,
                                    showlegend=False), row=row, col=1)
        figure.update_yaxes(rangemode="tozero", row=row, col=1,
                            ticksuffix={"percent": "%", "bytes": "B"}.get(metric.unit, ""),
                            tickformat=".2s" if metric.unit == "bytes" else None)
    figure.update_layout(height=TREND_ROW_HEIGHT * len(shown) + 60, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                         hovermode="x unified")
    return figure


def to_html(review: Review, figures: bool = True) -> str:
    """One self-contained HTML page: inline styles, plotly.js inline once (with `figures`), nothing fetched."""
    chart = _Figures(figures)
    title = f"Review · {review.environment_label}"
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
        f"<header><h1>{_e(title)}</h1><p class=meta>{_e(review.title)} · environment {_e(review.environment)} · "
        f"review of {_e(review.today.isoformat())} · live facts collected {_e(_when(review.facts_collected_at))}"
        "</p></header>",
        '<nav><a href="#progress">Progress</a><a href="#blockers">Blockers</a><a href="#usage">Usage</a>'
        '<a href="#performance">Performance</a><a href="#findings">Health findings</a></nav>',
        _html_progress(review), _html_blockers(review), _html_usage(review, chart), _html_performance(review, chart),
        _html_findings(review),
        "</body></html>",
    ]
    return "\n".join(parts)


def _html_progress(review: Review) -> str:
    progress = review.progress
    kpis = [(f"{progress.overall.percent} %", f"done ({progress.overall.done} of {progress.overall.items})"),
            (str(progress.verified), "verified by the live system"),
            (str(progress.failing), "the system says no"),
            (str(progress.regressions), "marked done but failing"),
            (str(len(review.blockers)), "blockers")]
    boxes = "".join(f'<div class="kpi"><b>{_e(value)}</b><span>{_e(label)}</span></div>' for value, label in kpis)
    headers = ("Done", "In progress", "Items", "Complete")
    phases = _table(("Phase", *headers), _completion_rows(progress.phases, lambda r: (r.phase,)),
                    numeric=(1, 2, 3), raw=range(5))
    sections = _table(("Phase", "Section", *headers),
                      _completion_rows(progress.sections, lambda r: (r.phase, r.section or "")),
                      numeric=(2, 3, 4), raw=range(6))
    return (f'<section id="progress"><h2>Progress</h2><div class="kpis">{boxes}</div>'
            f"<h3>By phase</h3>{phases}<h3>By section</h3>{sections}</section>")


def _html_blockers(review: Review) -> str:
    if not review.blockers:
        return '<section id="blockers"><h2>Blockers</h2><p>No blockers.</p></section>'
    rows = [(f'<span class="kind-{_e(b.kind.name.lower())}">{_e(b.kind.value)}</span>', _e(b.title),
             _e(b.where) + (f"<br><code>{_e(b.item_id)}</code>" if b.item_id else ""), _e(b.reason), _e(b.owner),
             _e(_due(b.due)), _e(b.notes)) for b in review.blockers]
    return (f'<section id="blockers"><h2>Blockers ({len(review.blockers)})</h2>'
            f"{_table(BLOCKER_HEADERS, rows, raw=range(len(BLOCKER_HEADERS)))}</section>")


def _html_usage(review: Review, chart: _Figures) -> str:
    usage = review.usage
    figures = [(_e(f.label), f"{f.value:,}" if isinstance(f.value, int) else _unavailable_inline(f.value),
                _e(f.source)) for f in usage.figures]
    parts = ['<section id="usage"><h2>Usage</h2>', _table(("What", "Value", "Source"), figures, numeric=(1,),
                                                           raw=(0, 1, 2)),
             "<h3>Busiest channels</h3>"]
    if isinstance(usage.top_channels, Unavailable):
        parts.append(_unavailable(usage.top_channels))
    else:
        parts.append(_table(("Channel", "Team", "Type", "Messages"),
                            [(c.display_name, c.team_display_name, "public" if c.type == "O" else "private",
                              f"{c.messages:,}") for c in usage.top_channels], numeric=(3,)))
    parts.append("<h3>Busiest teams</h3>")
    if isinstance(usage.top_teams, Unavailable):
        parts.append(_unavailable(usage.top_teams))
    else:
        parts.append(_table(("Team", "Messages", "Channels"),
                            [(t.display_name, f"{t.messages:,}", f"{t.channels:,}") for t in usage.top_teams],
                            numeric=(1, 2)))
    parts.append("<h3>Peak usage times</h3>")
    if isinstance(usage.peak, Unavailable):
        parts.append(_unavailable(usage.peak))
    else:
        parts.append(f"<p>{_e(usage.peak.summary)}</p>")
        parts.append(chart(peak_usage(usage.peak.activity)) or _table(
            ("Weekday", "Posts"), [(day, f"{n:,}") for day, n in zip(WEEKDAY_NAMES, usage.peak.activity.by_weekday,
                                                                    strict=True)], numeric=(1,)))
    parts.append("</section>")
    return "".join(parts)


def _html_performance(review: Review, chart: _Figures) -> str:
    performance = review.performance
    if isinstance(performance, Unavailable):
        return f'<section id="performance"><h2>Performance trends</h2>{_unavailable(performance)}</section>'
    figure = trends_figure(performance)
    table = _table(PERFORMANCE_HEADERS, _performance_rows(performance), numeric=range(1, 6))
    return (f'<section id="performance"><h2>Performance trends</h2><p class=note>{_e(_when(performance.start))} to '
            f"{_e(_when(performance.end))}, from {_e(performance.source)}. Trend: the last quarter's mean against "
            f"the first quarter's.</p>{table}{chart(figure) if figure is not None else ''}</section>")


def _html_findings(review: Review) -> str:
    findings = review.findings
    rows = [(f'<span class="sev-{_e(f.severity.value)}">{_e(f.severity.value)}</span>', _e(f.area),
             _link(f.docs_url, f.title) + (f" ({_e(f.subject)})" if f.subject else ""), _e(f.observed),
             _e(f.threshold), _e(f.remediation)) for f in findings.firing]
    table = _table(FINDING_HEADERS, rows, raw=range(len(FINDING_HEADERS))) if rows else "<p>No firing findings.</p>"
    return (f'<section id="findings"><h2>Open health findings ({len(findings.firing)})</h2>'
            f"<p>{_e(findings.headline)}. {findings.unknown} of {findings.evaluated} checks could not tell for want "
            f"of facts.</p>{table}</section>")


# ================================================================================================= Markdown

def _md_table(headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: Iterable[int] = ()) -> str:
    numeric = set(numeric)
    lines = ["| " + " | ".join(escape(h) for h in headers) + " |",
             "|" + "|".join("---:" if i in numeric else "---" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(escape(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(review: Review) -> str:
    """The review as GitHub Markdown: headings and tables, no charts."""
    progress, usage = review.progress, review.usage
    out = [f"# Review · {escape(review.environment_label)}", "",
           f"{escape(review.title)} · environment {escape(review.environment)} · "
           f"review of {review.today.isoformat()} · "
           f"live facts collected {escape(_when(review.facts_collected_at))}", "",
           "## Progress", "", escape(_progress_line(review)), "",
           _md_table(("Phase", "Done", "In progress", "Items", "Complete"),
                     [(r.phase, r.done, r.in_progress, r.items, f"{r.percent} %") for r in progress.phases],
                     numeric=(1, 2, 3, 4)), "",
           _md_table(("Phase", "Section", "Done", "In progress", "Items", "Complete"),
                     [(r.phase, r.section, r.done, r.in_progress, r.items, f"{r.percent} %")
                      for r in progress.sections], numeric=(2, 3, 4, 5)), "",
           f"## Blockers ({len(review.blockers)})", ""]
    out.append(_md_table(BLOCKER_HEADERS, [(b.kind.value, b.title, b.where + (f" ({b.item_id})" if b.item_id else ""),
                                            b.reason, b.owner, _due(b.due), b.notes) for b in review.blockers])
               if review.blockers else "No blockers.")
    out += ["", "## Usage", "",
            _md_table(("What", "Value", "Source"),
                      [(f.label, f"{f.value:,}" if isinstance(f.value, int) else str(f.value), f.source)
                       for f in usage.figures], numeric=(1,)),
            "", "### Busiest channels", ""]
    out.append(escape(usage.top_channels) if isinstance(usage.top_channels, Unavailable) else _md_table(
        ("Channel", "Team", "Type", "Messages"),
        [(c.display_name, c.team_display_name, "public" if c.type == "O" else "private", f"{c.messages:,}")
         for c in usage.top_channels], numeric=(3,)))
    out += ["", "### Busiest teams", ""]
    out.append(escape(usage.top_teams) if isinstance(usage.top_teams, Unavailable) else _md_table(
        ("Team", "Messages", "Channels"), [(t.display_name, f"{t.messages:,}", t.channels) for t in usage.top_teams],
        numeric=(1, 2)))
    out += ["", "### Peak usage times", ""]
    if isinstance(usage.peak, Unavailable):
        out.append(escape(usage.peak))
    else:
        out += [escape(usage.peak.summary), "",
                _md_table(("Weekday (UTC)", "Posts"), [(day, f"{n:,}") for day, n in
                                                       zip(WEEKDAY_NAMES, usage.peak.activity.by_weekday,
                                                           strict=True)], numeric=(1,))]
    out += ["", "## Performance trends", ""]
    if isinstance(review.performance, Unavailable):
        out.append(escape(review.performance))
    else:
        perf = review.performance
        out += [escape(f"{_when(perf.start)} to {_when(perf.end)}, from {perf.source}; trend: the last quarter's mean "
                    "against the first quarter's."), "",
                _md_table(PERFORMANCE_HEADERS, _performance_rows(perf), numeric=range(1, 6))]
    findings = review.findings
    out += ["", f"## Open health findings ({len(findings.firing)})", "",
            escape(f"{findings.headline}. {findings.unknown} of {findings.evaluated} checks could not tell for want of "
                "facts."), ""]
    out.append(_md_table(FINDING_HEADERS, [(f.severity.value, f.area, f.title + (f" ({f.subject})" if f.subject
                                                                                  else ""),
                                            f.observed, f.threshold, f"{f.remediation} {f.docs_url}".strip())
                                           for f in findings.firing]) if findings.firing else "No firing findings.")
    return "\n".join(out) + "\n"


# ================================================================================================= CSV

def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _check(verification: Verification | None) -> str:
    return "" if verification is None else f"{verification.verdict.value}: {verification.evidence}"


def items_csv(rollout: Rollout, progress: EnvironmentProgress, verifications: Mapping[str, Verification],
              environment: str) -> str:
    """One row per checklist item, with the environment (as the caller names it) in the first column; cells a
    spreadsheet would run as a formula are prefixed with a single quote."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for phase, section, item in rollout.items():
        state = progress.get(item.id)
        row = (environment, phase.title, f"{section.number}. {section.title}", item.id, item.text,
               state.status.value, state.owner, _due(state.due), state.notes, state.evidence_url,
               _check(verifications.get(item.id)), state.updated_by or "",
               state.updated_at.isoformat(timespec="seconds") if state.updated_at else "")
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue()


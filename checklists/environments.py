"""Environments side by side, progress over time and what needs attention: the rollout review meeting's tables
(pandas frames, no UI library here)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import pandas as pd

from checklists import progress as progress_store
from checklists.loader import Rollout
from checklists.progress import FINISHED, EnvironmentProgress, Status
from checklists.verify import Verdict, Verification
from store import Store

ITEM_COLUMNS = ["Phase", "Section", "Item", "id"]
SECTION_COLUMNS = ["Phase", "Section"]
ATTENTION_COLUMNS = ["Section", "Item", "id", "Status", "Owner", "Due", "Problem"]
VERDICT_MARKS = {Verdict.VERIFIED: "✔", Verdict.FAILED: "✖", Verdict.UNKNOWN: "?"}
PROGRESS_TARGET = f"{progress_store.KIND}/"
# Store.audit returns the newest rows first and cuts at `limit`; a cut would drop the oldest saves and start the
# replay from a wrong state, so the limit only guards memory: 300 items saved ~20 times in 4 environments, next
# to incidents and verdict changes sharing the log, stay far below it (rows are small, ~200 bytes each).
BURN_UP_AUDIT_ROWS = 500_000


def _section_label(section_number: int, title: str) -> str:
    return f"{section_number}. {title}"


def _cell(status: Status, verification: Verification | None) -> str:
    return status.value if verification is None else f"{status.value} {VERDICT_MARKS[verification.verdict]}"


def _check_environments(names: Iterable[str], reserved: list[str]) -> list[str]:
    names = list(names)
    if not names:
        raise ValueError("no environments given: load the progress of at least one environment")
    clashing = sorted(set(names) & set(reserved))
    if clashing:
        raise ValueError(f"environment name(s) {', '.join(clashing)} clash with the table's own columns "
                         f"({', '.join(reserved)}): rename the environment")
    return names


def side_by_side(rollout: Rollout, progresses: dict[str, EnvironmentProgress],
                 verifications: dict[str, dict[str, Verification]]) -> pd.DataFrame:
    """One row per item; per environment a cell with its status and the system's verdict mark (✔ verified,
    ✖ failing, ? cannot tell; none where the system has no check or was not asked)."""
    environments = _check_environments(progresses, ITEM_COLUMNS)
    strangers = sorted(set(verifications) - set(environments))
    if strangers:
        raise ValueError(f"verifications given for {', '.join(strangers)} but no progress: load that environment's "
                         "progress too, or leave its verifications out")
    rows = []
    for phase, section, item in rollout.items():
        row = {"Phase": phase.title, "Section": _section_label(section.number, section.title), "Item": item.text,
               "id": item.id}
        for environment in environments:
            row[environment] = _cell(progresses[environment].get(item.id).status,
                                     verifications.get(environment, {}).get(item.id))
        rows.append(row)
    return pd.DataFrame(rows, columns=ITEM_COLUMNS + environments)


def section_matrix(rollout: Rollout, progresses: dict[str, EnvironmentProgress]) -> pd.DataFrame:
    """Per section, the percent of items done (not applicable counts as done) in each environment."""
    environments = _check_environments(progresses, SECTION_COLUMNS)
    frame = pd.DataFrame([{"Phase": phase.title, "Section": _section_label(section.number, section.title)}
                          for phase in rollout.phases for section in phase.sections], columns=SECTION_COLUMNS)
    for environment in environments:
        frame[environment] = [row["percent"] for row in progress_store.completion(rollout, progresses[environment])]
    return frame


def differences_only(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of a `side_by_side` table where the environments' cells (status or verdict) are not all equal."""
    environments = [column for column in frame.columns if column not in ITEM_COLUMNS]
    if not environments:
        raise ValueError("the table has no environment columns: pass the frame side_by_side() returns")
    return frame[frame[environments].nunique(axis=1) > 1]


def burn_up(store: Store, rollout: Rollout, environment: str, today: date) -> list[tuple[date, int, int]]:
    """(day, items done at the end of that day, items in the checklist now) from the first status change to `today`,
    replayed from the progress saves in the audit log. Empty when no save recorded a status.

    Saves made before the audit carried statuses are skipped, so items finished only then are not counted.
    Days are UTC days; done counts not applicable, and only items the checklist still has.
    """
    known = {item.id for _, _, item in rollout.items()}
    changes = [(entry.at.date(), entry.target.removeprefix(PROGRESS_TARGET), Status(entry.details["status"]))
               for entry in reversed(store.audit(limit=BURN_UP_AUDIT_ROWS, environment=environment,
                                                        target_prefix=PROGRESS_TARGET))
               if entry.target and entry.target.startswith(PROGRESS_TARGET) and "status" in entry.details]
    if not changes:
        return []
    statuses: dict[str, Status] = {}
    done = 0
    points = []
    pending = iter(changes)
    upcoming = next(pending, None)
    day = changes[0][0]
    while day <= today:
        while upcoming is not None and upcoming[0] <= day:
            _, item_id, status = upcoming
            if item_id in known:
                done += (status in FINISHED) - (statuses.get(item_id, Status.TODO) in FINISHED)
                statuses[item_id] = status
            upcoming = next(pending, None)
        points.append((day, done, len(known)))
        day += timedelta(days=1)
    return points


def overdue_and_unowned(rollout: Rollout, progress: EnvironmentProgress, today: date) -> pd.DataFrame:
    """Items not done that are past their due date or have no owner, in checklist order, with the reason."""
    rows = []
    for _, section, item in rollout.items():
        state = progress.get(item.id)
        if state.finished:
            continue
        problems = [reason for reason, applies in (("overdue", state.overdue(today)),
                                                   ("no owner", not state.owner)) if applies]
        if problems:
            rows.append({"Section": _section_label(section.number, section.title), "Item": item.text, "id": item.id,
                         "Status": state.status.value, "Owner": state.owner, "Due": state.due,
                         "Problem": ", ".join(problems)})
    return pd.DataFrame(rows, columns=ATTENTION_COLUMNS)

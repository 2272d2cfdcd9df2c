"""The rollout page's view of one environment: a row per item with its progress and the system's verdict, and
the edits a person made to those rows turned back into progress to save (no UI library here)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import pandas as pd

from checklists.loader import Rollout, Section
from checklists.progress import EnvironmentProgress, ItemProgress, Status
from checklists.verify import Verdict, Verification

COLUMNS = ["id", "Item", "Status", "Owner", "Due", "Notes", "Evidence", "System check", "Updated"]
EDITABLE = ("Status", "Owner", "Due", "Notes", "Evidence")


@dataclass(frozen=True)
class Summary:
    items: int
    done: int
    verified: int
    failing: int  # marked done, but the live system says it does not hold
    overdue: int
    unowned: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.items) if self.items else 100


def _check(verification: Verification | None) -> str:
    if verification is None:
        return ""
    return {Verdict.VERIFIED: "✔ verified by system", Verdict.FAILED: "✖ system says no",
            Verdict.UNKNOWN: "? cannot tell"}[verification.verdict] + f": {verification.evidence}"


def section_rows(section: Section, progress: EnvironmentProgress,
                 verifications: dict[str, Verification]) -> pd.DataFrame:
    rows = []
    for item in section.items:
        state = progress.get(item.id)
        rows.append({"id": item.id, "Item": item.text, "Status": state.status.value, "Owner": state.owner,
                     "Due": state.due, "Notes": state.notes, "Evidence": state.evidence_url,
                     "System check": _check(verifications.get(item.id)),
                     "Updated": f"{state.updated_by} {state.updated_at:%Y-%m-%d %H:%M}" if state.updated_at else ""})
    return pd.DataFrame(rows, columns=COLUMNS)


def cell_value(value: Any) -> Any:
    """One spelling for "nothing" (None, NaN, NaT, "") and plain dates, however the editor returns them."""
    if value is None or value is pd.NaT or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, datetime):  # pandas Timestamps are datetimes too
        return value.date()
    return value


def edits(before: pd.DataFrame, after: pd.DataFrame, progress: EnvironmentProgress) -> list[ItemProgress]:
    """The items whose editable fields changed, as progress to save (carrying the version they were read at)."""
    changed = []
    for (_, old), (_, new) in zip(before.iterrows(), after.iterrows(), strict=True):
        if all(cell_value(old[column]) == cell_value(new[column]) for column in EDITABLE):
            continue
        current = progress.get(new["id"])
        changed.append(replace(current, status=Status(new["Status"]), owner=str(cell_value(new["Owner"]) or "").strip(),
                               due=cell_value(new["Due"]), notes=str(cell_value(new["Notes"]) or ""),
                               evidence_url=str(cell_value(new["Evidence"]) or "").strip()))
    return changed


def summarise(rollout: Rollout, progress: EnvironmentProgress, verifications: dict[str, Verification],
              today: date) -> Summary:
    items = done = verified = failing = overdue = unowned = 0
    for _, _, item in rollout.items():
        state = progress.get(item.id)
        items += 1
        finished = state.finished
        done += finished
        check = verifications.get(item.id)
        verified += check is not None and check.verdict is Verdict.VERIFIED
        failing += check is not None and check.verdict is Verdict.FAILED and state.status is Status.DONE
        overdue += state.overdue(today)
        unowned += not finished and not state.owner
    return Summary(items, done, verified, failing, overdue, unowned)

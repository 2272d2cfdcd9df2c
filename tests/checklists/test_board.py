"""The rollout board: rows with the system's verdict, edits turned into progress, and the summary."""

from datetime import date

import pandas as pd

from checklists import board
from checklists.loader import load_rollout
from checklists.progress import EnvironmentProgress, ItemProgress, Status
from checklists.verify import Verdict, Verification

ROLLOUT = load_rollout()
SECTION = ROLLOUT.phases[0].sections[0]


def test_rows_carry_progress_and_the_system_check():
    first = SECTION.items[0]
    progress = EnvironmentProgress("production", {first.id: ItemProgress(first.id, "production", Status.DONE,
                                                                         owner="dana", version=3)})
    rows = board.section_rows(SECTION, progress, {first.id: Verification(Verdict.VERIFIED, "license seen")})
    assert list(rows.columns) == board.COLUMNS and len(rows) == len(SECTION.items)
    assert rows.iloc[0]["Status"] == "done" and rows.iloc[0]["System check"].startswith("✔ verified by system")
    assert rows.iloc[1]["Status"] == "to do"


def test_only_changed_rows_become_edits_with_their_version():
    first = SECTION.items[0]
    progress = EnvironmentProgress("production", {first.id: ItemProgress(first.id, "production", version=7)})
    before = board.section_rows(SECTION, progress, {})
    after = before.copy()
    after.loc[0, "Status"] = "in progress"
    after.loc[0, "Due"] = pd.Timestamp("2026-12-24")
    after.loc[0, "Owner"] = " lee "
    [edit] = board.edits(before, after, progress)
    assert (edit.item_id, edit.status, edit.owner, edit.due, edit.version) == (
        first.id, Status.IN_PROGRESS, "lee", date(2026, 12, 24), 7)
    assert board.edits(before, before.copy(), progress) == []


def test_summary_counts_what_a_review_meeting_asks():
    items = [item for _, _, item in ROLLOUT.items()]
    progress = EnvironmentProgress("production", {
        items[0].id: ItemProgress(items[0].id, "production", Status.DONE, owner="dana"),
        items[1].id: ItemProgress(items[1].id, "production", Status.IN_PROGRESS, due=date(2026, 1, 1)),
    })
    checks = {items[0].id: Verification(Verdict.FAILED, "no license")}
    summary = board.summarise(ROLLOUT, progress, checks, today=date(2026, 11, 23))
    assert (summary.done, summary.failing, summary.overdue) == (1, 1, 1)
    assert summary.unowned == summary.items - 1 and 0 < summary.percent < 5

"""Progress per environment in the real store (SQLite and PostgreSQL): history, conflicts, orphans."""

from datetime import date

import pytest

from checklists import progress
from checklists.loader import load_rollout
from checklists.progress import ItemProgress, Status
from store import ConflictError

ROLLOUT = load_rollout()
FIRST = next(item for _, _, item in ROLLOUT.items())


def test_save_load_and_history(store):
    saved = progress.save(store, ItemProgress(FIRST.id, "production", Status.IN_PROGRESS, owner="dana",
                                              due=date(2026, 12, 1)), actor="dana")
    loaded = progress.load(store, ROLLOUT, "production").get(FIRST.id)
    assert (loaded.status, loaded.owner, loaded.due, loaded.updated_by) == (Status.IN_PROGRESS, "dana",
                                                                           date(2026, 12, 1), "dana")
    progress.save(store, ItemProgress(**{**saved.__dict__, "status": Status.DONE}), actor="lee")
    assert [entry.actor for entry in progress.history(store, "production", [FIRST.id])] == ["lee", "dana"]
    assert progress.load(store, ROLLOUT, "staging").get(FIRST.id).status is Status.TODO  # per environment


def test_two_admins_editing_at_once_never_overwrite_each_other(store):
    first = progress.save(store, ItemProgress(FIRST.id, "production"), actor="dana")
    progress.save(store, ItemProgress(**{**first.__dict__, "owner": "lee"}), actor="lee")
    with pytest.raises(ConflictError):
        progress.save(store, ItemProgress(**{**first.__dict__, "owner": "kim"}), actor="kim")
    assert progress.load(store, ROLLOUT, "production").get(FIRST.id).owner == "lee"


def test_progress_for_items_a_new_checklist_dropped_is_kept_as_orphaned(store):
    progress.save(store, ItemProgress("prepare.gone.item", "production", Status.DONE), actor="dana")
    loaded = progress.load(store, ROLLOUT, "production")
    assert [o.item_id for o in loaded.orphaned] == ["prepare.gone.item"]


def test_completion_counts_not_applicable_as_done(store):
    section = ROLLOUT.phases[0].sections[0]
    for item in section.items:
        progress.save(store, ItemProgress(item.id, "production", Status.NOT_APPLICABLE), actor="dana")
    row = progress.completion(ROLLOUT, progress.load(store, ROLLOUT, "production"))[0]
    assert row["percent"] == 100 and row["done"] == len(section.items)

"""Environments side by side, the burn-up replayed from the real store's audit log, and items needing attention."""

from datetime import UTC, date, datetime, timedelta

import pytest

from checklists import environments, progress
from checklists.environments import burn_up, differences_only, overdue_and_unowned, section_matrix, side_by_side
from checklists.loader import load_rollout
from checklists.progress import EnvironmentProgress, ItemProgress, Status
from checklists.verify import Verdict, Verification

ROLLOUT = load_rollout()
ITEMS = [item for _, _, item in ROLLOUT.items()]
FIRST_SECTION = ROLLOUT.phases[0].sections[0]
A, B, C, D = (item.id for item in ITEMS[:4])
TOTAL = len(ITEMS)


def env(name):
    """An environment where nothing was saved yet: every item to do."""
    return EnvironmentProgress(name)


@pytest.fixture
def clock(monkeypatch):
    """Sets the time the store stamps on what it writes."""
    now = [datetime(2026, 3, 2, 10, 0, tzinfo=UTC)]
    monkeypatch.setattr("store.store.utc_now", lambda: now[0])

    def set_day(day: date, hour: int = 10) -> None:
        now[0] = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)

    return set_day


def test_side_by_side_shows_status_and_the_systems_verdict_per_environment():
    progresses = {"staging": EnvironmentProgress("staging", {A: ItemProgress(A, "staging", Status.DONE),
                                                             B: ItemProgress(B, "staging", Status.IN_PROGRESS)}),
                  "production": EnvironmentProgress("production", {A: ItemProgress(A, "production", Status.DONE)})}
    verifications = {"staging": {A: Verification(Verdict.VERIFIED, "seen")},
                     "production": {A: Verification(Verdict.UNKNOWN, "down"), C: Verification(Verdict.FAILED, "no")}}

    frame = side_by_side(ROLLOUT, progresses, verifications).set_index("id")

    assert list(frame.columns) == ["Phase", "Section", "Item", "staging", "production"]
    assert len(frame) == TOTAL
    assert frame.loc[A, ["staging", "production"]].tolist() == ["done ✔", "done ?"]
    assert frame.loc[B, ["staging", "production"]].tolist() == ["in progress", "to do"]
    assert frame.loc[C, ["staging", "production"]].tolist() == ["to do", "to do ✖"]
    assert frame.loc[A, "Section"] == f"{FIRST_SECTION.number}. {FIRST_SECTION.title}"

    differing = differences_only(side_by_side(ROLLOUT, progresses, verifications))
    assert differing["id"].tolist() == [A, B, C]


def test_one_environment_never_differs_from_itself():
    frame = side_by_side(ROLLOUT, {"production": env("production")}, {})
    assert differences_only(frame).empty and frame["production"].eq("to do").all()


def test_section_matrix_gives_percent_done_per_section_and_environment():
    finished = {item.id: ItemProgress(item.id, "staging", Status.NOT_APPLICABLE if i else Status.DONE)
                for i, item in enumerate(FIRST_SECTION.items)}
    matrix = section_matrix(ROLLOUT, {"staging": EnvironmentProgress("staging", finished),
                                      "production": env("production")})
    assert list(matrix.columns) == ["Phase", "Section", "staging", "production"]
    assert len(matrix) == sum(len(phase.sections) for phase in ROLLOUT.phases)
    assert matrix.iloc[0][["staging", "production"]].tolist() == [100, 0]
    assert matrix["staging"].iloc[1:].eq(0).all()


def test_bad_input_is_refused_with_what_to_do():
    with pytest.raises(ValueError, match="load the progress of at least one environment"):
        side_by_side(ROLLOUT, {}, {})
    with pytest.raises(ValueError, match="verifications given for dev but no progress"):
        side_by_side(ROLLOUT, {"production": env("production")}, {"dev": {}})
    with pytest.raises(ValueError, match="clash with the table's own columns"):
        section_matrix(ROLLOUT, {"Section": env("Section")})
    with pytest.raises(ValueError, match="pass the frame side_by_side"):
        differences_only(section_matrix(ROLLOUT, {"production": env("production")})[["Phase", "Section"]])


def save(store, item_id, status, environment="production"):
    current = progress.load(store, ROLLOUT, environment).items.get(item_id) or ItemProgress(item_id, environment)
    progress.save(store, ItemProgress(**{**current.__dict__, "status": status}), actor="dana")


def test_burn_up_replays_the_saves_day_by_day(store, clock):
    day1 = date(2026, 3, 2)
    day = [day1 + timedelta(days=n) for n in range(5)]

    clock(day[0] - timedelta(days=3))  # an early save from before statuses were audited: not replayable
    store.record("dana", "document.update", environment="production", target=f"{progress.KIND}/{D}")
    clock(day[0])
    save(store, A, Status.DONE)
    save(store, B, Status.IN_PROGRESS)
    save(store, "prepare.gone.item", Status.DONE)  # the checklist no longer has it
    save(store, A, Status.DONE, environment="staging")
    save(store, B, Status.DONE, environment="staging")
    clock(day[2], hour=8)
    save(store, B, Status.DONE)
    save(store, C, Status.NOT_APPLICABLE)
    clock(day[2], hour=23)
    save(store, A, Status.IN_PROGRESS)  # reopened the same day
    clock(day[3])
    save(store, A, Status.DONE)

    assert burn_up(store, ROLLOUT, "production", today=day[4]) == [
        (day[0], 1, TOTAL), (day[1], 1, TOTAL), (day[2], 2, TOTAL), (day[3], 3, TOTAL), (day[4], 3, TOTAL)]
    assert burn_up(store, ROLLOUT, "staging", today=day[1]) == [(day[0], 2, TOTAL), (day[1], 2, TOTAL)]
    assert burn_up(store, ROLLOUT, "dev", today=day[4]) == []


class CountingStore:
    def __init__(self, store):
        self._store = store
        self.audit_calls = []

    def __getattr__(self, name):
        return getattr(self._store, name)

    def audit(self, **kwargs):
        self.audit_calls.append(kwargs)
        return self._store.audit(**kwargs)


def test_burn_up_reads_the_audit_log_once_without_cutting_off_old_saves(store, clock):
    clock(date(2026, 1, 1))
    for item in ITEMS[:30]:
        save(store, item.id, Status.DONE)
    counting = CountingStore(store)

    points = burn_up(counting, ROLLOUT, "production", today=date(2026, 3, 1))

    assert len(points) == 60 and points[-1] == (date(2026, 3, 1), 30, TOTAL)
    assert len(counting.audit_calls) == 1
    assert counting.audit_calls[0]["limit"] >= environments.BURN_UP_AUDIT_ROWS


def test_overdue_and_unowned_lists_what_needs_attention():
    today = date(2026, 3, 10)
    progress_ = EnvironmentProgress("production", {
        A: ItemProgress(A, "production", Status.IN_PROGRESS, owner="dana", due=date(2026, 3, 9)),
        B: ItemProgress(B, "production", Status.DONE, due=date(2026, 3, 1)),  # done: late is fine
        C: ItemProgress(C, "production", Status.TODO, owner="lee", due=today),  # due today is not overdue
        D: ItemProgress(D, "production", Status.TODO, due=date(2026, 2, 1)),
    })
    frame = overdue_and_unowned(ROLLOUT, progress_, today).set_index("id")
    assert frame.loc[A, "Problem"] == "overdue"
    assert frame.loc[D, "Problem"] == "overdue, no owner"
    assert B not in frame.index and C not in frame.index
    unowned = [item.id for item in ITEMS if item.id not in (A, B, C, D)]
    assert frame.loc[unowned, "Problem"].eq("no owner").all()
    assert frame.index.tolist() == [A, D, *unowned]  # checklist order
    assert frame.loc[A, "Section"] == f"{FIRST_SECTION.number}. {FIRST_SECTION.title}"

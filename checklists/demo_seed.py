"""Example progress for the demo, so a first look at the rollout page shows a project under way.

Written once into an empty demo store: six weeks of checklist history per environment (dev ahead, production
behind), a schedule with a few tasks done and one late, and a team. Deterministic, so screenshots and tests
see the same demo. Never used when a real deployment is configured.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from checklists import progress, schedule, team
from checklists.loader import ImplementationPlan, Rollout
from checklists.progress import ItemProgress, Status
from store import Store

PEOPLE = ("amara", "bjorn", "chen", "dolores", "emeka", "farah")
# Share of the checklist each environment has finished by today, in checklist order.
SHARE_DONE = {"dev": 0.8, "staging": 0.55, "production": 0.35}
HISTORY_DAYS = 42
SCHEDULE_STARTED_DAYS_AGO = 24  # about half the plan behind, one task late, the rest ahead


def needed(store: Store) -> bool:
    return not store.list(progress.KIND)


def seed(store: Store, rollout: Rollout, plan: ImplementationPlan, environments: list[str], today: date) -> None:
    rng = random.Random(20261123)
    items = [item for _, _, item in rollout.items()]
    start = today - timedelta(days=HISTORY_DAYS)
    for environment in environments:
        finished = round(len(items) * SHARE_DONE.get(environment, 0.5))
        for index, item in enumerate(items):
            owner = rng.choice(PEOPLE) if index < finished + 12 else ""
            begun = start + timedelta(days=HISTORY_DAYS * index / len(items) * 0.9)
            saved = progress.save(store, ItemProgress(item.id, environment, Status.IN_PROGRESS, owner=owner),
                                  actor=owner or "sysadmin", at=_moment(begun, rng)) if owner else None
            if index < finished:
                done_on = min(today, begun + timedelta(days=rng.randint(1, 6)))
                status = Status.NOT_APPLICABLE if rng.random() < 0.06 else Status.DONE
                progress.save(store, ItemProgress(item.id, environment, status, owner=owner, version=saved.version,
                                                  notes="" if rng.random() < 0.8 else "Checked in the review call."),
                              actor=owner, at=_moment(done_on, rng))
            elif saved is not None and index < finished + 4:
                late = today - timedelta(days=rng.randint(2, 9))  # a few open items are past their due date
                progress.save(store, ItemProgress(item.id, environment, Status.IN_PROGRESS, owner=owner, due=late,
                                                  version=saved.version), actor=owner, at=_moment(begun, rng))
        _seed_schedule(store, plan, environment, today - timedelta(days=SCHEDULE_STARTED_DAYS_AGO))
    _seed_team(store, plan)


def _moment(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(9 + rng.randint(0, 8), rng.randint(0, 59)), UTC)


def _seed_schedule(store: Store, plan: ImplementationPlan, environment: str, start: date) -> None:
    schedule.save_project_start(store, environment, start, None, actor="sysadmin")
    current = schedule.load(store, plan, environment, start)
    for index, task in enumerate(current.tasks.values()):
        if index < 4:
            status = schedule.TaskStatus.DONE
        elif index < 6:
            status = schedule.TaskStatus.IN_PROGRESS
        else:
            break
        schedule.save(store, schedule.TaskSchedule(**{**task.__dict__, "status": status, "owner": PEOPLE[index]}),
                      actor="sysadmin")


def _seed_team(store: Store, plan: ImplementationPlan) -> None:
    current = team.load(store, plan)
    for member, person in zip(current.members.values(), PEOPLE, strict=False):
        team.save(store, team.Member(member.key, member.role, person.capitalize(), f"@{person}"), actor="sysadmin")

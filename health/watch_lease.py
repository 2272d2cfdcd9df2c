"""Who collects an environment in an interval, when several watchers share one store: a lease row per environment.

Intervals are aligned to the epoch (slot = the interval's start), so every watcher computes the same slot from
its clock. Claiming is one conditional UPDATE (or the first INSERT): on PostgreSQL a second claimer blocks on the
row lock and then re-checks the condition, on SQLite writes are serialised, so exactly one watcher wins a slot.

A clock that jumps forward only brings the next slot early. One that jumps back would name a slot older than the
one claimed; a slot more than two intervals behind is taken as such a jump and claimed anyway, so collections
resume after at most two intervals instead of waiting for the clock to catch up.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from store import Store
from store.tables import watch_leases

CLOCK_JUMP_INTERVALS = 2


def slot_of(now: datetime, interval_s: int) -> datetime:
    """The start of the interval `now` falls in."""
    seconds = int(now.timestamp()) // interval_s * interval_s
    return datetime.fromtimestamp(seconds, UTC)


def claim(store: Store, environment: str, slot: datetime, interval_s: int, holder: str, now: datetime) -> bool:
    """Whether this watcher (`holder`) won the collection of `environment` for `slot`."""
    long_ago = slot + timedelta(seconds=interval_s * CLOCK_JUMP_INTERVALS)
    with store.writing() as conn:
        taken = conn.execute(
            update(watch_leases)
            .where(and_(watch_leases.c.environment == environment,
                        or_(watch_leases.c.slot < slot, watch_leases.c.slot > long_ago)))
            .values(slot=slot, holder=holder, claimed_at=now)).rowcount
        if taken:
            return True
        if conn.scalar(select(watch_leases.c.slot).where(watch_leases.c.environment == environment)) is not None:
            return False
        try:
            with conn.begin_nested():  # the first claim ever: of two racing INSERTs the second hits the key
                conn.execute(insert(watch_leases).values(environment=environment, slot=slot, holder=holder,
                                                         claimed_at=now))
        except IntegrityError:
            return False
    return True


def holders(store: Store) -> dict[str, tuple[datetime, str, datetime]]:
    """environment -> (slot, holder, claimed_at), for the fleet view and the bench."""
    with store.reading() as conn:
        return {row.environment: (row.slot, row.holder, row.claimed_at)
                for row in conn.execute(select(watch_leases))}

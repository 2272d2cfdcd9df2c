"""The alert outbox: alerts are stored first and posted after, so a Mattermost outage delays them but loses none.

One row per environment and run (its key is unique, so every replica judging the same run enqueues it once).
A deliverer claims an environment's due rows in one conditional UPDATE and checks how many it got, so two
replicas never post the same row; rows of a deliverer that died come back when its lease runs out. All rows
claimed together go out as one post. While a post of an environment is in flight no other is started, which
keeps the hourly limit exact and lets a batch whose post may have reached Mattermost (a timeout, a 5xx, a
crash) be retried as it was, with the same pending_post_id, so Mattermost deduplicates it: such rows keep
`claimed_by` while pending, and fresh rows wait behind them.

Nothing is ever dropped: when Mattermost refuses (unknown channel, a bot without permission) the rows stay
pending with the reason in `last_error`, shown by `problem`, and are tried again later.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from health.alert_delivery import AlertSender, Delivery, Outcome, sender_for
from health.alerts import AlertPost, build_post, health_link
from settings import EnvironmentSettings, Settings
from store import Store
from store.tables import alert_outbox as outbox

log = logging.getLogger("mmdash.health.alerts")

PENDING, SENDING, SENT = "pending", "sending", "sent"
WAITING = (PENDING, SENDING)
# Longer than one attempt can take (three calls at the default 10 s timeout, plus naming the bot on a refusal).
LEASE = timedelta(minutes=2)
RETRY_FIRST = timedelta(seconds=15)  # within Mattermost's 30 s pending_post_id window, so a lost answer dedups
RETRY_MAX = timedelta(minutes=5)
REFUSED_WAIT = timedelta(minutes=5)  # a person has to change something; no point in knocking every few seconds
RATE_WINDOW = timedelta(hours=1)
MAX_ROWS_PER_POST = 50  # runs beyond this go in the next post; the message would only count them anyway
MAX_POSTS_PER_CALL = 10


@dataclass(frozen=True)
class OutboxRow:
    id: int
    environment: str
    key: str
    created_at: datetime
    body: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    claimed_by: str | None
    claimed_until: datetime | None
    last_error: str | None
    sent_at: datetime | None
    post_id: str | None


@dataclass(frozen=True)
class DeliveryReport:
    environment: str
    posts: tuple[str, ...] = ()  # ids of the posts made
    delivered: tuple[str, ...] = ()  # the outbox keys they covered
    error: str | None = None  # why the last attempt did not post, if it did not
    held_until: datetime | None = None  # the hourly limit holds the rest until then
    configured: bool = True


def enqueue(store: Store, environment: str, key: str, body: Mapping[str, Any], now: datetime) -> bool:
    """Store one run's alert; False when `key` was already enqueued (by this or another process).

    Call it only for environments whose alerts are configured (`env.alerts.configured`): rows of others are
    never delivered."""
    try:
        with store.writing() as conn:
            conn.execute(insert(outbox).values(environment=environment, key=key, created_at=now, body=dict(body),
                                               status=PENDING, attempts=0, next_attempt_at=now))
    except IntegrityError:
        with store.reading() as conn:
            if conn.execute(select(outbox.c.id).where(outbox.c.key == key)).first() is None:
                raise  # not the unique key: a real error
        return False
    return True


async def deliver_due(store: Store, env: EnvironmentSettings, settings: Settings, *, holder: str, now: datetime,
                      sender: AlertSender | None = None) -> DeliveryReport:
    """Post `env`'s due alerts, several runs to a post, within its hourly limit. `holder` names this process
    (host and pid) for the claim; `sender` replaces the one the settings describe (tests, other transports).
    Does nothing when alerts are not configured for `env`."""
    chosen = sender or sender_for(env)
    if not env.alerts.configured or chosen is None:
        return DeliveryReport(env.name, configured=False)
    link = health_link(settings.health.dashboard_url, env.name)
    posts: list[str] = []
    delivered: list[str] = []
    for _ in range(MAX_POSTS_PER_CALL):
        claimed = _claim(store, env, holder, now)
        if isinstance(claimed, datetime):
            return DeliveryReport(env.name, tuple(posts), tuple(delivered), held_until=claimed)
        if not claimed:
            break
        # The link as configured now: the dashboard may have moved since the run was enqueued.
        post = build_post([(row.key, {**row.body, "link": link or row.body.get("link")}) for row in claimed])
        delivery = await _send(chosen, post, env.name)
        _settle(store, claimed, delivery, holder, now, env.name)
        if delivery.outcome is not Outcome.SENT:
            return DeliveryReport(env.name, tuple(posts), tuple(delivered), error=delivery.error)
        posts.append(delivery.post_id or "")
        delivered.extend(post.keys)
    return DeliveryReport(env.name, tuple(posts), tuple(delivered))


async def _send(sender: AlertSender, post: AlertPost, environment: str) -> Delivery:
    try:
        return await sender.send(post)
    except Exception as exc:  # a broken sender must put the rows back, not leave them claimed
        log.exception("alert delivery for %s failed unexpectedly", environment)
        return Delivery(Outcome.RETRY, error=f"Posting the alert failed unexpectedly ({type(exc).__name__}: {exc}); "
                                             "this is a bug in the dashboard, please report it.")


class _Raced(Exception):
    """Another deliverer claimed some of the rows first: give all back and let the next call try again."""


def _due(now: datetime) -> Any:
    return or_(and_(outbox.c.status == PENDING, outbox.c.next_attempt_at <= now),
               and_(outbox.c.status == SENDING, outbox.c.claimed_until < now))


def _claim(store: Store, env: EnvironmentSettings, holder: str, now: datetime) -> list[OutboxRow] | datetime:
    """The rows this deliverer now holds (oldest first), [] when none is due or another post is in flight, or
    the time the hourly limit frees a slot."""
    try:
        with store.writing() as conn:
            mine = outbox.c.environment == env.name
            in_flight = conn.execute(select(func.count()).select_from(outbox).where(
                mine, outbox.c.status == SENDING, outbox.c.claimed_until >= now)).scalar_one()
            if in_flight:
                return []
            rows = _candidates(conn, env.name, now)
            if not rows:
                return []
            free_at = _slot_frees_at(conn, env, now)
            if free_at is not None:
                conn.execute(update(outbox).where(mine, outbox.c.status == PENDING, outbox.c.next_attempt_at < free_at)
                             .values(next_attempt_at=free_at))
                return free_at
            ids = [row.id for row in rows]
            result = conn.execute(update(outbox).where(outbox.c.id.in_(ids), _due(now)).values(
                status=SENDING, claimed_by=holder, claimed_until=now + LEASE, attempts=outbox.c.attempts + 1))
            if result.rowcount != len(ids):
                raise _Raced
            return [_row(row) for row in conn.execute(select(outbox).where(outbox.c.id.in_(ids))
                                                      .order_by(outbox.c.created_at, outbox.c.id))]
    except _Raced:
        return []


def _candidates(conn: Connection, environment: str, now: datetime) -> list[Row[Any]]:
    """A batch whose post may already be in Mattermost goes again alone, when due; otherwise the due rows."""
    mine = outbox.c.environment == environment
    uncertain = or_(and_(outbox.c.status == PENDING, outbox.c.claimed_by.is_not(None)),
                    and_(outbox.c.status == SENDING, outbox.c.claimed_until < now))
    oldest_first = (outbox.c.created_at, outbox.c.id)
    retried = list(conn.execute(select(outbox.c.id, outbox.c.next_attempt_at, outbox.c.status)
                                .where(mine, uncertain).order_by(*oldest_first).limit(MAX_ROWS_PER_POST)))
    if retried:
        due = [row for row in retried if row.status == SENDING or row.next_attempt_at <= now]
        return due if len(due) == len(retried) else []
    return list(conn.execute(select(outbox.c.id).where(mine, _due(now)).order_by(*oldest_first)
                             .limit(MAX_ROWS_PER_POST)))


def _slot_frees_at(conn: Connection, env: EnvironmentSettings, now: datetime) -> datetime | None:
    """None while fewer than max_per_hour posts went out in the last hour, else when the oldest leaves it."""
    posted = conn.execute(select(func.min(outbox.c.sent_at)).where(
        outbox.c.environment == env.name, outbox.c.status == SENT, outbox.c.sent_at > now - RATE_WINDOW)
        .group_by(outbox.c.post_id)).scalars().all()
    limit = env.alerts.max_per_hour
    if len(posted) < limit:
        return None
    return sorted(posted)[len(posted) - limit] + RATE_WINDOW


def _settle(store: Store, rows: list[OutboxRow], delivery: Delivery, holder: str, now: datetime,
            environment: str) -> None:
    ids = [row.id for row in rows]
    if delivery.outcome is Outcome.SENT:
        values: dict[str, Any] = dict(status=SENT, sent_at=now, post_id=delivery.post_id, claimed_until=None,
                                      last_error=None)
    elif delivery.outcome is Outcome.RETRY:
        attempts = max(row.attempts for row in rows)
        wait = min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)
        # claimed_by stays: the post may have been made, so this batch goes again as it is.
        values = dict(status=PENDING, next_attempt_at=now + wait, claimed_until=None, last_error=delivery.error)
        log.warning("alerts for %s wait %s s: %s", environment, int(wait.total_seconds()), delivery.error)
    else:
        values = dict(status=PENDING, next_attempt_at=now + REFUSED_WAIT, claimed_by=None, claimed_until=None,
                      last_error=delivery.error)
        log.error("Mattermost refused the alerts for %s (%d kept, tried again in %d min): %s", environment,
                  len(rows), int(REFUSED_WAIT.total_seconds() // 60), delivery.error)
    with store.writing() as conn:
        result = conn.execute(update(outbox).where(outbox.c.id.in_(ids), outbox.c.claimed_by == holder,
                                                   outbox.c.status == SENDING).values(**values))
    if result.rowcount != len(ids):
        # Only when this attempt outlived its lease and another deliverer took the rows over.
        log.warning("alerts for %s: %d of %d rows were taken over by another deliverer before this one settled "
                    "them", environment, len(ids) - result.rowcount, len(ids))


def pending(store: Store, environment: str) -> list[OutboxRow]:
    """The environment's alerts not yet posted, oldest first."""
    query = (select(outbox).where(outbox.c.environment == environment, outbox.c.status.in_(WAITING))
             .order_by(outbox.c.created_at, outbox.c.id))
    with store.reading() as conn:
        return [_row(row) for row in conn.execute(query)]


def recent(store: Store, environment: str, limit: int = 20) -> list[OutboxRow]:
    """The environment's newest alerts, posted or not, newest first."""
    query = (select(outbox).where(outbox.c.environment == environment)
             .order_by(outbox.c.created_at.desc(), outbox.c.id.desc()).limit(limit))
    with store.reading() as conn:
        return [_row(row) for row in conn.execute(query)]


def problem(store: Store, environment: str) -> str | None:
    """Why the environment's waiting alerts were not posted at the last attempt, if they failed; for pages."""
    query = (select(outbox.c.last_error)
             .where(outbox.c.environment == environment, outbox.c.status.in_(WAITING),
                    outbox.c.last_error.is_not(None))
             .order_by(outbox.c.next_attempt_at.desc(), outbox.c.id.desc()).limit(1))
    with store.reading() as conn:
        return conn.execute(query).scalar_one_or_none()


def delivery_sentence(store: Store, env: EnvironmentSettings) -> tuple[bool, str] | None:
    """(is it a problem, what to tell the page) about `env`'s alerts: refused or waiting ones; None when all went out
    or alerts are not configured."""
    if not env.alerts.configured:
        return None
    waiting = pending(store, env.name)
    if not waiting:
        return None
    where = "the incoming webhook" if env.alerts.webhook_url is not None else f"~{env.alerts.channel}"
    count = f"{len(waiting)} alert{'s' if len(waiting) != 1 else ''}"
    why = problem(store, env.name)
    if why:
        return True, (f"Alerts are not reaching {where}: {why} {count} wait in the outbox, none is lost; they go "
                      "out together once Mattermost takes them.")
    next_try = min(row.next_attempt_at for row in waiting)
    return False, f"{count} waiting to be posted to {where} (next try {next_try:%H:%M:%S} UTC)."


def waiting_by_environment(store: Store) -> dict[str, tuple[int, datetime]]:
    """environment -> (alerts waiting, when the oldest was queued), for /metrics and the fleet view."""
    query = (select(outbox.c.environment, func.count(), func.min(outbox.c.created_at))
             .where(outbox.c.status.in_(WAITING)).group_by(outbox.c.environment))
    with store.reading() as conn:
        return {env: (int(count), oldest) for env, count, oldest in conn.execute(query)}


def _row(row: Row[Any]) -> OutboxRow:
    return OutboxRow(id=row.id, environment=row.environment, key=row.key, created_at=row.created_at, body=row.body,
                     status=row.status, attempts=row.attempts, next_attempt_at=row.next_attempt_at,
                     claimed_by=row.claimed_by, claimed_until=row.claimed_until, last_error=row.last_error,
                     sent_at=row.sent_at, post_id=row.post_id)

"""A few months of past incidents for the demo environments, so the Incidents page has a history to show.

The demo's store starts without incidents, so the Incidents page's "All incidents", "Retrospectives" and "Metrics"
views would stay empty until someone runs incidents through it. This writes, once per environment, 12 to 16 ended
incidents over the last four months on the repo's playbooks (incidents/playbooks/*.yaml), each saved step by step
as the incident service saves it (incidents.repository.save and record_event, with the events, summaries and
details that incidents/service.py and incidents/status_updates.py write), backdated to when it happened:

- started by one of the scenario's people in its responding team, in a channel named by the playbook's template;
- acknowledged by the first checklist item checked (within minutes for a major outage, later for slowness), then
  items checked by the responders and the stages changed in the playbook's order, each stage taking minutes to
  hours as PACES says; now and then a handover to another commander, and status updates along the way;
- ended by the commander in the last stage.

About half get a retrospective written through incidents.retrospective (the template's sections, filled in with
short findings and actions), so the Retrospectives view has content; it is dated when the seed runs, as the
retrospective module keeps no other date. Every choice comes from random.Random(f"demo-incidents/{environment}")
and the scenario's ids are fixed, so each start writes the same history. Only the demo calls it, and an
environment that has any incident already is left as it is.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from incidents import incident_metrics, repository, retrospective
from incidents.models import Actor, EventType, Incident, TimelineEvent
from incidents.playbooks import Playbook, channel_name, load_playbooks_lenient
from incidents.service import stages_from  # the checklist as the service starts it (item ids i1, i2, ...)
from incidents.timeline import format_duration
from simulator.ids import new_id
from simulator.model import Account, Scenario, Team
from simulator.scenarios import build_scenario
from store import Store

INCIDENTS_PER_ENVIRONMENT = (12, 16)
HISTORY_DAYS = (3, 120)  # how long ago incidents started: the newest ended days ago, the oldest four months back
CHECKED_SHARE = 0.6  # responders tick more than half of the checklist items (the retrospective lists the rest)
HANDOVER_SHARE = 0.3  # incidents whose commander hands over to another responder
RETROSPECTIVE_SHARE = 0.5
MIN_GAP = timedelta(seconds=30)  # between two events of one incident: people do not act within the same second
WORKING_HOURS = range(8, 19)  # when non-outages are noticed; an outage starts at any hour
RESPONDING_TEAMS = {"healthy": "engineering", "degraded": "it-service-desk", "development": "platform-dev"}


@dataclass(frozen=True)
class Story:
    """What one incident was about, for its name and its retrospective."""

    name: str
    impact: str
    cause: str
    fix: str  # what the responders did, after "we"
    action: str  # the follow-up that keeps it from happening again


@dataclass(frozen=True)
class Pace:
    """How incidents of one playbook go: how often they happen and how long people take (minutes, low to high)."""

    weight: int
    acknowledge_min: tuple[float, float]
    stage_min: tuple[tuple[float, float], ...]  # per stage in playbook order; the last range for any further stage
    updates: Mapping[str, tuple[str, ...]]  # stage name -> status updates posted while in it
    update_share: float  # the chance each of those was posted


STORIES: dict[str, tuple[Story, ...]] = {
    "degraded-performance": (
        Story("Slow search on Enterprise cluster", "Search took 8 to 15 seconds for everyone.",
              "A reindex job ran during working hours and filled the Elasticsearch heap; queries queued behind it.",
              "paused the reindex and moved it to the night window",
              "Schedule bulk indexing outside working hours and alert on search latency above 2 s"),
        Story("Messages delivered late to mobile users", "Push notifications reached phones up to 10 minutes late.",
              "The push proxy's connection pool was too small for the grown traffic; requests waited for it.",
              "raised the proxy's pool size and restarted it",
              "Size the push proxy pool from peak-hour figures and alert on its queue length"),
        Story("API latency spikes at the morning peak", "Pages and posting were slow (p99 above 3 s) for an hour.",
              "A query on channel members lost its index in the upgrade, so every login scanned the table.",
              "added the index back online", "Review the slow-query log after each upgrade"),
        Story("File uploads time out", "Uploads over 20 MB failed in the web app.",
              "A proxy configuration change lowered the body timeout and cut long uploads.",
              "restored the timeout and reloaded the proxy",
              "Review proxy configuration changes like application changes"),
        Story("Slow channel switching after the upgrade", "Switching channels took seconds in the largest teams.",
              "The new release's default cache size is too small for our number of channels.",
              "raised the cache size on every app node", "Add channel-switch timing to the upgrade checklist"),
        Story("Database connection pool saturated", "About 5% of requests failed with HTTP 500.",
              "A plugin opened a database connection per request and never gave it back.",
              "disabled the plugin and restarted the app nodes one at a time",
              "Load-test plugins in staging before enabling them"),
        Story("High CPU on one app node", "Users pinned to one node saw slow pages and delayed messages.",
              "A stuck export job kept a CPU busy on that node.", "cancelled the job and drained the node",
              "Alert on jobs running longer than twice their usual time"),
        Story("Websocket reconnect storm after a network blip", "Clients showed 'Connecting…' and missed messages "
              "for a few minutes.", "Every client reconnected at once after a switch failover and overloaded "
              "the nodes.", "rate-limited reconnects at the load balancer",
              "Turn on reconnect jitter in the clients"),
    ),
    "major-outage": (
        Story("Login failures after SSO certificate rotation",
              "Nobody could sign in with SSO; people already signed in could keep working.",
              "The identity provider rotated its signing certificate and Mattermost trusted only the old one.",
              "uploaded the new certificate and tested the login",
              "Put the IdP certificate dates in the rotation calendar and trust the next one before the switch"),
        Story("Chat unreachable: load balancer health checks failing",
              "The service was unreachable for web and mobile users.",
              "The release moved the health check path, so the load balancer marked every node as down.",
              "pointed the health check at the new path",
              "Test the load balancer's health checks in staging with each release"),
        Story("Posting fails with HTTP 500 for all users", "Nobody could post; reading still worked.",
              "The database disk filled with WAL files after replication to the replica stalled.",
              "restarted replication and freed disk space", "Alert on replication lag and on disks above 80%"),
        Story("Expired TLS certificate on the chat domain", "Browsers and mobile apps refused to connect.",
              "Automatic renewal had failed for three weeks: the DNS challenge credentials had expired.",
              "renewed the certificate by hand and fixed the renewal credentials",
              "Alert 14 days before any certificate expires"),
        Story("Database failover left app nodes read-only",
              "Nothing could be saved: posts, logins and settings changes failed.",
              "After the failover the app nodes kept writing to the old primary, now a read-only replica.",
              "pointed the data source at the new primary and restarted the nodes",
              "Use the cluster's writer endpoint in the data source instead of a host name"),
        Story("File storage unreachable", "Images and attachments failed to load or upload.",
              "The storage bucket's access key was rotated without updating Mattermost's file settings.",
              "put the new key in the file storage settings",
              "Rotate storage keys through configuration management only"),
    ),
    "security-incident": (
        Story("Personal access token posted in a public channel",
              "A token with admin rights was visible to about 300 people for 40 minutes.",
              "A developer pasted a curl command with the token while asking for help.",
              "revoked the token and checked the audit log for its use",
              "Shorten token lifetimes and scan public channels for tokens"),
        Story("Suspicious logins from unfamiliar addresses",
              "Three accounts signed in from abroad; nothing was exported.",
              "Passwords reused from a breach of an unrelated site.",
              "locked the accounts, reset their passwords and revoked their sessions",
              "Require MFA for every account"),
        Story("Bot account with excessive permissions", "A bot could read every private channel; no misuse found.",
              "The bot got the system admin role for a one-off migration and kept it.",
              "removed the role and rotated the bot's token", "Review bot roles every quarter"),
        Story("Leaked incoming webhook URL", "Spam appeared in one channel for an hour.",
              "The webhook URL was committed to a public repository.",
              "regenerated the webhook and deleted the spam", "Add secret scanning to the repositories' CI"),
        Story("Phishing message from a compromised account",
              "A message asking for passwords reached 40 people; two answered.",
              "The account's session was taken from a stolen laptop.",
              "revoked the account's sessions and reset the two exposed passwords",
              "Shorten mobile session lifetimes and require device encryption"),
    ),
}

PACES: dict[str, Pace] = {
    "degraded-performance": Pace(
        weight=5, acknowledge_min=(4, 40), stage_min=((20, 150), (15, 180), (60, 180), (10, 90)),
        updates={"Investigate": ("Some users see slow pages. Nothing is lost; we are narrowing down which part is "
                                 "slow.",),
                 "Mitigate": ("Added capacity; response times are back to normal for most users.",),
                 "Monitor": ("Figures have been normal for an hour; we are filing the lasting fix.",)},
        update_share=0.5),
    "major-outage": Pace(
        weight=3, acknowledge_min=(1, 8), stage_min=((6, 30), (15, 120), (20, 90), (120, 1440)),
        updates={"Triage": ("Confirmed from the status page and a synthetic check: most users are affected. Next "
                            "update in 30 minutes.",),
                 "Mitigate": ("We know the cause and are applying the fix; error rates are coming down.",
                              "The fix is in place; we watch error rate and latency for ten minutes before we call "
                              "it resolved."),
                 "Resolve": ("The service works for users again. We keep watching it; the postmortem follows.",)},
        update_share=0.9),
    "security-incident": Pace(
        weight=2, acknowledge_min=(3, 25), stage_min=((20, 120), (30, 240), (60, 480), (90, 720), (120, 1440)),
        updates={"Contain": ("Contained: the credentials involved are revoked and the access path is blocked. "
                             "Evidence is preserved.",),
                 "Recover": ("Systems are back from a known-good state; we watch for the same pattern for a week.",)},
        update_share=0.7),
}

WENT_WELL = (
    "The alert fired within minutes and pointed at the right component.",
    "The runbook for this component was current; the fix was one command.",
    "Clear roles: one commander, one person writing the updates.",
    "Support heard from us before users started asking.",
)
WENT_BADLY = (
    "It took too long to find out who owns the component.",
    "The first status update went out late.",
    "We changed two things at once and could not tell which one helped.",
    "Our dashboards lacked the one figure we needed.",
)


def seed_demo_incidents(store: Store, environments: Mapping[str, str], now: datetime) -> int:
    """Write the past incidents of each demo environment (name -> simulator scenario) that has none yet, ending
    before ``now``; answers how many incidents were written."""
    books, _ = load_playbooks_lenient()
    playbooks = {book_id: book for book_id, book in books.items() if book_id in PACES}
    if not playbooks:
        return 0
    return sum(_seed_environment(store, environment, build_scenario(scenario, int(now.timestamp() * 1000)),
                                 playbooks, now)
               for environment, scenario in environments.items()
               if not store.list(repository.INCIDENT_KIND, environment))


def _seed_environment(store: Store, environment: str, world: Scenario, playbooks: Mapping[str, Playbook],
                      now: datetime) -> int:
    rng = random.Random(f"demo-incidents/{environment}")
    team = _responding_team(world)
    ids = sorted(playbooks)
    stories = {book_id: _story_teller(rng, STORIES[book_id]) for book_id in ids}
    planned = []
    for _ in range(rng.randint(*INCIDENTS_PER_ENVIRONMENT)):
        book_id = rng.choices(ids, weights=[PACES[i].weight for i in ids])[0]
        planned.append((_start_time(rng, now, outage=book_id == "major-outage"), book_id, stories[book_id]()))
    taken_channels: set[str] = set()
    written = []
    for started, book_id, story in sorted(planned):
        name = _free_channel_name(playbooks[book_id], story.name, started, taken_channels)
        written.append((_respond(store, rng, environment, playbooks[book_id], story, team, world.accounts, started,
                                 name), story))
    events = incident_metrics.timelines(store, environment)
    people = {account.id: account.username for account in world.accounts}
    for incident, story in written:
        if rng.random() < RETROSPECTIVE_SHARE:
            _write_retrospective(store, rng, incident, events[incident.id], playbooks[incident.playbook_id], story,
                                 people)
    return len(written)


def _responding_team(world: Scenario) -> Team:
    wanted = RESPONDING_TEAMS.get(world.name)
    return next((team for team in world.teams if team.name == wanted), world.teams[0])


def _story_teller(rng: random.Random, stories: Sequence[Story]) -> Callable[[], Story]:
    """The stories in a shuffled order, all of them before any comes again (incidents do recur, but not at once)."""
    waiting: list[Story] = []

    def tell() -> Story:
        if not waiting:
            waiting.extend(rng.sample(stories, len(stories)))
        return waiting.pop()

    return tell


def _start_time(rng: random.Random, now: datetime, *, outage: bool) -> datetime:
    day = (now - timedelta(days=rng.randint(*HISTORY_DAYS))).replace(hour=0, minute=0, second=0, microsecond=0)
    hour = rng.randrange(24) if outage else rng.choice(WORKING_HOURS)
    return day + timedelta(hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))


def _free_channel_name(playbook: Playbook, name: str, started: datetime, taken: set[str]) -> str:
    """The channel name the service would create: the template's, numbered from 2 when already taken."""
    attempt = 1
    while (wanted := channel_name(playbook, name, started.date(), seq=attempt if attempt > 1 else None)) in taken:
        attempt += 1
    taken.add(wanted)
    return wanted


def _minutes(rng: random.Random, low_high: tuple[float, float]) -> timedelta:
    """A duration between low and high minutes, short ones likelier (as log-uniform): most incidents go quickly."""
    low, high = low_high
    return timedelta(minutes=low * (high / low) ** rng.random())


class _Responders:
    """Saves one incident's changes in the order they happened, each with the event the service would write."""

    def __init__(self, store: Store, incident: Incident):
        self.store = store
        self.incident = incident
        self.last = incident.started_at

    def _moment(self, at: datetime) -> datetime:
        self.last = max(at.replace(microsecond=0), self.last + MIN_GAP)
        return self.last

    def _save(self, changed: Incident, at: datetime, who: Actor, event: EventType, summary: str,
              details: dict[str, object]) -> None:
        self.incident = repository.save(self.store, changed, event=event, summary=summary, details=details,
                                        user_id=who.user_id, actor=who.username, at=at)

    def start(self, who: Actor, playbook: Playbook) -> None:
        incident = self.incident
        self._save(incident, incident.started_at, who, EventType.STARTED,
                   f"{who.mention} started the incident {incident.name!r} with the playbook {playbook.name!r}.",
                   {"playbook_id": playbook.id, "channel_name": incident.channel_name,
                    "stage": incident.stages[0].name})

    def check(self, at: datetime, who: Actor, stage_index: int, item_index: int) -> None:
        at = self._moment(at)
        stage = self.incident.stages[stage_index]
        item = stage.items[item_index]
        items = tuple(replace(i, checked_by=who.user_id, checked_at=at) if i.id == item.id else i
                      for i in stage.items)
        self._save(self.incident.with_stage(stage_index, replace(stage, items=items)), at, who,
                   EventType.ITEM_CHECKED, f"{who.mention} checked {item.title} in stage {stage.name}",
                   {"item_id": item.id, "item": item.title, "stage": stage.name})

    def hand_over(self, at: datetime, who: Actor, to: Actor) -> None:
        self._save(replace(self.incident, commander_id=to.user_id), self._moment(at), who,
                   EventType.COMMANDER_CHANGED, f"{who.mention} made {to.mention} the commander",
                   {"from": self.incident.commander_id, "to": to.user_id, "username": to.username})

    def update(self, at: datetime, who: Actor, text: str) -> None:
        repository.record_event(self.store, self.incident.environment, self.incident.id,
                                event=EventType.STATUS_UPDATE, summary=f"{who.mention} posted a status update: {text}",
                                details={"message": text}, user_id=who.user_id, actor=who.username,
                                at=self._moment(at))

    def change_stage(self, at: datetime, who: Actor, index: int) -> None:
        before, after = self.incident.stage.name, self.incident.stages[index].name
        self._save(replace(self.incident, stage_index=index), self._moment(at), who, EventType.STAGE_CHANGED,
                   f"{who.mention} moved the incident to stage {after}", {"from": before, "to": after})

    def end(self, at: datetime, who: Actor) -> None:
        at = self._moment(at)
        self._save(replace(self.incident, ended_at=at, ended_by=who.user_id), at, who, EventType.ENDED,
                   f"{who.mention} ended the incident {self.incident.name}", {"stage": self.incident.stage.name})


def _respond(store: Store, rng: random.Random, environment: str, playbook: Playbook, story: Story, team: Team,
             accounts: Sequence[Account], started: datetime, channel: str) -> Incident:
    """One incident from its start to its end, written as it happened."""
    pace = PACES[playbook.id]
    people = [Actor(account.id, account.username) for account in accounts]
    responders = rng.sample(people, min(len(people), rng.randint(2, 3)))
    commander = responders[0]
    incident = Incident(
        id=uuid.UUID(int=rng.getrandbits(128), version=4).hex, environment=environment, playbook_id=playbook.id,
        name=story.name, team_id=team.id, channel_id=new_id(rng), channel_name=channel, commander_id=commander.user_id,
        stages=stages_from(playbook), stage_index=0, started_at=started, started_by=commander.user_id)
    run = _Responders(store, incident)
    run.start(commander, playbook)
    handover_stage = 1 if len(playbook.stages) > 1 else 0
    hands_over = len(responders) > 1 and rng.random() < HANDOVER_SHARE
    acknowledged = started + _minutes(rng, pace.acknowledge_min)
    stage_start = started
    for index, stage in enumerate(playbook.stages):
        length = _minutes(rng, pace.stage_min[min(index, len(pace.stage_min) - 1)])
        first = acknowledged if index == 0 else stage_start
        stage_end = max(stage_start + length, first + MIN_GAP * (len(stage.items) + 2))
        steps: list[tuple[datetime, Callable[[datetime], None]]] = []
        for item_index in range(len(stage.items)):
            if index == 0 and item_index == 0:
                steps.append((acknowledged, _check(run, rng, responders, index, item_index)))
            elif rng.random() < CHECKED_SHARE:
                steps.append((_within(rng, first, stage_end), _check(run, rng, responders, index, item_index)))
        texts = [text for text in pace.updates.get(stage.name, ()) if rng.random() < pace.update_share]
        moments = sorted(_within(rng, first, stage_end) for _ in texts)  # the stage's updates in their order
        steps += [(at, _update(run, responders, text)) for at, text in zip(moments, texts, strict=True)]
        if hands_over and index == handover_stage:
            steps.append((_within(rng, first, stage_end), _hand_over(run, rng, responders)))
        for at, step in sorted(steps, key=lambda s: s[0]):
            step(at)
        commander = _actor(responders, run.incident.commander_id)
        if index + 1 < len(playbook.stages):
            run.change_stage(stage_end, commander, index + 1)
        else:
            run.end(stage_end, commander)
        stage_start = run.last
    return run.incident


def _within(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + (end - start) * rng.uniform(0.05, 0.95)


def _actor(responders: Sequence[Actor], user_id: str) -> Actor:
    return next(actor for actor in responders if actor.user_id == user_id)


def _check(run: _Responders, rng: random.Random, responders: Sequence[Actor], stage_index: int,
           item_index: int) -> Callable[[datetime], None]:
    who = rng.choice(responders)
    return lambda at: run.check(at, who, stage_index, item_index)


def _update(run: _Responders, responders: Sequence[Actor], text: str) -> Callable[[datetime], None]:
    """A status update, posted by whoever is commander by then."""
    return lambda at: run.update(at, _actor(responders, run.incident.commander_id), text)


def _hand_over(run: _Responders, rng: random.Random, responders: Sequence[Actor]) -> Callable[[datetime], None]:
    def hand_over(at: datetime) -> None:
        current = _actor(responders, run.incident.commander_id)
        run.hand_over(at, current, rng.choice([actor for actor in responders if actor != current]))

    return hand_over


def _write_retrospective(store: Store, rng: random.Random, incident: Incident, events: Sequence[TimelineEvent],
                         playbook: Playbook, story: Story, people: Mapping[str, str]) -> None:
    """The retrospective the commander wrote after the incident: the template's sections, filled in briefly."""
    draft = retrospective.build(store, incident, events, playbook)
    commander = people[incident.commander_id]
    others = [people[user_id] for user_id in {e.actor for e in events} if user_id in people and
              people[user_id] != commander] or [commander]
    ended = incident.ended_at or incident.started_at  # build() refuses an incident that has not ended
    due = ended.date()
    written = {
        "Summary": f"{story.name}. @{people[incident.started_by]} noticed it and started the incident; we "
                   f"{story.fix}. It ended after {format_duration(ended - incident.started_at)}.",
        "Impact": story.impact,
        "Root cause": story.cause,
        "What went well": rng.choice(WENT_WELL),
        "What went badly": rng.choice(WENT_BADLY),
        "Action items": f"- {story.action}: @{commander}, by {due + timedelta(days=14)}\n"
                        f"- Add this incident to the on-call onboarding notes: @{rng.choice(sorted(others))}, by "
                        f"{due + timedelta(days=30)}",
    }
    retrospective.save(store, draft, [written.get(section.heading, "") for section in draft.sections],
                       actor=commander)

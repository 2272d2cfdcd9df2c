"""Seed data of the Playbooks plugin: playbooks and runs with their channels, posts and timelines.

Runs are built as the plugin would have written them over time: each step adds the timeline event the plugin
emits for it (reference: playbooks.md §1.5–1.6), status updates are real `custom_run_update` posts in the run
channel (and copies in the broadcast channel), so the core posts API and the plugin agree. Between them the
runs carry every timeline event type. The JSON keys follow the plugin's `PlaybookRun` and `Playbook` structs.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from simulator.ids import new_id
from simulator.messaging import PRIVATE, Messaging
from simulator.model import Account, Scenario, Team

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
IN_PROGRESS = "InProgress"
FINISHED = "Finished"
STATUS_POST_TYPE = "custom_run_update"
RUN_NUMBER_PREFIX = "INC"

EVENT_TYPES = (
    "incident_created", "task_state_modified", "status_updated", "status_update_requested", "status_update_snoozed",
    "owner_changed", "assignee_changed", "ran_slash_command", "event_from_post", "user_joined_left",
    "participants_changed", "published_retrospective", "canceled_retrospective", "run_finished", "run_restored",
    "channel_archived", "channel_unarchived", "status_updates_enabled", "status_updates_disabled",
    "retrospective_enabled", "retrospective_disabled", "property_changed",
)

# Checklist templates: (checklist title, ((item title, slash command), ...)).
Template = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
_INCIDENT_CHECKLISTS = (
    ("Triage", (("Page the on-call engineer", ""), ("Open a bridge call", "/zoom start"),
                ("Write the first impact statement", ""), ("Set the severity", ""))),
    ("Investigate", (("List suspected causes", ""), ("Check recent deploys and config changes", ""),
                     ("Create a ticket", "/jira create"))),
    ("Resolve", (("Confirm the fix with monitoring", ""), ("Tell affected customers", ""),
                 ("(Sev 1 only) Brief the leadership team", ""))),
    ("Follow up", (("Schedule the review meeting", ""), ("Write the retrospective", ""))),
)
_MAINTENANCE_CHECKLISTS = (
    ("Before", (("Announce the window in Town Square", ""), ("Take a database snapshot", ""))),
    ("During", (("Fail over to the replica", ""), ("Run the smoke tests", "/smoke run"))),
    ("After", (("Fail back", ""), ("Post the summary", ""))),
)
_SECURITY_CHECKLISTS = (
    ("Contain", (("Revoke affected sessions", ""), ("Rotate exposed credentials", ""))),
    ("Report", (("Notify the security officer", ""), ("File the incident report", ""))),
)

_RETRO_TEMPLATE = ("### Summary\n\n### What was the impact?\n\n### What were the contributing factors?\n\n"
                   "### What went well?\n\n### What can be improved?\n")


@dataclass(frozen=True)
class PlaybooksData:
    playbooks: tuple[dict[str, Any], ...]
    runs: tuple[dict[str, Any], ...]


def seeded(scenario: Scenario, store: Messaging) -> PlaybooksData:
    """Three playbooks and four runs (one in progress) in the scenario's first two teams."""
    rng = random.Random(f"mattermost-simulator/{scenario.name}/playbooks")
    now = scenario.now_ms
    people = _People.of(scenario)
    first = scenario.teams[0]
    second = scenario.teams[1] if len(scenario.teams) > 1 else first
    broadcast = store.channel_by_name(first.id, "ops-alerts")
    broadcast_ids = [broadcast.id] if broadcast is not None else []
    incident = _playbook(rng, first, "Incident Resolution", "Respond to customer-facing outages.",
                         _INCIDENT_CHECKLISTS, people, now - 300 * DAY_MS, broadcast_ids, public=True)
    maintenance = _playbook(rng, first, "Planned Maintenance", "Failover drills and maintenance windows.",
                            _MAINTENANCE_CHECKLISTS, people, now - 200 * DAY_MS, [], public=True)
    security = _playbook(rng, second, "Security Incident", "Contain and report security events.",
                         _SECURITY_CHECKLISTS, people, now - 150 * DAY_MS, [], public=False)
    runs = (
        _latency_run(store, rng, now, incident, first, people),
        _failover_drill(store, rng, now, maintenance, first, people),
        _sso_outage(store, rng, now, incident, first, people),
        _leaked_token(store, rng, now, security, second, people),
    )
    counts = {pb["id"]: [r for r in runs if r["playbook_id"] == pb["id"]] for pb in (incident, maintenance, security)}
    for pb in (incident, maintenance, security):
        mine = counts[pb["id"]]
        pb["num_runs"] = len(mine)
        pb["active_runs"] = sum(1 for r in mine if r["current_status"] == IN_PROGRESS)
        pb["last_run_at"] = max((r["create_at"] for r in mine), default=0)
    return PlaybooksData((incident, maintenance, security), runs)


@dataclass(frozen=True)
class _People:
    """The scenario's accounts in the roles the runs need; small scenarios reuse people."""

    admin: Account
    user: Account
    second: Account
    third: Account

    @classmethod
    def of(cls, scenario: Scenario) -> _People:
        plain = [a for a in scenario.accounts if not a.is_admin]
        user = scenario.user
        second = plain[1] if len(plain) > 1 else user
        third = plain[2] if len(plain) > 2 else second
        return cls(scenario.admin, user, second, third)


# --------------------------------------------------------------------------------------------- playbooks

def _item(rng: random.Random, title: str, command: str, *, state: str = "", at: int = 0, assignee: str = "",
          due_date: int = 0) -> dict[str, Any]:
    return {
        "id": new_id(rng), "title": title, "state": state, "state_modified": at if state else 0,
        "assignee_id": assignee, "assignee_modified": at if assignee else 0, "assignee_type": "",
        "assignee_property_field_id": "", "command": command, "command_last_run": 0, "description": "",
        # The plugin's `delete_at` tag carries the time the item was last skipped.
        "delete_at": at if state == "skipped" else 0, "due_date": due_date, "task_actions": [],
        "update_at": at, "condition_id": "", "condition_action": "", "condition_reason": "",
    }


def _checklists(rng: random.Random, template: Template,
                at: int) -> list[dict[str, Any]]:
    checklists = []
    for title, items in template:
        built = [_item(rng, item_title, command) for item_title, command in items]
        checklists.append({"id": new_id(rng), "title": title, "items": built,
                           "items_order": [i["id"] for i in built], "update_at": at})
    return checklists


def _template_of(playbook: dict[str, Any]) -> Template:
    return tuple((c["title"], tuple((i["title"], i["command"]) for i in c["items"])) for c in playbook["checklists"])


def _playbook(rng: random.Random, team: Team, title: str, description: str,
              template: Template, people: _People, created: int,
              broadcast_ids: list[str], *, public: bool) -> dict[str, Any]:
    playbook_id = new_id(rng)
    checklists = _checklists(rng, template, created)
    metrics = [
        {"id": new_id(rng), "playbook_id": playbook_id, "title": "Time to acknowledge",
         "description": "From the first alert to the owner's first status update.", "type": "metric_duration",
         "target": 15 * MINUTE_MS},
        {"id": new_id(rng), "playbook_id": playbook_id, "title": "Customers affected", "description": "",
         "type": "metric_integer", "target": None},
    ]
    admins = [{"user_id": people.admin.id, "roles": ["playbook_member", "playbook_admin"],
               "scheme_roles": ["playbook_member", "playbook_admin"]}]
    return {
        "id": playbook_id, "title": title, "description": description, "team_id": team.id, "public": public,
        "create_public_playbook_run": False, "create_at": created, "update_at": created + 3 * DAY_MS,
        "delete_at": 0, "num_stages": len(checklists), "num_steps": sum(len(c["items"]) for c in checklists),
        "num_runs": 0, "num_actions": 2, "last_run_at": 0, "active_runs": 0, "checklists": checklists,
        "members": admins, "reminder_message_template": "", "reminder_timer_default_seconds": 3600,
        "status_update_enabled": True, "invited_user_ids": [], "invited_group_ids": [],
        "invite_users_enabled": False, "default_owner_id": "", "default_owner_enabled": False,
        "broadcast_channel_ids": broadcast_ids, "broadcast_enabled": bool(broadcast_ids),
        "webhook_on_creation_urls": [], "webhook_on_creation_enabled": False,
        "webhook_on_status_update_urls": [], "webhook_on_status_update_enabled": False,
        "message_on_join": f"Welcome! This channel runs the **{title}** playbook.", "message_on_join_enabled": True,
        "retrospective_enabled": True, "retrospective_template": _RETRO_TEMPLATE,
        "retrospective_reminder_interval_seconds": 86400, "signal_any_keywords": ["outage", "sev-1"],
        "signal_any_keywords_enabled": bool(broadcast_ids), "categorize_channel_enabled": True,
        "category_name": "Incidents", "run_summary_template_enabled": True,
        "run_summary_template": "**Impact**\n\n**Severity**\n", "channel_name_template": "",
        "run_number_prefix": RUN_NUMBER_PREFIX, "channel_mode": "create_new_channel", "channel_id": "",
        "new_channel_only": False, "auto_archive_channel": False, "metrics": metrics,
        "create_channel_member_on_new_participant": True, "remove_channel_member_on_removed_participant": True,
        "owner_group_only_actions": False, "default_playbook_admin_role": "playbook_admin",
        "default_playbook_member_role": "playbook_member", "default_run_admin_role": "run_admin",
        "default_run_member_role": "run_member", "admin_only_edit": False,
    }


# ------------------------------------------------------------------------------------------------- runs

@dataclass
class _Run:
    """A run being played forward in time; each method is one thing the plugin records."""

    store: Messaging
    rng: random.Random
    playbook: dict[str, Any]
    people: _People
    run: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(cls, store: Messaging, rng: random.Random, playbook: dict[str, Any], team: Team, people: _People, *,
              name: str, channel_name: str, summary: str, owner: Account, reporter: Account,
              participants: list[Account], at: int, run_number: int) -> _Run:
        channel = store.create_channel(team_id=team.id, name=channel_name, display_name=name, type=PRIVATE,
                                       creator_id=reporter.id, purpose=playbook["description"],
                                       channel_id=new_id(rng), at=at)
        for person in participants:
            store.add_member(channel.id, person.id, at=at + 1)
        run_id = new_id(rng)
        checklists = _checklists(rng, _template_of(playbook), at)  # a run starts with a copy of the playbook's
        run = {
            "id": run_id, "name": name, "summary": summary, "summary_modified_at": at + MINUTE_MS,
            "owner_user_id": owner.id, "reporter_user_id": reporter.id, "team_id": team.id,
            "channel_id": channel.id, "create_at": at, "update_at": at, "end_at": 0, "delete_at": 0,
            "active_stage": 0, "active_stage_title": "", "post_id": "", "playbook_id": playbook["id"],
            "checklists": checklists, "status_posts": [], "current_status": IN_PROGRESS,
            "last_status_update_at": 0, "reminder_post_id": "", "previous_reminder": 0,
            "reminder_message_template": playbook["reminder_message_template"],
            "reminder_timer_default_seconds": playbook["reminder_timer_default_seconds"],
            "status_update_enabled": True, "invited_user_ids": [], "invited_group_ids": [], "timeline_events": [],
            "default_owner_id": "", "broadcast_channel_ids": list(playbook["broadcast_channel_ids"]),
            "webhook_on_creation_urls": [], "webhook_on_status_update_urls": [],
            "status_update_broadcast_channels_enabled": bool(playbook["broadcast_channel_ids"]),
            "status_update_broadcast_webhooks_enabled": False, "retrospective": playbook["retrospective_template"],
            "retrospective_published_at": 0, "retrospective_was_canceled": False,
            "retrospective_reminder_interval_seconds": playbook["retrospective_reminder_interval_seconds"],
            "retrospective_enabled": True, "message_on_join": playbook["message_on_join"],
            "participant_ids": [p.id for p in participants], "category_name": playbook["category_name"],
            "metrics_data": [], "create_channel_member_on_new_participant": True,
            "remove_channel_member_on_removed_participant": True, "type": "playbook",
            "items_order": [c["id"] for c in checklists], "run_number": run_number,
            "sequential_id": f"{RUN_NUMBER_PREFIX}-{run_number:05d}", "task_total": 0, "task_completed": 0,
        }
        built = cls(store, rng, playbook, people, run)
        built.event(at, "incident_created", subject=reporter.id)
        return built

    def event(self, at: int, event_type: str, *, summary: str = "", details: dict[str, Any] | None = None,
              post_id: str = "", subject: str = "", creator: str = "", event_at: int | None = None) -> None:
        self.events.append({
            "id": new_id(self.rng), "playbook_run_id": self.run["id"], "create_at": at, "delete_at": 0,
            "event_at": at if event_at is None else event_at, "event_type": event_type, "summary": summary,
            # details is a JSON string in the plugin's API, not an object.
            "details": json.dumps(details, separators=(",", ":")) if details else "", "post_id": post_id,
            "subject_user_id": subject, "creator_user_id": creator,
        })
        self.run["update_at"] = max(self.run["update_at"], at)

    def post(self, at: int, author: Account, message: str, **kwargs: Any) -> str:
        return self.store.create_post(channel_id=self.run["channel_id"], user_id=author.id, message=message,
                                      post_id=new_id(self.rng), at=at, **kwargs).id

    def task(self, at: int, who: Account, title: str, action: str) -> None:
        state = {"check": "closed", "skip": "skipped", "uncheck": "", "restore": ""}[action]
        item = self._item(title)
        item.update(state=state, state_modified=at, update_at=at)
        if action == "skip":
            item["delete_at"] = at
        verb = {"check": "checked off", "skip": "skipped", "uncheck": "unchecked", "restore": "restored"}[action]
        self.event(at, "task_state_modified", summary=f"{verb} checklist item **{title}**",
                   details={"action": action, "task": title}, subject=who.id)

    def assign(self, at: int, who: Account, title: str, assignee: Account) -> None:
        item = self._item(title)
        before = f"@{self._username_of(item['assignee_id'])}" if item["assignee_id"] else "No Assignee"
        item.update(assignee_id=assignee.id, assignee_modified=at, update_at=at)
        after = f"@{assignee.username}"
        self.event(at, "assignee_changed", subject=who.id,
                   summary=f"changed assignee of checklist item **{title}** from **{before}** to **{after}**")

    def slash_command(self, at: int, who: Account, title: str) -> None:
        item = self._item(title)
        item.update(command_last_run=at, update_at=at)
        self.event(at, "ran_slash_command", summary=f"ran the slash command: `{item['command']}`", subject=who.id)

    def status_update(self, at: int, author: Account, message: str, reminder_s: int = 3600) -> None:
        props = {"authorUsername": author.username, "playbookRunId": self.run["id"], "runName": self.run["name"]}
        post_id = self.post(at, author, message, type=STATUS_POST_TYPE, props=props)
        for channel_id in self.run["broadcast_channel_ids"]:
            self.store.create_post(channel_id=channel_id, user_id=author.id, message=message, type=STATUS_POST_TYPE,
                                   props=props, post_id=new_id(self.rng), at=at + 1)
        self.run["status_posts"].append({"id": post_id, "create_at": at, "delete_at": 0})
        self.run["last_status_update_at"] = at
        self.run["previous_reminder"] = reminder_s * 1_000_000_000  # a Go time.Duration, in nanoseconds
        self.event(at, "status_updated", post_id=post_id, subject=author.id)

    def finish(self, at: int, who: Account) -> None:
        post_id = self.post(at, who, f"@{who.username} marked {self.run['name']} as finished.")
        self.run.update(current_status=FINISHED, end_at=at, previous_reminder=0)
        self.event(at, "run_finished", post_id=post_id, subject=who.id)

    def restore(self, at: int, who: Account) -> None:
        post_id = self.post(at, who, f"@{who.username} restored {self.run['name']}.")
        self.run.update(current_status=IN_PROGRESS, end_at=0)
        self.event(at, "run_restored", post_id=post_id, subject=who.id)

    def toggle(self, at: int, who: Account, what: str, enabled: bool) -> None:
        """`what` is "status_update" or "retrospective", the two switches the plugin records."""
        self.run[f"{what}_enabled"] = enabled
        suffix = "enabled" if enabled else "disabled"
        event_type = f"status_updates_{suffix}" if what == "status_update" else f"retrospective_{suffix}"
        self.event(at, event_type, subject=who.id)

    def publish_retrospective(self, at: int, who: Account, text: str, metrics: list[int | None]) -> None:
        self.run.update(retrospective=text, retrospective_published_at=at)
        self.run["metrics_data"] = [{"metric_config_id": m["id"], "value": v}
                                    for m, v in zip(self.playbook["metrics"], metrics, strict=True)]
        self.event(at, "published_retrospective", subject=who.id)

    def done(self) -> dict[str, Any]:
        self.run["timeline_events"] = sorted(self.events, key=lambda e: (e["event_at"], e["id"]))
        items = [i for c in self.run["checklists"] for i in c["items"] if i["condition_action"] != "hidden"]
        self.run["task_total"] = len(items)
        # The plugin counts skipped items as completed.
        self.run["task_completed"] = sum(1 for i in items if i["state"] in ("closed", "skipped"))
        return self.run

    def _item(self, title: str) -> dict[str, Any]:
        return next(i for c in self.run["checklists"] for i in c["items"] if i["title"] == title)

    def _username_of(self, user_id: str) -> str:
        p = self.people
        return next((a.username for a in (p.admin, p.user, p.second, p.third) if a.id == user_id), user_id)


def _latency_run(store: Messaging, rng: random.Random, now: int, playbook: dict[str, Any], team: Team,
                 people: _People) -> dict[str, Any]:
    """In progress for three hours: triage, investigation and the reminders around status updates."""
    start = now - 3 * HOUR_MS
    run = _Run.start(
        store, rng, playbook, team, people, name="Checkout API latency", channel_name="incident-checkout-latency",
        summary="**Impact**\nCheckout p99 above 3 s for EU customers.\n\n**Severity**\n#sev-2", owner=people.admin,
        reporter=people.second, participants=[people.admin, people.second], at=start, run_number=57)
    admin, user, second = people.admin, people.user, people.second
    run.event(start + 2 * MINUTE_MS, "participants_changed", subject=second.id, creator=second.id,
              details={"action": "joined", "requester": second.username, "users": [user.username]})
    store.add_member(run.run["channel_id"], user.id, at=start + 2 * MINUTE_MS)
    run.run["participant_ids"].append(user.id)
    third = people.third
    if third.id not in run.run["participant_ids"]:
        store.add_member(run.run["channel_id"], third.id, at=start + 3 * MINUTE_MS)
        run.run["participant_ids"].append(third.id)
    run.event(start + 3 * MINUTE_MS, "user_joined_left", subject=third.id, creator=third.id,
              details={"action": "joined", "requester": third.username, "users": [third.username]})
    run.event(start + 4 * MINUTE_MS, "owner_changed", summary=f"@{second.username} to @{admin.username}",
              subject=admin.id, creator=second.id)
    run.assign(start + 5 * MINUTE_MS, admin, "Open a bridge call", user)
    run.task(start + 6 * MINUTE_MS, admin, "Page the on-call engineer", "check")
    run.slash_command(start + 7 * MINUTE_MS, user, "Open a bridge call")
    run.task(start + 8 * MINUTE_MS, user, "Open a bridge call", "check")
    graph_at = start + 9 * MINUTE_MS
    graph = run.post(graph_at, user, "p99 jumped right after the 14:05 deploy of checkout-api")
    run.event(graph_at + 6 * MINUTE_MS, "event_from_post", post_id=graph, event_at=graph_at, subject=user.id,
              creator=admin.id, summary="p99 jumped right after the checkout-api deploy")
    run.status_update(start + 20 * MINUTE_MS, admin,
                      "Rolling back checkout-api to the previous build. Next update in 1 hour.")
    run.task(start + 25 * MINUTE_MS, admin, "Write the first impact statement", "check")
    request_at = start + 85 * MINUTE_MS
    request = run.post(request_at, second, f"@{second.username} requested a status update.")
    run.event(request_at, "status_update_requested", summary=f"@{second.username} requested a status update",
              post_id=request, subject=second.id)
    run.event(start + 90 * MINUTE_MS, "status_update_snoozed", subject=run.run["reporter_user_id"])
    run.event(start + 100 * MINUTE_MS, "property_changed", subject=admin.id, details={
        "property_field_id": new_id(rng), "property_field_name": "Severity", "old_value": "sev-3",
        "new_value": "sev-2", "old_value_display": "Sev 3", "new_value_display": "Sev 2"})
    run.status_update(start + 110 * MINUTE_MS, admin, "Rollback done; p99 is recovering. Watching for 30 minutes.")
    return run.done()


def _failover_drill(store: Messaging, rng: random.Random, now: int, playbook: dict[str, Any], team: Team,
                    people: _People) -> dict[str, Any]:
    """Finished five days ago; the channel was archived on finish and the retrospective published."""
    start = now - 5 * DAY_MS - 4 * HOUR_MS
    admin, user = people.admin, people.user
    run = _Run.start(
        store, rng, playbook, team, people, name="Database failover drill", channel_name="drill-db-failover",
        summary="Quarterly failover of the primary database.", owner=admin, reporter=admin,
        participants=[admin, user], at=start, run_number=55)
    run.task(start + 5 * MINUTE_MS, admin, "Announce the window in Town Square", "check")
    run.task(start + 10 * MINUTE_MS, user, "Take a database snapshot", "skip")
    run.status_update(start + 30 * MINUTE_MS, admin, "Failover started; writes paused for up to 5 minutes.")
    run.toggle(start + 35 * MINUTE_MS, admin, "status_update", False)
    run.task(start + 40 * MINUTE_MS, user, "Fail over to the replica", "check")
    run.task(start + 50 * MINUTE_MS, user, "Run the smoke tests", "check")
    run.toggle(start + 55 * MINUTE_MS, admin, "status_update", True)
    run.task(start + 80 * MINUTE_MS, user, "Fail back", "check")
    run.task(start + 85 * MINUTE_MS, admin, "Post the summary", "check")
    run.finish(start + 90 * MINUTE_MS, admin)
    store.archive_channel(run.run["channel_id"], at=start + 91 * MINUTE_MS)
    run.event(start + 91 * MINUTE_MS, "channel_archived", subject=admin.id)
    run.toggle(start + 2 * HOUR_MS, admin, "retrospective", False)
    run.toggle(start + 3 * HOUR_MS, admin, "retrospective", True)
    run.publish_retrospective(start + DAY_MS, admin, "### Summary\nFailover took 4 minutes; target is 5.\n",
                              [4 * MINUTE_MS, 0])
    return run.done()


def _sso_outage(store: Messaging, rng: random.Random, now: int, playbook: dict[str, Any], team: Team,
                people: _People) -> dict[str, Any]:
    """Finished, archived, restored when the problem came back, finished again; no retrospective."""
    start = now - 12 * DAY_MS
    admin, second = people.admin, people.second
    run = _Run.start(
        store, rng, playbook, team, people, name="SSO login failures", channel_name="incident-sso-logins",
        summary="**Impact**\nNobody can sign in with SAML.\n\n**Severity**\n#sev-1", owner=second, reporter=admin,
        participants=[admin, second], at=start, run_number=51)
    run.status_update(start + 15 * MINUTE_MS, second, "The IdP certificate expired; a new one is being issued.")
    run.task(start + 40 * MINUTE_MS, second, "Confirm the fix with monitoring", "check")
    run.finish(start + HOUR_MS, second)
    store.archive_channel(run.run["channel_id"], at=start + HOUR_MS + 1)
    run.event(start + HOUR_MS + 1, "channel_archived", subject=second.id)
    store.unarchive_channel(run.run["channel_id"], at=start + 3 * HOUR_MS)
    run.restore(start + 3 * HOUR_MS, second)
    run.event(start + 3 * HOUR_MS + 1, "channel_unarchived", subject=second.id)
    run.task(start + 3 * HOUR_MS + 5 * MINUTE_MS, second, "Confirm the fix with monitoring", "uncheck")
    run.status_update(start + 3 * HOUR_MS + 20 * MINUTE_MS, second,
                      "Logins failing again on one node: it still had the old certificate.")
    run.task(start + 4 * HOUR_MS, second, "Confirm the fix with monitoring", "check")
    run.finish(start + 4 * HOUR_MS + 10 * MINUTE_MS, second)
    run.run["retrospective_was_canceled"] = True
    run.event(start + 5 * HOUR_MS, "canceled_retrospective", subject=second.id)
    return run.done()


def _leaked_token(store: Messaging, rng: random.Random, now: int, playbook: dict[str, Any], team: Team,
                  people: _People) -> dict[str, Any]:
    """Finished a month ago in a team of admins only, from a private playbook: plain users cannot see it."""
    start = now - 31 * DAY_MS
    admin = people.admin
    run = _Run.start(
        store, rng, playbook, team, people, name="Leaked bot token", channel_name="security-leaked-token",
        summary="A bot token was pushed to a public repository.", owner=admin, reporter=admin, participants=[admin],
        at=start, run_number=48)
    run.task(start + 10 * MINUTE_MS, admin, "Revoke affected sessions", "check")
    run.task(start + 20 * MINUTE_MS, admin, "Rotate exposed credentials", "check")
    run.status_update(start + 30 * MINUTE_MS, admin, "Token revoked and rotated; reviewing audit logs.")
    run.finish(start + 2 * HOUR_MS, admin)
    run.publish_retrospective(start + 2 * DAY_MS, admin, "### Summary\nToken revoked within 20 minutes.\n",
                              [10 * MINUTE_MS, 0])
    return run.done()

"""What the demo's Mattermost database holds for one simulated deployment, worked out from the simulator's scenario
so that the database and the REST API tell the same story.

Agreeing with the API (simulator/api/analytics.py, users.py, teams.py):
- teams: the scenario's teams, same ids and names; none archived (team_count).
- channels: per team exactly `open_channels` public and `private_channels` private ones, none archived, because
  Mattermost's channel_open_count/channel_private_count count archived channels too while the dashboard counts live
  ones. The channels the simulator itself serves (town-square, off-topic, ...) come first, with their ids.
- messages: each team's channels carry message counters (channels.totalmsgcount) adding up to the team's
  post_count, and the posts table holds one row per post: usage.total_posts rows, all live. The scenario's total
  is the sum of its teams', so direct and group chats exist but hold no posts.
- posts per day: the last 30 UTC days hold exactly the API's post_counts_day figures, spread over the working
  hours (today's only up to the load's clock); older posts are spread evenly over the years before.
- users: usage.active_users people (the scenario's accounts among them, same ids), usage.inactive_users
  deactivated ones, and scenario.bot_accounts bots; each team has member_count members.
- sessions: usage.sessions that have not expired (Mattermost's session_count is ExpiresAt > now) and a few that
  expired since the last cleanup; none "never expires".
- files: usage.file_count rows whose sizes add up to usage.file_size_bytes.

Too big to copy (the large scenario's 41 million posts): at most POSTS_LIMIT newest posts are loaded, the
counters still add up to the API's totals, and the plan says so (`posts_loaded` < `posts_total`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime

from simulator import messaging
from simulator.ids import ID_ALPHABET, ID_LENGTH
from simulator.model import Account, DayCount, Scenario, Team

LOADER_VERSION = 2  # raise when what a load writes changes, so older databases are reloaded
POSTS_LIMIT = 3_000_000  # posts loaded at most: about 40 s; the large scenario's 41 million would take 10 minutes
FILES_LIMIT = 200_000
DIRECT_CHATS_LIMIT = 100_000
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
HISTORY_YEARS_MAX = 3
# When people post, by UTC hour: a working day with a lunch dip (its shape shows on the peak-usage grid).
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 15, 14, 11, 13, 15, 14, 12, 9, 6, 4, 3, 2, 2, 1)
# Room for the recent posts of any later day: the weekday mix of the last 30 days changes their number a little.
RECENT_MARGIN = 0.2

FIRST_NAMES = (
    "alex", "maria", "sam", "li", "noah", "emma", "omar", "sofia", "ravi", "anna", "jonas", "mei", "lucas", "zoe",
    "ivan", "chloe", "david", "amara", "felix", "hana", "leo", "nina", "marco", "aisha", "tom", "sara", "kenji",
    "lena", "pablo", "ines", "ethan", "yara", "victor", "julia", "arjun", "elif", "max", "olga", "diego", "freya",
)
LAST_NAMES = (
    "smith", "garcia", "chen", "muller", "rossi", "kowalski", "nguyen", "silva", "kim", "patel", "novak", "haddad",
    "jensen", "moreau", "tanaka", "okafor", "larsen", "costa", "weber", "ali", "brown", "ivanova", "schmidt",
    "lopez", "singh", "martin", "berg", "dubois", "sato", "keller",
)
TOPICS = (
    "announcements", "random", "standup", "planning", "releases", "incidents", "design", "docs", "onboarding",
    "hiring", "support-escalations", "customers", "metrics", "infra", "security", "qa", "frontend", "backend",
    "mobile", "data", "roadmap", "feedback", "events", "travel", "facilities", "budget", "vendors", "training",
    "compliance", "automation", "on-call", "postmortems", "wins", "ideas", "help", "tools", "office-emea",
    "office-amer", "office-apac", "social",
)
PRIVATE_TOPICS = ("leads", "managers", "hr-cases", "contracts", "salary-review", "audit", "legal", "board-prep")
DEFAULT_CHANNELS = (messaging.DEFAULT_CHANNEL, "off-topic")  # every team member is in these
_TO_MATTERMOST = str.maketrans("abcdefghijklmnopqrstuvwxyz234567", ID_ALPHABET)


@dataclass(frozen=True)
class PlannedUser:
    id: str
    username: str
    email: str
    first_name: str
    last_name: str
    position: str
    roles: str
    create_at: int
    delete_at: int = 0
    bot_owner: str | None = None  # bots only: who made it (a plugin id, or the server itself)
    bot_description: str = ""

    @property
    def is_bot(self) -> bool:
        return self.bot_owner is not None


@dataclass(frozen=True)
class PlannedChannel:
    id: str
    team_id: str  # '' for direct and group chats
    name: str
    display_name: str
    type: str  # O public, P private, D direct, G group
    purpose: str
    creator_id: str
    create_at: int
    messages: int  # Mattermost's counter, channels.totalmsgcount
    loaded: int  # posts rows loaded for it (= messages unless the scenario is too big to copy)
    members: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    scenario: Scenario
    users: tuple[PlannedUser, ...]
    team_members: tuple[tuple[str, str, bool], ...]  # team id, user id, team admin
    channels: tuple[PlannedChannel, ...]
    posts_loaded: int
    recent_block: int  # posts (newest first) re-dated when the day changes; the rest never moves. Not part of
    # the fingerprint: a later day that needs more room than a database has reloads its posts instead.

    @property
    def posts_total(self) -> int:
        return self.scenario.usage.total_posts

    @property
    def days(self) -> tuple[DayCount, ...]:
        """The API's posts per UTC day, newest (today) first."""
        return self.scenario.usage.posts_per_day

    @property
    def today(self) -> str:
        return self.days[0].day if self.days else _day(self.scenario.now_ms)

    @property
    def recent_posts(self) -> int:
        return min(self.posts_loaded, sum(d.value for d in self.days))

    @property
    def people(self) -> tuple[PlannedUser, ...]:
        return tuple(u for u in self.users if not u.is_bot and not u.delete_at)

    def fingerprint(self) -> str:
        """Changes when anything the load writes changes, except the dates (they follow the clock)."""
        digest = hashlib.sha256()
        s = self.scenario
        head = {"loader": LOADER_VERSION, "scenario": s.name, "version": s.build.version,
                "schema": s.build.schema_version, "diagnostic_id": s.diagnostic_id, "posts": self.posts_loaded,
                "usage": [s.usage.active_users, s.usage.inactive_users,
                                                      s.usage.total_posts, s.usage.sessions, s.usage.file_count,
                                                      s.usage.file_size_bytes],
                "teams": [(t.id, t.name, t.display_name, t.member_count) for t in s.teams],
                "nodes": [(n.id, n.hostname) for n in s.nodes], "jobs": len(s.jobs)}
        digest.update(json.dumps(head, sort_keys=True).encode())
        for u in self.users:
            digest.update(f"{u.id}{u.username}{u.email}{u.roles}{bool(u.delete_at)}{u.bot_owner}".encode())
        for team_id, user_id, admin in self.team_members:
            digest.update(f"{team_id}{user_id}{admin}".encode())
        for c in self.channels:
            digest.update(f"{c.id}{c.team_id}{c.name}{c.display_name}{c.type}{c.messages}{c.loaded}".encode())
            digest.update("".join(c.members).encode())
        return digest.hexdigest()[:24]


def build_plan(scenario: Scenario) -> Plan:
    """The database for `scenario`; deterministic (seeded by the scenario's name) except for the dates."""
    rng = random.Random(f"mmdash-demo-database/{scenario.name}")
    seeded = messaging.seeded(scenario)
    users = _users(rng, scenario)
    people = [u for u in users if not u.is_bot and not u.delete_at]
    team_members, members_by_team = _team_members(rng, scenario, seeded, people)
    team_channels = [c for team in scenario.teams
                     for c in _channels_of(rng, scenario.now_ms, team, seeded, members_by_team[team.id])]
    loaded = min(scenario.usage.total_posts, POSTS_LIMIT)
    quotas = _split(loaded, [c.messages for c in team_channels]) if team_channels else []
    channels = [_with_loaded(c, q) for c, q in zip(team_channels, quotas, strict=True)]
    channels += _chats(rng, scenario.now_ms, people)
    recent = min(loaded, sum(d.value for d in scenario.usage.posts_per_day))
    block = min(loaded, recent + max(100, int(recent * RECENT_MARGIN)))
    return Plan(scenario, tuple(users), tuple(team_members), tuple(channels), loaded, block)


# ------------------------------------------------------------------------------------------------- users

def new_ids(rng: random.Random, count: int) -> list[str]:
    """Mattermost-shaped ids: base32 of random bytes in Mattermost's alphabet, as model.NewId makes them."""
    return [base64.b32encode(rng.randbytes(17)).decode()[:ID_LENGTH].lower().translate(_TO_MATTERMOST)
            for _ in range(count)]


def _person(account: Account) -> PlannedUser:
    return PlannedUser(account.id, account.username, account.email, account.first_name, account.last_name,
                       account.position, account.roles, account.create_at)


def _users(rng: random.Random, s: Scenario) -> list[PlannedUser]:
    domain = s.admin.email.split("@", 1)[1]
    users = [_person(a) for a in s.accounts]
    taken = {u.username for u in users}
    active = max(0, s.usage.active_users - len(users))
    total = active + s.usage.inactive_users
    names = len(FIRST_NAMES) * len(LAST_NAMES)
    for number, user_id in enumerate(new_ids(rng, total)):
        first, last = FIRST_NAMES[number % len(FIRST_NAMES)], LAST_NAMES[number // len(FIRST_NAMES) % len(LAST_NAMES)]
        username = f"{first}.{last}" + (str(number // names + 1) if number >= names else "")
        while username in taken:  # one of the scenario's own accounts
            username += "1"
        taken.add(username)
        created = s.now_ms - rng.randint(30, 1500) * DAY_MS
        deleted = created + rng.randint(1, 29) * DAY_MS if number >= active else 0
        users.append(PlannedUser(user_id, username, f"{username}@{domain}", first.title(), last.title(), "",
                                 "system_user", created, deleted))
    bots = [("system-bot", "System", "")] + [
        (p.id.rsplit(".", 1)[-1].replace("mattermost-", ""), p.name, p.id)
        for p in s.plugins if p.enabled and p.has_server]
    for (username, name, owner), bot_id in zip(bots[:s.bot_accounts], new_ids(rng, len(bots)), strict=False):
        users.append(PlannedUser(bot_id, username, f"{username}@localhost", name, "", "", "system_user",
                                 s.installation_date, bot_owner=owner or s.admin.id,
                                 bot_description=f"{name} bot"))
    return users


def _team_members(rng: random.Random, s: Scenario, seeded: messaging.Messaging, people: list[PlannedUser]) -> tuple[
        list[tuple[str, str, bool]], dict[str, list[str]]]:
    accounts = {a.id for a in s.accounts}
    others = [u.id for u in people if u.id not in accounts]
    rows: list[tuple[str, str, bool]] = []
    by_team: dict[str, list[str]] = {}
    for team in s.teams:
        joined = [a.id for a in s.accounts if seeded.team_member(team.id, a.id) is not None]
        wanted = min(team.member_count, len(joined) + len(others))
        members = joined + rng.sample(others, wanted - len(joined)) if wanted > len(joined) else joined
        by_team[team.id] = members
        rows += [(team.id, user_id, user_id == s.admin.id) for user_id in members]
    return rows, by_team


# ---------------------------------------------------------------------------------------------- channels

def _channels_of(rng: random.Random, now: int, team: Team, seeded: messaging.Messaging,
                 members: list[str]) -> list[PlannedChannel]:
    """The team's channels with their (full) message counters; `loaded` is filled in later."""
    existing = seeded.team_channels(team.id)
    opens = [c for c in existing if c.type == messaging.OPEN][:team.open_channels]
    privates = [c for c in existing if c.type == messaging.PRIVATE][:team.private_channels]
    creator = members[0]
    planned: list[tuple[PlannedChannel, float]] = []
    for channel in opens + privates:
        joined = [m.user_id for m in seeded.members(channel.id)]
        if channel.name in DEFAULT_CHANNELS:
            joined = list(dict.fromkeys(joined + members))
        planned.append((PlannedChannel(channel.id, team.id, channel.name, channel.display_name, channel.type,
                                       channel.purpose, channel.creator_id, channel.create_at, 0, 0,
                                       tuple(joined)), _weight(rng, channel.name, channel.type)))
    names = {c.name for c, _ in planned}
    for kind, count, topics in ((messaging.OPEN, team.open_channels - len(opens), TOPICS),
                                (messaging.PRIVATE, team.private_channels - len(privates), PRIVATE_TOPICS)):
        for number in range(count):
            name = topics[number % len(topics)]
            if name in names:
                name = f"{name}-{number // len(topics) + 2}"
            names.add(name)
            size = rng.randint(min(3, len(members)), min(len(members), 12 if kind == messaging.PRIVATE else 80))
            joined = [creator, *rng.sample(members[1:], max(0, size - 1))]
            created = team.create_at + rng.randint(0, max(1, now - team.create_at - DAY_MS))
            planned.append((PlannedChannel(_channel_id(rng), team.id, name, name.replace("-", " ").title(), kind,
                                           "", creator, created, 0, 0, tuple(joined)), _weight(rng, name, kind)))
    counters = _split(team.post_count, [w for _, w in planned])
    return [PlannedChannel(c.id, c.team_id, c.name, c.display_name, c.type, c.purpose, c.creator_id, c.create_at,
                           messages, 0, c.members) for (c, _), messages in zip(planned, counters, strict=True)]


def _channel_id(rng: random.Random) -> str:
    return new_ids(rng, 1)[0]


def _weight(rng: random.Random, name: str, kind: str) -> float:
    """A channel's share of its team's messages: a long tail, town-square and off-topic busiest."""
    weight = rng.lognormvariate(0, 1)
    if name in DEFAULT_CHANNELS:
        weight *= 4
    return weight * (0.5 if kind == messaging.PRIVATE else 1.0)


def _with_loaded(channel: PlannedChannel, loaded: int) -> PlannedChannel:
    return PlannedChannel(channel.id, channel.team_id, channel.name, channel.display_name, channel.type,
                          channel.purpose, channel.creator_id, channel.create_at, channel.messages, loaded,
                          channel.members)


def _chats(rng: random.Random, now: int, people: list[PlannedUser]) -> list[PlannedChannel]:
    """Direct chats (two people, named by their sorted ids) and group chats (three to five, named by a hash of
    theirs), as Mattermost names them; they hold no posts (see the module docstring)."""
    if len(people) < 2:
        return []
    ids = [p.id for p in people]
    names = {p.id: p.username for p in people}
    pairs = min(int(len(ids) * 1.2), len(ids) * (len(ids) - 1) // 2, DIRECT_CHATS_LIMIT)
    chats: list[PlannedChannel] = []
    seen: set[str] = set()
    while len(chats) < pairs:
        pair = tuple(sorted(rng.sample(ids, 2)))
        name = "__".join(pair)
        if name in seen:
            continue
        seen.add(name)
        chats.append(PlannedChannel(_channel_id(rng), "", name, "", "D", "", pair[0],
                                    now - rng.randint(1, 700) * DAY_MS, 0, 0, pair))
    for _ in range(min(len(ids) // 12, DIRECT_CHATS_LIMIT // 5) if len(ids) >= 3 else 0):
        group = tuple(sorted(rng.sample(ids, rng.randint(3, min(5, len(ids))))))
        name = hashlib.sha1("".join(group).encode(), usedforsecurity=False).hexdigest()
        if name in seen:
            continue
        seen.add(name)
        chats.append(PlannedChannel(_channel_id(rng), "", name, ", ".join(names[i] for i in group)[:64], "G", "",
                                    group[0], now - rng.randint(1, 700) * DAY_MS, 0, 0, group))
    return chats


# ------------------------------------------------------------------------------------------------- dates

def _split(total: int, weights: list[float]) -> list[int]:
    """Whole numbers in proportion to `weights` adding up to exactly `total` (largest remainders first)."""
    scale = sum(weights) or 1.0
    exact = [total * w / scale for w in weights]
    parts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in by_remainder[:total - sum(parts)]:
        parts[i] += 1
    return parts


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def day_start_ms(day: str) -> int:
    return int(datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC).timestamp() * 1000)


def hour_cdf() -> list[float]:
    """The share of a day's posts made before each whole UTC hour: 25 values from 0 to 1."""
    total = sum(HOUR_WEIGHTS)
    cdf = [0.0]
    for weight in HOUR_WEIGHTS:
        cdf.append(cdf[-1] + weight / total)
    cdf[-1] = 1.0
    return cdf


def share_of_day_before(ms: int, cdf: list[float]) -> float:
    """How much of a day's posting has happened by `ms` (for today, whose posts all lie before the load)."""
    into = (ms - day_start_ms(_day(ms))) / HOUR_MS
    hour = min(int(into), 23)
    return cdf[hour] + (into - hour) * (cdf[hour + 1] - cdf[hour])


def history_interval_ms(plan: Plan) -> int:
    """Spacing of the posts older than the last 30 days, spread back over the installation's age (at most
    HISTORY_YEARS_MAX years)."""
    s = plan.scenario
    older = plan.posts_loaded - plan.recent_posts
    span = min(s.now_ms - s.installation_date, HISTORY_YEARS_MAX * 365 * DAY_MS) - len(plan.days) * DAY_MS
    return max(1, max(span, DAY_MS) // max(older, 1))

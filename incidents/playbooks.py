"""Incident playbooks kept as YAML files: stages with checklists, where to announce, what to forward, whom to call.

Each file in the playbooks folder holds one playbook. Loading checks every file and points each mistake at its
file, line and field, so whoever edits a playbook can fix it without reading this code.
"""

from __future__ import annotations

import re
import string
import unicodedata
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from yaml_files import Loc, Problem, Slug, Strict, Text, YamlFileError, validate_yaml

PLAYBOOKS_DIR = Path(__file__).resolve().parent / "playbooks"

WebhookEvent = Literal["started", "stage_changed", "checklist_changed", "ended"]
WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = get_args(WebhookEvent)

# What a channel_name_template may use; anything else would fail when an incident starts, so it fails at load.
TEMPLATE_PLACEHOLDERS = {
    "date": "the day the incident starts, as 2024-05-31",
    "slug": "the incident name in lowercase letters, digits and dashes",
    "seq": "a number that tells apart incidents that would otherwise get the same channel name",
    "playbook": "the playbook id",
}

CHANNEL_NAME_MAX = 64
_CHANNEL_NAME_FALLBACK = "incident"
# Letters that Unicode does not decompose into an ASCII base letter, so NFKD alone would drop them.
_TRANSLITERATE = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "œ": "oe", "Œ": "oe", "ł": "l", "Ł": "l",
     "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th", "ı": "i"}
)
_NAME_PART = r"[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?"
_CHANNEL_REF = re.compile(rf"^{_NAME_PART}/{_NAME_PART}$")
_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{2,21}$")


def _channel_ref(value: str) -> str:
    if not _CHANNEL_REF.match(value):
        raise ValueError(
            f'{value!r} is not a channel reference; write "team-name/channel-name" as in the channel\'s URL, '
            'e.g. "ops/ops-alerts"'
        )
    return value


def _username(value: str) -> str:
    name = value.removeprefix("@")
    if not _USERNAME.match(name):
        raise ValueError(f"{value!r} is not a Mattermost username (3-22 lowercase letters, digits, '.', '_', '-')")
    return name


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from exc
    return value


def _web_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not a web address; a webhook URL starts with https:// (or http://)")
    return value


def _template(value: str) -> str:
    try:
        fields = list(string.Formatter().parse(value))
    except ValueError as exc:
        raise ValueError(f"{value!r} has unbalanced braces ({exc}); write placeholders as {{slug}}") from exc
    known = ", ".join(f"{{{name}}}" for name in TEMPLATE_PLACEHOLDERS)
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in TEMPLATE_PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}}; known placeholders: {known}")
        if spec or conversion:
            raise ValueError(f"placeholder {{{name}}} takes no format or conversion; write just {{{name}}}")
    return value


ChannelRef = Annotated[str, AfterValidator(_channel_ref)]
Username = Annotated[str, AfterValidator(_username)]
Regex = Annotated[str, AfterValidator(_regex)]
WebUrl = Annotated[str, AfterValidator(_web_url)]
ChannelNameTemplate = Annotated[str, AfterValidator(_template)]


class ForwardingRule(Strict):
    source_channels: list[ChannelRef] = Field(min_length=1)
    keywords: list[Text] = Field(default_factory=list)
    regex: Regex | None = None
    users: list[Username] = Field(default_factory=list)

    @cached_property
    def keyword_pattern(self) -> re.Pattern[str] | None:
        if not self.keywords:
            return None
        # Whole words only, so "error" does not pick up "terror"; lookarounds also work for keywords like "5xx!".
        alternatives = "|".join(re.escape(keyword) for keyword in self.keywords)
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def matches(self, message: str, username: str) -> bool:
        """Whether a post in one of the source channels is worth copying; the channel itself is checked by the caller.

        A rule without keywords, regex or users copies every post.
        """
        if not (self.keywords or self.regex or self.users):
            return True
        return bool(
            (self.keyword_pattern and self.keyword_pattern.search(message))
            or (self.regex and re.search(self.regex, message))
            or username.removeprefix("@") in self.users
        )


class Webhook(Strict):
    url: WebUrl
    events: list[WebhookEvent] = Field(default_factory=lambda: list(WEBHOOK_EVENTS), min_length=1)


class PlaybookStage(Strict):
    name: Text
    items: list[Text] = Field(default_factory=list)


class RetrospectiveSection(Strict):
    """One section of the retrospective written after the incident: its heading and what to write there."""

    heading: Text
    prompt: str = ""


class Playbook(Strict):
    version: Literal[1]
    id: Slug
    name: Text
    description: str = ""
    channel_name_template: ChannelNameTemplate = "incident-{date}-{slug}"
    stages: list[PlaybookStage] = Field(min_length=1)
    broadcast_channels: list[ChannelRef] = Field(default_factory=list)
    # Status updates (incidents/status_updates.py): the commander is reminded when none was posted for this long.
    status_update_interval_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    # Where status updates are announced besides the incident channel; absent: the broadcast_channels.
    announcement_channels: list[ChannelRef] | None = None
    forwarding: list[ForwardingRule] = Field(default_factory=list)
    webhooks: list[Webhook] = Field(default_factory=list)
    # None: the default template of incidents/retrospective.py.
    retrospective: list[RetrospectiveSection] | None = Field(default=None, min_length=1)


def _same(text: str) -> str:
    # Stages and items are picked by name case-insensitively (slash command, API), so "Mitigate" and "mitigate" clash.
    return " ".join(text.casefold().split())


def _check_playbook(playbook: Playbook) -> list[tuple[Loc, str]]:
    found: list[tuple[Loc, str]] = []
    stages_seen: dict[str, int] = {}
    for s, stage in enumerate(playbook.stages):
        if (first := stages_seen.setdefault(_same(stage.name), s)) != s:
            found.append((("stages", s, "name"), f"duplicate stage {stage.name!r}, already stage {first + 1}"))
        items_seen: dict[str, int] = {}
        for i, item in enumerate(stage.items):
            if (first := items_seen.setdefault(_same(item), i)) != i:
                message = f"duplicate item {item!r} in stage {stage.name!r}, already item {first + 1}"
                found.append((("stages", s, "items", i), message))
    return found


def load_playbook(path: Path, taken: dict[str, Path] | None = None) -> Playbook:
    """One playbook file; raises YamlFileError naming file, line and field, also when its id is in `taken`."""
    taken = taken or {}

    def check(playbook: Playbook) -> list[tuple[Loc, str]]:
        found = _check_playbook(playbook)
        if playbook.id in taken:
            found.append((("id",), f"playbook id {playbook.id!r} is already used by {taken[playbook.id]}; "
                                   "ids must be unique across playbook files"))
        return found

    return validate_yaml(path, Playbook, check)


def load_playbooks_lenient(directory: Path | None = None) -> tuple[dict[str, Playbook], list[YamlFileError]]:
    """Every valid playbook by id, and one error per file that is not; a broken file never hides the good ones."""
    folder = Path(directory) if directory else PLAYBOOKS_DIR
    if not folder.is_dir():
        return {}, [YamlFileError(folder, [Problem(1, 1, None, "the playbooks folder does not exist")])]
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        return {}, [YamlFileError(folder, [Problem(1, 1, None, "the folder holds no playbook (*.yaml) files")])]
    playbooks: dict[str, Playbook] = {}
    files_by_id: dict[str, Path] = {}
    errors: list[YamlFileError] = []
    for path in files:
        try:
            playbook = load_playbook(path, files_by_id)
        except YamlFileError as exc:
            errors.append(exc)
            continue
        playbooks[playbook.id] = playbook
        files_by_id[playbook.id] = path
    return playbooks, errors


def load_playbooks(directory: Path | None = None) -> dict[str, Playbook]:
    """Every playbook by id; raises the first file's YamlFileError (file, line, field) if any file is invalid."""
    playbooks, errors = load_playbooks_lenient(directory)
    if errors:
        raise errors[0]
    return playbooks


def slugify(text: str) -> str:
    """Lowercase ASCII letters, digits and single dashes; accents become their base letter, other scripts vanish."""
    ascii_text = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def channel_name(playbook: Playbook, incident_name: str, today: date, seq: int | None = None) -> str:
    """The incident channel's name from the playbook's template: a valid Mattermost channel name, at most 64 chars.

    `seq` tells apart incidents that would get the same name; a template without {seq} gets it appended.
    When the name is too long, the incident's slug is shortened so date and number stay readable.
    """
    template = playbook.channel_name_template
    if seq is not None and "{seq}" not in template:
        template += "-{seq}"
    slug = slugify(incident_name) or _CHANNEL_NAME_FALLBACK
    while True:
        name = slugify(template.format(date=today.isoformat(), slug=slug, seq="" if seq is None else seq,
                                       playbook=playbook.id))
        if len(name) <= CHANNEL_NAME_MAX or not slug:
            break
        slug = slug[: max(0, len(slug) - (len(name) - CHANNEL_NAME_MAX))].rstrip("-")
    name = name[:CHANNEL_NAME_MAX].rstrip("-")
    return name if len(name) >= 2 else _CHANNEL_NAME_FALLBACK

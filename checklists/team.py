"""The implementation team: the plan's roles, and who fills each one (stored, shared by every environment).

One versioned document per role (kind "plan_team", key = the role's slug), so two people naming owners at once
get a ConflictError instead of overwriting each other. Roles a newer plan no longer has are kept as orphaned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime

import pandas as pd

from checklists.loader import ImplementationPlan
from store import Store

KIND = "plan_team"
SCOPE = "all environments"  # the store files documents per environment; the team spans all of them
COLUMNS = ["key", "Role", "Responsibilities", "Person", "Contact", "Updated"]


def role_key(role: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", role.lower()).strip("-")


@dataclass(frozen=True)
class Member:
    key: str
    role: str
    person: str = ""
    contact: str = ""  # email or chat handle, never a credential
    version: int | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None


@dataclass
class Team:
    members: dict[str, Member] = field(default_factory=dict)
    orphaned: list[Member] = field(default_factory=list)


def load(store: Store, plan: ImplementationPlan) -> Team:
    team = Team({role_key(r.role): Member(role_key(r.role), r.role) for r in plan.team})
    for document in store.list(KIND, SCOPE):
        member = Member(document.key, document.body.get("role") or document.key, document.body.get("person") or "",
                        document.body.get("contact") or "", document.version, document.updated_by,
                        document.updated_at)
        if document.key in team.members:
            team.members[document.key] = replace(member, role=team.members[document.key].role)
        else:
            team.orphaned.append(member)
    return team


def save(store: Store, member: Member, *, actor: str) -> Member:
    """Store who fills a role; raises store.ConflictError when someone changed it since it was read."""
    body = {"role": member.role, "person": member.person.strip(), "contact": member.contact.strip()}
    document = store.put(KIND, member.key, SCOPE, body, actor=actor, expected_version=member.version,
                         audit_details={"person": body["person"]})
    return replace(member, person=body["person"], contact=body["contact"], version=document.version,
                   updated_by=document.updated_by, updated_at=document.updated_at)


def rows(plan: ImplementationPlan, team: Team) -> pd.DataFrame:
    records = []
    for role in plan.team:
        member = team.members[role_key(role.role)]
        records.append({"key": member.key, "Role": role.role, "Responsibilities": "; ".join(role.responsibilities),
                        "Person": member.person, "Contact": member.contact,
                        "Updated": f"{member.updated_by} {member.updated_at:%Y-%m-%d %H:%M}" if member.updated_at
                        else ""})
    return pd.DataFrame(records, columns=COLUMNS)


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()


def edits(before: pd.DataFrame, after: pd.DataFrame, team: Team) -> list[Member]:
    """Members whose person or contact changed in an edited table, carrying the version they were read at."""
    changed = []
    for (_, old), (_, new) in zip(before.iterrows(), after.iterrows(), strict=True):
        if (_text(old["Person"]), _text(old["Contact"])) != (_text(new["Person"]), _text(new["Contact"])):
            changed.append(replace(team.members[new["key"]], person=_text(new["Person"]),
                                   contact=_text(new["Contact"])))
    return changed

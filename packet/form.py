"""The information form of a support packet (from the support packet requirements), validated."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

COMPONENTS = ("WebApp", "Desktop App", "Mobile App", "Command Line", "Authentication", "Other")
DATABASE_TYPES = ("PostgreSQL", "MySQL", "Elasticsearch", "Other")


@dataclass(frozen=True)
class PacketForm:
    issue: str = ""
    users_affected: int | None = None
    productivity_affected_percent: int | None = None
    steps_to_reproduce: str = ""
    component: str = "Other"
    environment_os: str = ""
    high_availability: bool | None = None
    database_type: str = "PostgreSQL"
    database_other: str = ""
    database_version: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None

    def problems(self) -> list[str]:
        """What a person must fix before the packet is built; empty when the form is usable."""
        problems = []
        if not self.issue.strip():
            problems.append("Describe the issue: support needs to know what went wrong.")
        if self.users_affected is not None and self.users_affected < 0:
            problems.append("Users affected must be zero or more.")
        pct = self.productivity_affected_percent
        if pct is not None and not 0 <= pct <= 100:
            problems.append("Productivity affected is a percentage: between 0 and 100.")
        if self.component not in COMPONENTS:
            problems.append(f"Component must be one of {', '.join(COMPONENTS)}.")
        if self.database_type not in DATABASE_TYPES:
            problems.append(f"Database type must be one of {', '.join(DATABASE_TYPES)}.")
        if self.database_type == "Other" and not self.database_other.strip():
            problems.append("Name the database when its type is Other.")
        if self.started_at and self.ended_at and self.ended_at < self.started_at:
            problems.append("The problem cannot end before it started: check the two times.")
        return problems

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self).items()}

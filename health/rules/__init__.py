"""The rule catalogue: importing this package registers every rule in `RULES`."""

from health.rules import (  # noqa: F401  (imported for their @rule registrations)
    auth,
    cluster,
    compliance,
    database,
    database_server,
    jobs,
    license,
    notifications,
    performance,
    platform,
    plugins,
    search,
    version,
)
from health.rules.base import RULES, Rule

__all__ = ["RULES", "Rule"]

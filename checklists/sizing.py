"""How much hardware a deployment needs for its expected users, from the implementation plan's sizing table.

The table is a set of tiers (rows sharing `users_up_to`); the smallest tier that covers the users is used as is.
Beyond the largest tier the answer is an extrapolation, and says so: application servers and proxies scale out
with users, the database tier is kept as it is, and the result needs confirming against Mattermost's guidance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from checklists.loader import ImplementationPlan, SizingRow

SIZING_GUIDANCE_URL = "https://docs.mattermost.com/install/software-hardware-requirements.html"
# Stateless components that scale out by adding servers; the database does not scale that way.
SCALED_OUT_COMPONENTS = frozenset({"mattermost server", "proxy"})


@dataclass(frozen=True)
class ComponentSize:
    component: str
    quantity: int
    vcpus: int  # per server
    memory_gb: int  # per server
    storage_gb_min: int  # per server
    storage_gb_max: int  # per server

    @property
    def total_vcpus(self) -> int:
        return self.quantity * self.vcpus

    @property
    def total_memory_gb(self) -> int:
        return self.quantity * self.memory_gb

    @property
    def total_storage_gb_min(self) -> int:
        return self.quantity * self.storage_gb_min

    @property
    def total_storage_gb_max(self) -> int:
        return self.quantity * self.storage_gb_max


@dataclass(frozen=True)
class Sizing:
    expected_users: int
    tier_users_up_to: int  # the table tier the answer comes from
    components: tuple[ComponentSize, ...]
    basis: str  # where the numbers come from, for the page to show beside them
    note: str | None = None  # set when the answer goes beyond the table

    @property
    def extrapolated(self) -> bool:
        return self.note is not None

    @property
    def servers(self) -> int:
        return sum(component.quantity for component in self.components)

    @property
    def total_vcpus(self) -> int:
        return sum(component.total_vcpus for component in self.components)

    @property
    def total_memory_gb(self) -> int:
        return sum(component.total_memory_gb for component in self.components)

    @property
    def total_storage_gb_min(self) -> int:
        return sum(component.total_storage_gb_min for component in self.components)

    @property
    def total_storage_gb_max(self) -> int:
        return sum(component.total_storage_gb_max for component in self.components)

    def table(self) -> pd.DataFrame:
        """A row per component and a last "Total" row, with units in the column names."""
        rows = [{"Component": c.component, "Servers": c.quantity, "vCPUs each": c.vcpus,
                 "Memory GB each": c.memory_gb, "Storage GB each": _range(c.storage_gb_min, c.storage_gb_max),
                 "Total vCPUs": c.total_vcpus, "Total memory GB": c.total_memory_gb,
                 "Total storage GB": _range(c.total_storage_gb_min, c.total_storage_gb_max)}
                for c in self.components]
        rows.append({"Component": "Total", "Servers": self.servers, "vCPUs each": None, "Memory GB each": None,
                     "Storage GB each": "", "Total vCPUs": self.total_vcpus, "Total memory GB": self.total_memory_gb,
                     "Total storage GB": _range(self.total_storage_gb_min, self.total_storage_gb_max)})
        return pd.DataFrame(rows)


def _range(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}–{high}"


def _component(row: SizingRow, quantity: int) -> ComponentSize:
    return ComponentSize(row.component, quantity, row.vcpus, row.memory_gb, row.storage_gb_min, row.storage_gb_max)


def size(plan: ImplementationPlan, expected_users: int) -> Sizing:
    """The hardware for `expected_users` concurrent users; raises ValueError when fewer than one user is asked for."""
    if expected_users < 1:
        raise ValueError(f"expected users must be at least 1, not {expected_users}; "
                         "enter how many people will use Mattermost at the same time")
    tiers = sorted({row.users_up_to for row in plan.hardware_sizing})
    covering = next((users_up_to for users_up_to in tiers if users_up_to >= expected_users), None)
    if covering is not None:
        rows = [row for row in plan.hardware_sizing if row.users_up_to == covering]
        return Sizing(expected_users, covering, tuple(_component(row, row.quantity) for row in rows),
                      basis=f"The implementation plan's hardware table for up to {covering:,} users.")
    largest = tiers[-1]
    factor = expected_users / largest
    rows = [row for row in plan.hardware_sizing if row.users_up_to == largest]
    components = tuple(
        _component(row, math.ceil(row.quantity * factor) if row.component.lower() in SCALED_OUT_COMPONENTS
                   else row.quantity)
        for row in rows)
    note = (f"{expected_users:,} users is beyond the template's table, which stops at {largest:,} users. Mattermost "
            f"server and proxy counts are scaled up in proportion (×{factor:.2f}, rounded up) and the database "
            "servers are kept as they are. This is an extrapolation: confirm it with Mattermost's sizing guidance "
            f"({SIZING_GUIDANCE_URL}) before ordering hardware.")
    return Sizing(expected_users, largest, components,
                  basis=f"Extrapolated from the implementation plan's hardware table for up to {largest:,} users.",
                  note=note)

"""Hardware sizing from the implementation plan's table: the covering tier, totals, and honest extrapolation."""

import pytest

from checklists import sizing
from checklists.loader import ImplementationPlan, load_plan

PLAN = load_plan()


def _plan_with_tiers() -> ImplementationPlan:
    """The shipped table (2,000 users) plus a smaller tier, to tell which tier gets picked."""
    data = PLAN.model_dump()
    data["hardware_sizing"] = [
        {"users_up_to": 500, "component": "Mattermost server", "quantity": 1, "vcpus": 2, "memory_gb": 4,
         "storage_gb_min": 20, "storage_gb_max": 40},
        *data["hardware_sizing"],
    ]
    return ImplementationPlan.model_validate(data)


def test_within_the_table_the_template_numbers_are_used_with_totals():
    result = sizing.size(PLAN, 1500)
    assert not result.extrapolated and result.note is None and result.tier_users_up_to == 2000
    assert [(c.component, c.quantity, c.vcpus, c.memory_gb) for c in result.components] == [
        ("Mattermost server", 2, 2, 4), ("Database server", 2, 2, 8), ("Proxy", 2, 1, 4)]
    assert (result.servers, result.total_vcpus, result.total_memory_gb) == (6, 10, 32)
    assert (result.total_storage_gb_min, result.total_storage_gb_max) == (310, 400)
    assert "up to 2,000 users" in result.basis


def test_the_smallest_tier_that_covers_the_users_is_chosen():
    plan = _plan_with_tiers()
    assert sizing.size(plan, 500).tier_users_up_to == 500
    assert [c.component for c in sizing.size(plan, 500).components] == ["Mattermost server"]
    assert sizing.size(plan, 501).tier_users_up_to == 2000
    assert sizing.size(plan, 2000).tier_users_up_to == 2000 and not sizing.size(plan, 2000).extrapolated


def test_beyond_the_table_app_servers_and_proxies_scale_and_the_answer_says_so():
    result = sizing.size(PLAN, 5000)  # 2.5 times the largest tier
    quantities = {c.component: c.quantity for c in result.components}
    assert quantities == {"Mattermost server": 5, "Database server": 2, "Proxy": 5}
    assert result.extrapolated and result.tier_users_up_to == 2000
    assert "beyond the template's table" in result.note and "2,000 users" in result.note
    assert "confirm it with Mattermost's sizing guidance" in result.note and sizing.SIZING_GUIDANCE_URL in result.note
    assert result.basis.startswith("Extrapolated")
    assert sizing.size(PLAN, 2001).components[0].quantity == 3  # rounded up, never down


def test_the_table_has_a_row_per_component_and_a_total():
    table = sizing.size(PLAN, 100).table()
    assert list(table["Component"]) == ["Mattermost server", "Database server", "Proxy", "Total"]
    assert table.iloc[0]["Storage GB each"] == "45–90" and table.iloc[1]["Storage GB each"] == "100"
    assert table.iloc[-1]["Total vCPUs"] == 10 and table.iloc[-1]["Total storage GB"] == "310–400"


@pytest.mark.parametrize("users", [0, -5])
def test_fewer_than_one_user_is_refused_with_what_to_enter(users):
    with pytest.raises(ValueError, match=rf"at least 1, not {users}; enter how many people"):
        sizing.size(PLAN, users)

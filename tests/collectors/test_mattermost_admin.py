"""Changing the log level through Mattermost's config API, and putting it back."""

from pydantic import SecretStr

from collectors.mattermost_admin import set_log_level
from settings import MattermostSettings


def mm(sim) -> MattermostSettings:
    return MattermostSettings(url=sim.url, token=SecretStr(sim.admin_token))


async def test_raise_to_debug_and_restore(simulator):
    change = await set_log_level(mm(simulator), simulator.admin_token, "DEBUG")
    assert change.error is None and change.current == "DEBUG" and change.previous not in (None, "DEBUG")
    restored = await set_log_level(mm(simulator), simulator.admin_token, change.previous)
    assert restored.current == change.previous and restored.previous == "DEBUG"


async def test_a_non_admin_is_refused_with_a_sentence(simulator):
    change = await set_log_level(mm(simulator), simulator.user_token, "DEBUG")
    assert change.error and "HTTP 403" in change.error

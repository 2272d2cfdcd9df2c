"""Sign-in checks: only system admins of the configured server get in, each refusal says why."""

from pydantic import SecretStr

from collectors.mattermost_auth import admin_by_email, sign_in
from settings import MattermostSettings


def mm(simulator, token: str | None = None) -> MattermostSettings:
    return MattermostSettings(url=simulator.url, token=SecretStr(token) if token else None)


async def test_admin_token_signs_in(simulator):
    result = await sign_in(mm(simulator), token=simulator.admin_token)
    assert result.ok and result.user.username == simulator.admin_username
    assert result.token == simulator.admin_token


async def test_password_sign_in_returns_a_session_token(simulator):
    result = await sign_in(mm(simulator), username=simulator.admin_username, password=simulator.admin_password)
    assert result.ok and result.token and result.token != simulator.admin_token


async def test_refusals_say_why(simulator):
    non_admin = await sign_in(mm(simulator), token=simulator.user_token)
    assert not non_admin.ok and non_admin.token is None
    assert f"@{simulator.user_username}" in non_admin.error and "not a system admin" in non_admin.error
    wrong = await sign_in(mm(simulator), token="nope")
    assert "rejected the token" in wrong.error
    bad_password = await sign_in(mm(simulator), username=simulator.admin_username, password="nope")
    assert "refused the sign-in" in bad_password.error
    assert "Enter a personal access token" in (await sign_in(mm(simulator))).error


async def test_unreachable_server():
    result = await sign_in(MattermostSettings(url="http://127.0.0.1:9"), token="t")
    assert "Nothing is listening" in result.error
    assert result.unreachable


async def test_a_server_in_trouble_is_no_verdict_on_the_token(simulator):
    simulator.faults.set("/api/v4/users/me", status=502)
    down = await sign_in(mm(simulator), token=simulator.admin_token)
    assert not down.ok and down.unreachable and "HTTP 502" in down.error
    simulator.faults.set("/api/v4/users/me", status=401)
    refused = await sign_in(mm(simulator), token=simulator.admin_token)
    assert not refused.ok and not refused.unreachable


async def test_single_sign_on_email_maps_to_an_admin(simulator):
    assert (await admin_by_email(mm(simulator, simulator.admin_token), simulator.admin_email)).ok
    refused = await admin_by_email(mm(simulator, simulator.admin_token), simulator.user_email)
    assert "not a system admin" in refused.error
    unknown = await admin_by_email(mm(simulator, simulator.admin_token), "nobody@example.com")
    assert "No Mattermost account" in unknown.error
    assert "needs mattermost.token" in (await admin_by_email(mm(simulator), simulator.admin_email)).error

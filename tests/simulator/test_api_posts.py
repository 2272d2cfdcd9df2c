"""Posts: creating them, reading them page by page, around a post, and by `since` polling under load."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from simulator import RunningSimulator
from simulator.messaging import Messaging
from tests.simulator.conftest import client_for
from tests.simulator.test_api_channels import by_name, create, error_id, team_ids
from tests.simulator.test_openapi_contract import check, response_schema_ref

POST_LIST = response_schema_ref("/api/v4/channels/{channel_id}/posts", "get", 200)


def post(client: httpx.Client, channel_id: str, message: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/posts", json={"channel_id": channel_id, "message": message, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def fresh_channel(sim: RunningSimulator, client: httpx.Client, count: int = 0) -> tuple[str, list[dict[str, Any]]]:
    channel = create(client, team_ids(sim)[0])
    return channel["id"], [post(client, channel["id"], f"message {n}") for n in range(count)]


def test_a_post_is_written_by_the_session_user(simulator: RunningSimulator, user: httpx.Client) -> None:
    alerts = by_name(user, team_ids(simulator)[0], "ops-alerts")
    response = user.post("/posts", json={"channel_id": alerts["id"], "message": "disk at 91 %",
                                         "props": {"from_bot": "true"}})
    body = check(response, 201, response_schema_ref("/api/v4/posts", "post", 201))
    assert (body["user_id"], body["channel_id"], body["message"]) == (simulator.model.user.id, alerts["id"],
                                                                       "disk at 91 %")
    assert body["create_at"] == body["update_at"] > 0 and body["props"] == {"from_bot": "true"}
    fetched = check(user.get(f"/posts/{body['id']}"), 200, response_schema_ref("/api/v4/posts/{post_id}", "get", 200))
    assert fetched == body
    assert user.get(f"/channels/{alerts['id']}").json()["last_post_at"] == body["create_at"]


def test_posting_needs_membership_unless_admin(simulator: RunningSimulator, user: httpx.Client,
                                               admin: httpx.Client, anon: httpx.Client) -> None:
    first, _ = team_ids(simulator)
    leads = by_name(admin, first, "team-leads")
    assert error_id(user.post("/posts", json={"channel_id": leads["id"], "message": "hi"}), 403) == \
        "api.context.permissions.app_error"
    # Not a member of an open channel either: posting needs membership, reading does not.
    public = create(admin, first)
    assert error_id(user.post("/posts", json={"channel_id": public["id"], "message": "hi"}), 403) == \
        "api.context.permissions.app_error"
    users_own = create(user, first, kind="P")
    assert post(admin, users_own["id"], "admins post anywhere")["user_id"] == simulator.model.admin.id
    assert error_id(anon.post("/posts", json={"channel_id": public["id"], "message": "hi"}), 401) == \
        "api.context.session_expired.app_error"
    assert error_id(user.post("/posts", json={"channel_id": "y" * 26, "message": "hi"}), 403) == \
        "api.context.permissions.app_error"
    assert error_id(admin.post("/posts", json={"channel_id": "y" * 26, "message": "hi"}), 400) == \
        "api.context.invalid_param.app_error"


def test_reading_posts_follows_channel_access(simulator: RunningSimulator, user: httpx.Client,
                                              admin: httpx.Client) -> None:
    first, _ = team_ids(simulator)
    secret = post(admin, by_name(admin, first, "team-leads")["id"], "budget draft")
    assert error_id(user.get(f"/posts/{secret['id']}"), 403) == "api.context.permissions.app_error"
    assert error_id(user.get(f"/channels/{secret['channel_id']}/posts"), 403) == "api.context.permissions.app_error"
    open_one = post(admin, create(admin, first)["id"], "open to the team")
    assert user.get(f"/posts/{open_one['id']}").json()["message"] == "open to the team"
    assert error_id(user.get(f"/posts/{'w' * 26}"), 404) == "app.post.get.app_error"
    assert error_id(user.get("/posts/short"), 400) == "api.context.invalid_url_param.app_error"


def test_bad_post_bodies(simulator: RunningSimulator, user: httpx.Client) -> None:
    channel_id, _ = fresh_channel(simulator, user)
    assert error_id(user.post("/posts", content=b"[1,"), 400) == "api.context.invalid_body_param.app_error"
    assert error_id(user.post("/posts", json={"message": "no channel"}), 400) == \
        "api.context.invalid_body_param.app_error"
    too_long = user.post("/posts", json={"channel_id": channel_id, "message": "x" * 16384})
    assert error_id(too_long, 400) == "model.post.is_valid.msg.app_error"
    orphan = user.post("/posts", json={"channel_id": channel_id, "message": "re", "root_id": "v" * 26})
    assert error_id(orphan, 400) == "api.post.create_post.root_id.app_error"


def test_replies_count_on_their_thread(simulator: RunningSimulator, user: httpx.Client) -> None:
    channel_id, (root,) = fresh_channel(simulator, user, 1)
    first = post(user, channel_id, "first reply", root_id=root["id"])
    second = post(user, channel_id, "second reply", root_id=root["id"])
    assert first["root_id"] == root["id"]
    fetched = user.get(f"/posts/{root['id']}").json()
    assert (fetched["reply_count"], fetched["last_reply_at"]) == (2, second["create_at"])
    # A reply to a reply is refused: threads are one level deep.
    nested = user.post("/posts", json={"channel_id": channel_id, "message": "x", "root_id": first["id"]})
    assert error_id(nested, 400) == "api.post.create_post.root_id.app_error"


def test_pages_are_newest_first_with_cursors(simulator: RunningSimulator, user: httpx.Client) -> None:
    channel_id, posts = fresh_channel(simulator, user, 25)
    newest_first = [p["id"] for p in reversed(posts)]
    assert len({p["create_at"] for p in posts}) == 25  # strictly increasing, never two in one millisecond
    first = check(user.get(f"/channels/{channel_id}/posts", params={"per_page": 10}), 200, POST_LIST)
    assert first["order"] == newest_first[:10] and set(first["posts"]) == set(newest_first[:10])
    assert (first["next_post_id"], first["prev_post_id"], first["has_next"]) == ("", newest_first[10], True)
    last = user.get(f"/channels/{channel_id}/posts", params={"per_page": 10, "page": 2}).json()
    assert last["order"] == newest_first[20:]
    assert (last["next_post_id"], last["prev_post_id"], last["has_next"]) == (newest_first[19], "", False)
    beyond = user.get(f"/channels/{channel_id}/posts", params={"per_page": 10, "page": 3}).json()
    assert beyond["order"] == [] and beyond["posts"] == {}


def test_before_and_after_a_post(simulator: RunningSimulator, user: httpx.Client) -> None:
    channel_id, posts = fresh_channel(simulator, user, 12)
    ids = [p["id"] for p in posts]  # oldest first
    anchor = ids[5]
    before = check(user.get(f"/channels/{channel_id}/posts", params={"before": anchor, "per_page": 3}), 200,
                   POST_LIST)
    assert before["order"] == [ids[4], ids[3], ids[2]]
    assert (before["next_post_id"], before["prev_post_id"], before["has_next"]) == (anchor, ids[1], True)
    after = user.get(f"/channels/{channel_id}/posts", params={"after": anchor, "per_page": 3}).json()
    assert after["order"] == [ids[8], ids[7], ids[6]]  # the three closest to the anchor, newest first
    assert (after["next_post_id"], after["prev_post_id"], after["has_next"]) == (ids[9], anchor, True)
    tail = user.get(f"/channels/{channel_id}/posts", params={"after": anchor, "per_page": 3, "page": 1}).json()
    assert tail["order"] == [ids[11], ids[10], ids[9]] and tail["has_next"] is False
    nothing = user.get(f"/channels/{channel_id}/posts", params={"after": "u" * 26}).json()
    assert nothing["order"] == []
    assert error_id(user.get(f"/channels/{channel_id}/posts", params={"before": "nope"}), 400) == \
        "api.context.invalid_body_param.app_error"


def test_since_is_exclusive_and_leaves_cursors_empty(simulator: RunningSimulator, user: httpx.Client) -> None:
    channel_id, posts = fresh_channel(simulator, user, 5)
    third = posts[2]
    body = check(user.get(f"/channels/{channel_id}/posts", params={"since": third["update_at"]}), 200, POST_LIST)
    assert body["order"] == [posts[4]["id"], posts[3]["id"]]
    assert (body["next_post_id"], body["prev_post_id"], body["has_next"]) == ("", "", False)
    inclusive = user.get(f"/channels/{channel_id}/posts", params={"since": third["update_at"] - 1}).json()
    assert inclusive["order"][-1] == third["id"]
    # since wins over paging parameters; a since that does not parse is ignored.
    assert user.get(f"/channels/{channel_id}/posts",
                    params={"since": third["update_at"], "per_page": 1}).json()["order"] == body["order"]
    assert len(user.get(f"/channels/{channel_id}/posts", params={"since": "soon"}).json()["order"]) == 5


def test_since_brings_the_root_of_a_new_reply(simulator: RunningSimulator, user: httpx.Client) -> None:
    channel_id, (root, latest) = fresh_channel(simulator, user, 2)
    reply = post(user, channel_id, "late reply", root_id=root["id"])
    body = user.get(f"/channels/{channel_id}/posts", params={"since": latest["update_at"]}).json()
    assert body["order"] == [reply["id"], root["id"]]


def test_since_polling_sees_each_of_1000_concurrent_posts_exactly_once(simulator: RunningSimulator,
                                                                       user: httpx.Client) -> None:
    channel_id, _ = fresh_channel(simulator, user)
    total, writers = 1000, 16
    created: list[str] = []
    seen: list[str] = []
    done = threading.Event()

    def write(batch: range) -> list[str]:
        with client_for(simulator, simulator.user_token, timeout=30) as client:
            return [post(client, channel_id, f"load {n}")["id"] for n in batch]

    def poll() -> None:
        since = 1
        with client_for(simulator, simulator.user_token, timeout=30) as client:
            while True:
                finished = done.is_set()  # read before polling, so the last poll starts after the last write
                body = client.get(f"/channels/{channel_id}/posts", params={"since": since}).json()
                posts = body["posts"]
                seen.extend(posts)
                since = max([since, *(p["update_at"] for p in posts.values())])
                if finished:
                    return

    poller = threading.Thread(target=poll)
    poller.start()
    with ThreadPoolExecutor(writers) as pool:
        for ids in pool.map(write, [range(k, total, writers) for k in range(writers)]):
            created.extend(ids)
    done.set()
    poller.join(timeout=30)
    assert not poller.is_alive()
    assert len(created) == len(set(created)) == total
    assert len(seen) == len(set(seen)), "a post came back in two polls"
    assert set(seen) == set(created)


def test_post_times_never_repeat_even_within_one_millisecond() -> None:
    # The HTTP test above only catches a repeated time when the race happens; this one always writes faster
    # than the clock ticks.
    store = Messaging()
    channel = store.create_channel(team_id="t" * 26, name="load", display_name="Load", type="O", creator_id="")
    stamps = [store.create_post(channel_id=channel.id, user_id="u" * 26, message=str(n)).create_at
              for n in range(2000)]
    assert stamps == sorted(set(stamps))


def test_archived_channel_refuses_posts_but_keeps_its_history(simulator: RunningSimulator, user: httpx.Client,
                                                              admin: httpx.Client) -> None:
    channel_id, (kept,) = fresh_channel(simulator, user, 1)
    assert user.delete(f"/channels/{channel_id}").status_code == 200
    for client in (user, admin):
        refused = client.post("/posts", json={"channel_id": channel_id, "message": "too late"})
        assert error_id(refused, 403) == "api.post.create_post.can_not_post_to_deleted.error"
    assert user.get(f"/channels/{channel_id}/posts").json()["order"] == [kept["id"]]


def test_users_by_ids_and_username(simulator: RunningSimulator, user: httpx.Client, admin: httpx.Client) -> None:
    model = simulator.model
    wanted = [model.admin.id, model.user.id, "n" * 26]
    body = check(user.post("/users/ids", json=wanted), 200, response_schema_ref("/api/v4/users/ids", "post", 200))
    assert {u["id"] for u in body} == {model.admin.id, model.user.id}
    admin_seen_by_user = next(u for u in body if u["id"] == model.admin.id)
    assert "notify_props" not in admin_seen_by_user  # only the user themself or an admin gets the full object
    assert error_id(user.post("/users/ids", json=[]), 400) == "api.context.invalid_body_param.app_error"
    assert error_id(user.post("/users/ids", json={"ids": wanted}), 400) == "api.context.invalid_body_param.app_error"
    found = check(admin.get(f"/users/username/{model.user.username.upper()}"), 200,
                  response_schema_ref("/api/v4/users/username/{username}", "get", 200))
    assert found["id"] == model.user.id
    assert error_id(user.get(f"/users/username/nobody-{secrets.token_hex(3)}"), 404) == \
        "app.user.get_by_username.app_error"
    assert user.get("/users/me").json()["id"] == model.user.id

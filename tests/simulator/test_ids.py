from __future__ import annotations

import random

from simulator.ids import ID_ALPHABET, ID_LENGTH, md5_hex, new_id, random_id


def test_ids_look_like_mattermost_ids() -> None:
    for value in (new_id(random.Random(1)), random_id()):
        assert len(value) == ID_LENGTH
        assert set(value) <= set(ID_ALPHABET)


def test_seeded_ids_repeat_and_random_ids_do_not() -> None:
    assert new_id(random.Random("x")) == new_id(random.Random("x"))
    assert random_id() != random_id()


def test_md5_ignores_key_order() -> None:
    assert md5_hex({"a": 1, "b": 2}) == md5_hex({"b": 2, "a": 1})
    assert len(md5_hex({})) == 32

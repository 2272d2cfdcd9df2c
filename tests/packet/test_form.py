"""The support packet form: each mistake named in a sentence."""

from datetime import UTC, datetime

from packet.form import PacketForm


def test_a_complete_form_has_no_problems():
    form = PacketForm(issue="Uploads fail", users_affected=40, productivity_affected_percent=25,
                      started_at=datetime(2026, 11, 23, 9, tzinfo=UTC), ended_at=datetime(2026, 11, 23, 11, tzinfo=UTC))
    assert form.problems() == []
    assert form.as_dict()["started_at"] == "2026-11-23T09:00:00+00:00"


def test_each_mistake_is_named():
    form = PacketForm(issue=" ", users_affected=-1, productivity_affected_percent=120, component="Fax",
                      database_type="Other", started_at=datetime(2026, 11, 23, 11, tzinfo=UTC),
                      ended_at=datetime(2026, 11, 23, 9, tzinfo=UTC))
    problems = " ".join(form.problems())
    for fragment in ("Describe the issue", "zero or more", "between 0 and 100", "Component must be",
                     "Name the database", "cannot end before it started"):
        assert fragment in problems

"""Health charts: the figures carry the days and values they were given, oldest first."""

from datetime import date

from collectors.mattermost_models import DailyCount
from health import charts

DAYS = (DailyCount(date(2026, 11, 1), 120), DailyCount(date(2026, 11, 2), 80))


def test_posts_per_day_is_a_bar_chart_of_the_values():
    figure = charts.posts_per_day(DAYS)
    assert figure.layout.title.text == "Posts per day"
    assert figure.data[0].type == "bar"
    assert list(figure.data[0].y) == [120, 80]


def test_active_users_chart_starts_at_zero():
    figure = charts.active_users_per_day(DAYS)
    assert figure.data[0].type == "scatter"
    assert figure.layout.yaxis.rangemode == "tozero"

"""Range answers as long frames, and the step and window rules that keep range queries valid."""

import math

import numpy as np
import pytest

from collectors.prometheus_models import (
    FRAME_COLUMNS,
    MAX_POINTS_PER_SERIES,
    choose_step,
    choose_window,
    empty_frame,
    latest_by_instance,
    matrix_to_frame,
)

ANSWER = [
    {"metric": {"instance": "b:8067"}, "values": [[100, "1.5"], [160, "NaN"]]},
    {"metric": {"instance": "a:8067"}, "values": [[100, "+Inf"], [160, "2"]]},
]


def test_a_matrix_becomes_a_sorted_long_frame():
    frame = matrix_to_frame(ANSWER)
    assert tuple(frame.columns) == FRAME_COLUMNS
    assert frame["instance"].tolist() == ["a:8067", "a:8067", "b:8067", "b:8067"]
    assert math.isinf(frame["value"][0]) and math.isnan(frame["value"][3])
    assert str(frame["timestamp"].dt.tz) == "UTC"


def test_no_data_is_an_empty_frame_of_the_same_types():
    assert empty_frame().dtypes.to_dict() == matrix_to_frame(ANSWER).dtypes.to_dict()
    assert matrix_to_frame([]).empty and matrix_to_frame([{"metric": {}, "values": []}]).empty
    assert latest_by_instance(empty_frame()) == {}


def test_latest_is_the_last_finite_value_per_instance():
    assert latest_by_instance(matrix_to_frame(ANSWER)) == {"a:8067": 2.0, "b:8067": 1.5}


@pytest.mark.parametrize("range_s", [60, 3600, 86_400, 7 * 86_400, 90 * 86_400, 2 * 365 * 86_400])
@pytest.mark.parametrize("scrape_s", [1, 15, 60])
def test_steps_stay_under_the_point_limit_and_windows_hold_enough_scrapes(range_s, scrape_s):
    step = choose_step(range_s, scrape_s)
    assert range_s // step + 1 <= MAX_POINTS_PER_SERIES
    assert step >= scrape_s and step == int(step)
    window = choose_window(step, scrape_s)
    assert window >= 4 * scrape_s and window > step


def test_a_week_is_charted_in_about_five_hundred_points():
    assert 480 <= np.floor(7 * 86_400 / choose_step(7 * 86_400, 15)) <= 500

"""Typed facts read from Prometheus, and the conversions that build them from raw query answers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

FRAME_COLUMNS = ("timestamp", "instance", "value")
# Prometheus refuses range queries with more points than this per series (HTTP 400 "exceeded maximum resolution").
MAX_POINTS_PER_SERIES = 11_000
TARGET_POINTS = 500  # what a chart can show; also keeps a 7-day catalogue quick to fetch
DEFAULT_SCRAPE_INTERVAL_S = 60.0  # Prometheus' own default when nothing says otherwise


@dataclass(frozen=True)
class QueryResult:
    name: str  # catalogue name
    promql: str  # the expression as sent
    unit: str
    frame: pd.DataFrame  # long format: timestamp (UTC), instance, value; typed and empty when there is no data
    latest: dict[str, float]  # instance -> its most recent finite value

    @property
    def points(self) -> int:
        return len(self.frame)


@dataclass(frozen=True)
class PrometheusFacts:
    url: str
    start: datetime
    end: datetime
    step_s: float  # distance between points of every range query
    window_s: float  # range of rate() and histogram windows
    scrape_interval_s: float
    scrape_interval_source: str  # "targets" or "config" (of the Mattermost instances' jobs), or "default"
    available_metrics: tuple[str, ...]  # mattermost_*, go_* and process_* names present in the range
    instances: tuple[str, ...]  # `instance` labels that carry mattermost_* metrics
    results: dict[str, QueryResult] = field(default_factory=dict)
    skipped: dict[str, tuple[str, ...]] = field(default_factory=dict)  # query -> metric names it lacks
    missing: dict[str, str] = field(default_factory=dict)  # query -> why it failed

    @property
    def has_mattermost_metrics(self) -> bool:
        return any(name.startswith("mattermost_") for name in self.available_metrics)

    @property
    def points(self) -> int:
        return sum(r.points for r in self.results.values())


def choose_step(range_s: float, scrape_interval_s: float) -> int:
    """Whole seconds between points: about TARGET_POINTS per series, so far below Prometheus' per-series limit
    (MAX_POINTS_PER_SERIES) for any range, and never finer than the scrape interval (finer points repeat samples)."""
    return max(math.ceil(range_s / TARGET_POINTS), math.ceil(scrape_interval_s), 1)


def choose_window(step_s: float, scrape_interval_s: float) -> int:
    """Whole seconds of rate() windows: at least four scrapes (rate needs two samples, and scrapes get missed) and
    at least one step plus a scrape, so consecutive points overlap and no sample falls between them."""
    return math.ceil(max(4 * scrape_interval_s, step_s + scrape_interval_s))


def empty_frame() -> pd.DataFrame:
    return _frame(np.array([], dtype=float), np.array([], dtype=object), np.array([], dtype=float))


def _frame(stamps: np.ndarray, instances: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "timestamp": pd.to_datetime(stamps, unit="s", utc=True),
        "instance": pd.Series(instances, dtype="str"),
        "value": values.astype(float),
    })


def matrix_to_frame(result: list[dict[str, Any]]) -> pd.DataFrame:
    """A range-query answer (resultType matrix) as a long frame sorted by instance and time.

    Prometheus sends values as strings, including "NaN" and "+Inf", which float() reads."""
    stamps: list[np.ndarray] = []
    values: list[np.ndarray] = []
    instances: list[np.ndarray] = []
    for series in result:
        pairs = series.get("values") or []
        if not pairs:
            continue
        stamps.append(np.fromiter((p[0] for p in pairs), dtype=float, count=len(pairs)))
        values.append(np.fromiter((float(p[1]) for p in pairs), dtype=float, count=len(pairs)))
        instances.append(np.full(len(pairs), series.get("metric", {}).get("instance", ""), dtype=object))
    if not stamps:
        return empty_frame()
    frame = _frame(np.concatenate(stamps), np.concatenate(instances), np.concatenate(values))
    return frame.sort_values(["instance", "timestamp"], kind="stable", ignore_index=True)


def latest_by_instance(frame: pd.DataFrame) -> dict[str, float]:
    finite = frame[np.isfinite(frame["value"].to_numpy())]
    if finite.empty:
        return {}
    last = finite.groupby("instance", sort=True)["value"].last()
    return {str(k): float(v) for k, v in last.items()}

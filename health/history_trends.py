"""Key figures over time, from the stored snapshots: one column per figure, gaps kept as gaps (NaN, never 0).

Time a trend query with `time.perf_counter()` around `trend_frame(store, environment, days=30)`, as
bench/history.py does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import select

from health.history import OLDEST_FIRST, RAW, collected_in
from health.key_figures import KEY_FIGURES
from store import Store
from store.tables import health_snapshots
from store.utc import utc_now

TREND_DAYS = 30
TIER = "tier"


def trend_frame(store: Store, environment: str, days: int = TREND_DAYS, now: datetime | None = None) -> pd.DataFrame:
    """One row per stored snapshot of the last `days` (raw and daily tiers), oldest first, indexed by
    `collected_at` (UTC); one float column per key figure (NaN where it was not collected, never 0) and `tier`.

    Only the time, tier and figures are read: the findings and sources of 10,000 rows would cost more than the
    rest of the query.
    """
    end = now or utc_now()
    query = (select(health_snapshots.c.collected_at, health_snapshots.c.tier, health_snapshots.c.figures)
             .where(collected_in(environment, end - timedelta(days=days), end)).order_by(*OLDEST_FIRST))
    with store.reading() as conn:
        rows = conn.execute(query).all()
    names = [figure.name for figure in KEY_FIGURES]
    frame = pd.DataFrame.from_records([row.figures or {} for row in rows], columns=names).astype(float)
    frame.index = pd.DatetimeIndex(pd.to_datetime([row.collected_at for row in rows], utc=True),
                                   name="collected_at")
    frame[TIER] = [row.tier for row in rows]
    return frame


def with_gap_breaks(series: pd.Series, tiers: pd.Series) -> pd.Series:
    """The series with a NaN inserted wherever collection paused, so a chart shows a gap instead of drawing a
    straight line across it: more than 3 usual intervals between raw snapshots, more than 2 days between daily."""
    if len(series) < 2:
        return series
    gaps = series.index.to_series().diff()
    raw_gaps = gaps[(tiers == RAW).to_numpy()].dropna()
    raw_limit = 3 * raw_gaps.median() if not raw_gaps.empty else pd.Timedelta(days=2)
    # Between a daily row and the next one (raw or daily) a day is normal: retention thinned what was between.
    both_raw = (tiers == RAW).to_numpy() & (tiers.shift(fill_value=RAW) == RAW).to_numpy()
    limit = pd.Series([raw_limit if raw else pd.Timedelta(days=2) for raw in both_raw], index=series.index)
    paused = gaps > limit
    if not paused.any():
        return series
    breaks = pd.Series(float("nan"), index=series.index[paused.to_numpy()] - gaps[paused] / 2)
    return pd.concat([series, breaks]).sort_index()


# -- findings timeline ------------------------------------------------------------------------------------------

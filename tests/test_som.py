"""Tests of SOMPseudoLabeler: the SOM that makes pseudo-labels."""

import ast
import inspect
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_hiss import _som
from sklearn_hiss._som import SOMPseudoLabeler

FAST = {"n_iterations": 300, "random_state": 0}


@pytest.fixture(scope="module")
def blobs():
    """Six well-separated blobs in four dimensions."""
    return make_blobs(
        n_samples=240,
        centers=6,
        n_features=4,
        cluster_std=0.4,
        center_box=(-15, 15),
        random_state=0,
    )


@pytest.fixture(scope="module")
def fitted(blobs):
    return SOMPseudoLabeler(n_clusters=6, **FAST).fit(blobs[0])


# scikit-learn's checks set n_clusters=1 on clusterers in several checks; the
# estimator accepts it with a warning that one label teaches nothing.
@pytest.mark.filterwarnings("ignore:A 1x1 grid:UserWarning")
@parametrize_with_checks([SOMPseudoLabeler(random_state=0, n_iterations=200)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_module_does_not_import_torch():
    tree = ast.parse(inspect.getsource(_som))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "minisom" in imported
    assert not imported & {"torch", "skorch"}


@pytest.mark.parametrize(
    "n_clusters, grid",
    [(4, (2, 2)), (6, (2, 3)), (8, (2, 4)), (9, (3, 3)), (10, (2, 5)), (7, (1, 7))],
)
def test_fixed_n_clusters_uses_near_square_grid(blobs, n_clusters, grid):
    X = blobs[0]
    som = SOMPseudoLabeler(n_clusters=n_clusters, n_iterations=100, random_state=0)
    som.fit(X)

    assert som.grid_shape_ == grid
    assert som.n_clusters_ == n_clusters
    assert som.codebook_.shape == (*grid, X.shape[1])
    assert list(som.silhouette_scores_) == [n_clusters]
    assert som.labels_.min() >= 0 and som.labels_.max() < n_clusters


def test_grid_shape_overrides_n_clusters(blobs):
    X = blobs[0]
    som = SOMPseudoLabeler(n_clusters=4, grid_shape=(3, 2), **FAST).fit(X)

    assert som.grid_shape_ == (3, 2)
    assert som.n_clusters_ == 6
    assert som.som_.get_weights().shape == (3, 2, X.shape[1])
    assert list(som.silhouette_scores_) == [6]


def test_same_random_state_gives_identical_fit(blobs):
    X = blobs[0]
    first = SOMPseudoLabeler(**FAST).fit(X)
    second = SOMPseudoLabeler(**FAST).fit(X)
    other = SOMPseudoLabeler(n_iterations=300, random_state=1).fit(X)

    assert_array_equal(first.codebook_, second.codebook_)
    assert_array_equal(first.labels_, second.labels_)
    assert first.silhouette_scores_ == second.silhouette_scores_
    assert not np.array_equal(first.codebook_, other.codebook_)


def test_auto_keeps_grid_with_best_silhouette(blobs):
    X, y = blobs
    som = SOMPseudoLabeler(**FAST).fit(X)
    scores = som.silhouette_scores_

    assert list(scores) == [4, 6, 8, 10]
    assert scores[som.n_clusters_] == max(scores.values())
    # Four cells cannot separate six blobs; the chosen map does.
    assert scores[som.n_clusters_] > scores[4]
    assert adjusted_rand_score(y, som.labels_) == pytest.approx(1.0)


def test_auto_prefers_smaller_grid_on_tied_scores():
    # Four tight groups: a 6-cell map leaves cells empty and ties the 4-cell one.
    corners = np.array([[0, 0], [0, 10], [10, 0], [10, 10]], dtype=float)
    noise = np.random.RandomState(0).normal(0, 0.01, (40, 2))
    X = np.repeat(corners, 10, axis=0) + noise
    som = SOMPseudoLabeler(candidate_clusters=(6, 4, 6), **FAST).fit(X)

    assert list(som.silhouette_scores_) == [4, 6]
    assert som.silhouette_scores_[4] == pytest.approx(som.silhouette_scores_[6])
    assert som.n_clusters_ == 4


def test_silhouette_score_is_on_all_rows_when_sample_is_large(fitted, blobs):
    X = blobs[0]
    expected = silhouette_score(X, fitted.labels_)

    assert fitted.silhouette_scores_[6] == pytest.approx(expected)


def test_silhouette_is_computed_on_a_sample_without_changing_the_map(blobs):
    X = blobs[0]
    full = SOMPseudoLabeler(n_clusters=4, silhouette_sample_size=None, **FAST)
    sampled = SOMPseudoLabeler(n_clusters=4, silhouette_sample_size=30, **FAST)
    full_score = full.fit(X).silhouette_scores_[4]
    sampled_score = sampled.fit(X).silhouette_scores_[4]

    assert_array_equal(full.codebook_, sampled.codebook_)
    assert -1.0 <= sampled_score <= 1.0
    assert sampled_score != full_score


def test_candidates_with_more_cells_than_rows_are_skipped(blobs):
    X = blobs[0][:7]
    som = SOMPseudoLabeler(**FAST).fit(X)

    assert list(som.silhouette_scores_) == [4, 6]


def test_smallest_candidate_used_with_warning_when_none_fits(blobs):
    X = blobs[0][:3]
    with pytest.warns(UserWarning, match="more cells than the 3 training rows"):
        som = SOMPseudoLabeler(**FAST).fit(X)

    assert som.n_clusters_ == 4
    assert list(som.silhouette_scores_) == [4]


def test_constant_input_warns_that_no_grid_can_be_scored():
    X = np.full((20, 3), 2.5)
    with pytest.warns(UserWarning, match="undefined for every candidate grid"):
        som = SOMPseudoLabeler(**FAST).fit(X)

    assert som.n_clusters_ == 4
    assert np.isnan(list(som.silhouette_scores_.values())).all()
    assert np.unique(som.labels_).size == 1


def test_training_visits_rows_beyond_the_first_n_iterations():
    # Rows sorted by group: fewer updates than rows must still see both groups.
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(0, 0.3, (200, 2)), rng.normal(20, 0.3, (200, 2))])
    y = np.repeat([0, 1], 200)
    som = SOMPseudoLabeler(n_clusters=2, n_iterations=50, random_state=0).fit(X)

    assert adjusted_rand_score(y, som.labels_) == pytest.approx(1.0)


# A large offset checks that the vectorised distances stay exact far from zero.
@pytest.mark.parametrize("offset", [0.0, 1e9])
def test_vectorised_winner_matches_minisom(blobs, offset):
    X = blobs[0][:12] + offset
    som = SOMPseudoLabeler(n_clusters=6, **FAST).fit(blobs[0] + offset)
    cols = som.grid_shape_[1]
    expected = [row * cols + col for row, col in map(som.som_.winner, X)]

    assert_array_equal(som.predict(X), expected)


def test_labels_predict_and_fit_predict_agree(fitted, blobs):
    X = blobs[0]
    labels = SOMPseudoLabeler(n_clusters=6, **FAST).fit_predict(X)

    assert fitted.labels_.dtype == np.int64
    assert_array_equal(fitted.predict(X), fitted.labels_)
    assert_array_equal(labels, fitted.labels_)


def test_errors_are_minisom_errors_on_nearest_cells(fitted, blobs):
    X = blobs[0]
    cells = fitted.codebook_.reshape(fitted.n_clusters_, -1)
    distances = np.linalg.norm(X[:, None, :] - cells[None], axis=2)

    assert_array_equal(distances.argmin(axis=1), fitted.labels_)
    assert fitted.quantization_error_ == pytest.approx(distances.min(axis=1).mean())
    assert 0.0 <= fitted.topographic_error_ <= 1.0


# Blocks of 7 rows: many blocks and a short last one (240 = 34 * 7 + 2).
@pytest.mark.parametrize("block_rows", [7, 10_000])
def test_errors_in_blocks_equal_minisoms_own(blobs, monkeypatch, block_rows):
    monkeypatch.setattr(_som, "_BLOCK_ROWS", block_rows)
    X = blobs[0]
    # A 1 x 8 line cannot keep the blobs' neighbours adjacent: errors > 0.
    som = SOMPseudoLabeler(grid_shape=(1, 8), **FAST).fit(X)

    assert som.quantization_error_ == pytest.approx(som.som_.quantization_error(X))
    assert som.topographic_error_ == pytest.approx(som.som_.topographic_error(X))
    assert 0.0 < som.topographic_error_ < 1.0


def test_float32_input_gives_the_map_of_its_float64_copy(blobs):
    X32 = blobs[0].astype(np.float32)
    single = SOMPseudoLabeler(**FAST).fit(X32)
    double = SOMPseudoLabeler(**FAST).fit(X32.astype(np.float64))

    assert_array_equal(single.codebook_, double.codebook_)
    assert_array_equal(single.labels_, double.labels_)
    assert single.silhouette_scores_ == double.silhouette_scores_
    assert single.quantization_error_ == pytest.approx(double.quantization_error_)
    assert single.topographic_error_ == double.topographic_error_
    assert_array_equal(single.predict(X32), double.labels_)


def test_fit_on_float32_allocates_less_than_its_input():
    # Float64 copies, abs() and MiniSom's errors on all rows once took ~7x X.
    X = np.random.RandomState(0).normal(size=(400_000, 10)).astype(np.float32)
    som = SOMPseudoLabeler(
        n_clusters=4, n_iterations=100, silhouette_sample_size=100, random_state=0
    )
    tracemalloc.start()
    try:
        som.fit(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < X.nbytes
    assert som.labels_.shape == (X.shape[0],)


def test_transform_appends_pseudo_label_column(fitted, blobs):
    X = blobs[0]
    out = fitted.transform(X)

    assert out.shape == (X.shape[0], X.shape[1] + 1)
    assert_array_equal(out[:, :-1], X)
    assert_array_equal(out[:, -1], fitted.predict(X))
    names = ["x0", "x1", "x2", "x3", "pseudo_label"]
    assert fitted.get_feature_names_out().tolist() == names


def test_pandas_output_has_integer_pseudo_label(blobs):
    columns = ["age", "seats", "flights", "distance"]
    index = [f"plane{i}" for i in range(blobs[0].shape[0])]
    frame = pd.DataFrame(blobs[0], columns=columns, index=index)
    som = SOMPseudoLabeler(n_clusters=6, **FAST).set_output(transform="pandas")
    out = som.fit_transform(frame)

    assert list(out.columns) == [*columns, "pseudo_label"]
    assert pd.api.types.is_integer_dtype(out["pseudo_label"])
    assert_array_equal(out["pseudo_label"], som.labels_)
    assert list(out.index) == index
    assert_allclose(out[columns].to_numpy(), blobs[0])


def test_dataframe_input_keeps_feature_names(blobs):
    frame = pd.DataFrame(blobs[0], columns=["a", "b", "c", "d"])
    som = SOMPseudoLabeler(n_clusters=4, **FAST).fit(frame)

    assert som.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    assert som.get_feature_names_out().tolist() == ["a", "b", "c", "d", "pseudo_label"]
    with pytest.raises(ValueError, match="Feature names"):
        som.predict(frame.rename(columns={"a": "z"}))


def test_single_cell_warns_and_labels_everything_zero(blobs):
    X = blobs[0]
    with pytest.warns(UserWarning, match="1x1 grid gives every row the same"):
        som = SOMPseudoLabeler(n_clusters=1, **FAST).fit(X)

    assert_array_equal(som.labels_, np.zeros(X.shape[0]))
    assert np.isnan(som.topographic_error_)


def test_sigma_larger_than_grid_warns(blobs):
    with pytest.warns(UserWarning, match="exceeds the diagonal of the 2x2 grid"):
        SOMPseudoLabeler(n_clusters=4, sigma=5.0, **FAST).fit(blobs[0])


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_input_is_rejected(blobs, value):
    X = blobs[0].copy()
    X[3, 1] = value
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        SOMPseudoLabeler(**FAST).fit(X)


@pytest.mark.parametrize("grid_shape", [(0, 3), (2,), (2, 3, 1), (2.5, 2), [-1, 4]])
def test_bad_grid_shape_is_rejected(blobs, grid_shape):
    som = SOMPseudoLabeler(grid_shape=grid_shape, **FAST)
    with pytest.raises(ValueError, match=r"grid_shape must be a pair of positive"):
        som.fit(blobs[0])


@pytest.mark.parametrize("candidates", [(), [1, 4], (4.5, 6), [[4, 6]]])
def test_bad_candidate_clusters_are_rejected(blobs, candidates):
    som = SOMPseudoLabeler(candidate_clusters=candidates, **FAST)
    with pytest.raises(ValueError, match="candidate_clusters must be a non-empty"):
        som.fit(blobs[0])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_clusters": 0}, "'n_clusters' parameter .* Got 0 instead"),
        ({"n_clusters": "many"}, "'n_clusters' parameter .* Got 'many' instead"),
        ({"sigma": 0.0}, "'sigma' parameter"),
        ({"n_iterations": 0}, "'n_iterations' parameter"),
        ({"neighborhood_function": "cone"}, "'neighborhood_function' parameter"),
    ],
)
def test_bad_parameters_are_rejected(blobs, params, match):
    with pytest.raises(ValueError, match=match):
        SOMPseudoLabeler(**params).fit(blobs[0])


def test_single_row_is_rejected():
    with pytest.raises(ValueError, match="1 sample"):
        SOMPseudoLabeler(**FAST).fit(np.ones((1, 3)))


def test_wrong_feature_count_in_transform_is_rejected(fitted):
    with pytest.raises(ValueError, match="X has 3 features, but SOMPseudoLabeler"):
        fitted.transform(np.ones((2, 3)))

"""The three-step HiSS pipeline inside scikit-learn's model selection tools.

FactorReducer -> SOMPseudoLabeler -> HiSSClassifier must behave as one estimator:
every step fitted on the training fold only, parameters reachable by grid search,
pandas output end to end, and a pickle that predicts the same.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import Pipeline

from sklearn_hiss import FactorReducer, HiSSClassifier, SOMPseudoLabeler
from sklearn_hiss.datasets import make_hierarchical_classification
from sklearn_hiss.metrics import per_task_scorers

# One network trained a fixed 5 epochs: these tests are about the pipeline
# inside model selection, not about the classifier's validation.
SMALL_NET = dict(
    shared_units=(16,),
    local_units=(8,),
    task_units=(8,),
    max_epochs=5,
    early_stopping=False,
    n_networks=1,
)


@pytest.fixture(scope="module")
def bunch():
    return make_hierarchical_classification(
        n_samples=240,
        n_features=12,
        tasks=(3, 2),
        n_feature_groups=2,
        as_frame=True,
        return_X_y=False,
        random_state=0,
    )


def make_pipeline(bunch, keep_inputs=False, **hiss_params):
    """FactorReducer -> SOM -> HiSSClassifier, small and fast."""
    return Pipeline(
        [
            (
                "factors",
                FactorReducer(groups=bunch.feature_groups, keep_inputs=keep_inputs),
            ),
            (
                "clusters",
                SOMPseudoLabeler(n_clusters=4, n_iterations=300, random_state=0),
            ),
            (
                "hiss",
                HiSSClassifier(
                    tasks=bunch.task_groups,
                    pseudo_labels="passthrough",
                    random_state=0,
                    **(hiss_params or SMALL_NET),
                ),
            ),
        ]
    )


@pytest.fixture(scope="module")
def cv_result(bunch):
    return cross_validate(
        make_pipeline(bunch),
        bunch.data,
        bunch.target,
        cv=KFold(n_splits=3, shuffle=True, random_state=0),
        scoring=per_task_scorers(),
        return_estimator=True,
        return_indices=True,
        error_score="raise",
    )


@pytest.fixture(scope="module")
def fitted(bunch):
    return make_pipeline(bunch).fit(bunch.data, bunch.target)


def test_cross_validate_scores_every_metric(cv_result):
    for metric in ("accuracy", "f1", "roc_auc"):
        scores = cv_result[f"test_{metric}"]
        assert scores.shape == (3,)
        assert np.all((scores >= 0) & (scores <= 1)), metric


def test_factor_analysis_sees_the_training_fold_only(bunch, cv_result):
    X = bunch.data
    folds = zip(cv_result["estimator"], cv_result["indices"]["train"])
    for pipe, train in folds:
        means = pipe["factors"].mean_
        np.testing.assert_allclose(means, X.iloc[train].mean(axis=0), rtol=1e-12)
        assert not np.allclose(means, X.mean(axis=0), rtol=0, atol=1e-6)


def test_som_sees_the_training_fold_only(bunch, cv_result):
    folds = zip(cv_result["estimator"], cv_result["indices"]["train"])
    for pipe, train in folds:
        som = pipe["clusters"]
        scores = pipe["factors"].transform(bunch.data.iloc[train])
        assert som.labels_.shape == (len(train),)
        # labels_ are the training rows' best-matching cells, row by row.
        np.testing.assert_array_equal(som.labels_, som.predict(scores))


def test_network_standardises_with_training_fold_scores(bunch, cv_result):
    # Factor scores are standardised on the training rows, so the network's
    # input mean is 0 only if it saw those same rows.
    for pipe in cv_result["estimator"]:
        hiss = pipe["hiss"]
        assert hiss.n_features_in_ == sum(pipe["factors"].n_factors_.values()) + 1
        np.testing.assert_allclose(hiss.input_mean_, 0.0, atol=1e-6)


def test_grid_search_over_alpha_and_shared_units(bunch):
    grid = {"hiss__alpha": [0.0, 1.0], "hiss__shared_units": [(8,), (16,)]}
    search = GridSearchCV(
        make_pipeline(bunch),
        grid,
        scoring=per_task_scorers(),
        refit="roc_auc",
        cv=KFold(n_splits=2, shuffle=True, random_state=0),
        error_score="raise",
    ).fit(bunch.data, bunch.target)

    results = search.cv_results_
    auroc = results["mean_test_roc_auc"]
    assert len(results["params"]) == 4
    assert {"mean_test_accuracy", "mean_test_f1"} <= set(results)
    assert search.best_index_ == int(np.argmax(auroc))
    assert search.best_score_ == pytest.approx(auroc[search.best_index_])
    best = search.best_estimator_
    assert best["hiss"].alpha == search.best_params_["hiss__alpha"]
    assert best["hiss"].shared_units == search.best_params_["hiss__shared_units"]
    # The refit runs on all rows.
    np.testing.assert_allclose(best["factors"].mean_, bunch.data.mean(axis=0))
    assert best.predict(bunch.data.head(4)).shape == (4, 5)


def test_pandas_output_end_to_end(bunch, fitted):
    pipe = make_pipeline(bunch).set_output(transform="pandas")
    pipe.fit(bunch.data, bunch.target)

    features = pipe[:-1].transform(bunch.data)
    assert isinstance(features, pd.DataFrame)
    assert list(features.columns[:-1]) == list(pipe["factors"].get_feature_names_out())
    assert features.columns[-1] == "pseudo_label"
    assert pd.api.types.is_integer_dtype(features["pseudo_label"])
    np.testing.assert_array_equal(
        pipe["hiss"].feature_names_in_, features.columns.to_numpy()
    )
    # Same seeds, same numbers: the output container changes nothing else.
    np.testing.assert_array_equal(pipe.predict(bunch.data), fitted.predict(bunch.data))
    for ours, plain in zip(
        pipe.predict_proba(bunch.data), fitted.predict_proba(bunch.data)
    ):
        np.testing.assert_allclose(ours, plain, atol=1e-6)


def test_pandas_output_pipeline_inside_cross_validate(bunch):
    pipe = make_pipeline(bunch).set_output(transform="pandas")
    result = cross_validate(
        pipe, bunch.data, bunch.target, cv=2, scoring=per_task_scorers()
    )
    assert np.all(np.isfinite(result["test_roc_auc"]))


def test_pickled_pipeline_predicts_the_same(bunch, fitted):
    restored = pickle.loads(pickle.dumps(fitted))
    X = bunch.data.sample(30, random_state=1)
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))
    for after, before in zip(restored.predict_proba(X), fitted.predict_proba(X)):
        np.testing.assert_array_equal(after, before)
    np.testing.assert_array_equal(
        restored["clusters"].predict(restored["factors"].transform(X)),
        fitted["clusters"].predict(fitted["factors"].transform(X)),
    )


# ------------------------------------------------ the recommended pipeline


def recommended_pipeline(bunch):
    """FactorReducer keeping its inputs -> SOM -> HiSSClassifier's defaults.

    Only the widths and the length of training are cut down, so that the
    five cross-fitted networks train in about a second.
    """
    return make_pipeline(
        bunch,
        keep_inputs=True,
        shared_units=(16,),
        local_units=(8,),
        max_epochs=20,
        patience=3,
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_recommended_pipeline_fits_and_predicts(bunch):
    pipe = recommended_pipeline(bunch).set_output(transform="pandas")
    pipe.fit(bunch.data, bunch.target)
    hiss, factors = pipe["hiss"], pipe["factors"]

    n_factors = sum(factors.n_factors_.values())
    kept = [f"{g}__{c}" for g, columns in bunch.feature_groups.items() for c in columns]
    names = list(hiss.feature_names_in_)
    assert names == [
        *factors.get_feature_names_out()[:n_factors],
        *kept,
        "pseudo_label",
    ]
    assert hiss.n_features_in_ == n_factors + bunch.data.shape[1] + 1
    assert len(hiss.networks_) == 5
    assert np.isfinite(hiss.thresholds_).all()

    X = bunch.data.head(7)
    assert pipe.predict(X).shape == (7, 5)
    probas = pipe.predict_proba(X)
    assert len(probas) == 5
    for proba in probas:
        assert proba.shape == (7, 2)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # predict applies the thresholds tuned out of fold to these probabilities.
    expected = np.column_stack(
        [p[:, 1] > t for p, t in zip(probas, hiss.thresholds_)]
    ).astype(int)
    np.testing.assert_array_equal(pipe.predict(X), expected)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_recommended_pipeline_inside_cross_validate(bunch):
    result = cross_validate(
        recommended_pipeline(bunch),
        bunch.data,
        bunch.target,
        cv=KFold(n_splits=2, shuffle=True, random_state=0),
        scoring=per_task_scorers(),
        return_estimator=True,
        return_indices=True,
        error_score="raise",
    )
    for metric in ("accuracy", "f1", "roc_auc"):
        assert np.all(np.isfinite(result[f"test_{metric}"])), metric
    folds = zip(result["estimator"], result["indices"]["train"])
    for pipe, train in folds:
        # Kept inputs are standardised with the training fold's statistics, so
        # the network's input mean is 0 on them as on the factor scores.
        np.testing.assert_allclose(
            pipe["factors"].mean_, bunch.data.iloc[train].mean(axis=0), rtol=1e-12
        )
        np.testing.assert_allclose(pipe["hiss"].input_mean_, 0.0, atol=1e-6)

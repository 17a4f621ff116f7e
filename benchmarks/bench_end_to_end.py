"""End to end: the default HiSS pipeline against 17 random forests, in 5-fold CV.

The flight-disruption data and the models of ``python -m sklearn_hiss demo``
(taken from ``sklearn_hiss._demo``, so the settings follow the demo): HiSS is
the recommended pipeline, FactorReducer(keep_inputs=True) -> SOMPseudoLabeler
-> HiSSClassifier with its defaults (five cross-fitted networks, early
stopping, F1-tuned thresholds), one model for all sub-tasks; RandomForest is
one 100-tree forest per sub-task (17). Both go through the same
``cross_validate`` (shuffled 5-fold ``KFold``, seed 0, the per-sub-task
scorers); so do the same HiSS pipeline with ``n_networks=1`` and an
MLPClassifier with HiSS's widths stacked (256, 128: the default task heads are
linear), its batch size, learning rate, epochs and early stopping, on
standardised raw features.

Target: HiSS's cross-validation in less wall time than RandomForest's. One run
of each (a full run takes minutes); a small fit of each model first as warm-up.
Then HiSS's own parts are timed on one training fold, beside its network's
arithmetic floor, to show where its time goes.

    python benchmarks/bench_end_to_end.py          # writes results/bench_end_to_end.md
    python benchmarks/bench_end_to_end.py --quick  # smoke run, no file
"""

import warnings

import _common
import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, cross_validate
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_hiss import _demo
from sklearn_hiss.datasets import load_flight_disruptions
from sklearn_hiss.metrics import per_task_scorers

TARGET = 1.0


def mlp_like(hiss):
    """An MLPClassifier with HiSS's widths stacked and its training settings."""
    params = hiss.get_params()
    epochs = params["max_epochs"]
    return make_pipeline(
        StandardScaler(),
        MLPClassifier(
            hidden_layer_sizes=(
                *params["shared_units"],
                *params["local_units"],
                *params["task_units"],
            ),
            batch_size=params["batch_size"],
            learning_rate_init=params["learning_rate"],
            max_iter=epochs,
            early_stopping=params["early_stopping"],
            validation_fraction=params["validation_fraction"],
            n_iter_no_change=params["patience"] if params["early_stopping"] else epochs,
            random_state=0,
        ),
    )


HISS = "HiSS pipeline (1 model, 5 networks)"
HISS_ONE = "HiSS pipeline, n_networks=1"
FOREST = "RandomForest (17 forests)"
MLP = "MLPClassifier (1 model)"


def models(bunch, quick):
    """The compared models: HiSS, the forests, HiSS with one network, the MLP."""
    settings = dict(_demo._QUICK if quick else _demo._FULL)
    demo = _demo._models(bunch, 0, settings)
    # The recommended pipeline: the network sees the standardised inputs
    # beside the factor scores.
    hiss = demo["HiSS"][0].set_params(factors__keep_inputs=True)
    if quick:
        hiss.set_params(hiss__max_epochs=2, clusters__n_iterations=200)
    return {
        HISS: hiss,
        FOREST: demo["RandomForest"][0],
        HISS_ONE: clone(hiss).set_params(hiss__n_networks=1),
        MLP: mlp_like(hiss[-1]),
    }


def one_fold(model, X, Y, train, test):
    """A callable cross-validating ``model`` on one (train, test) split."""

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return cross_validate(
                model,
                X,
                Y,
                cv=[(train, test)],
                scoring=per_task_scorers(),
                error_score="raise",
                return_estimator=True,
            )

    return run


def warm_up(candidates, X, Y):
    """One tiny fit of each model: imports and first calls happen here."""
    rows = np.arange(min(300, len(X)))
    for model in candidates.values():
        small = clone(model)
        if "hiss" in small.get_params():
            small.set_params(hiss__max_epochs=1)
        one_fold(small, X, Y, rows[: len(rows) // 2], rows[len(rows) // 2 :])()


def fold_by_fold(candidates, X, Y, folds):
    """Every model's fold k runs before any model's fold k + 1.

    On a shared machine the load drifts over minutes; alternating folds exposes
    every model to the same drift. Returns name -> Timings (one entry per fold)
    and the HiSS pipeline fitted on the first fold.
    """
    timings = {name: _common.Timings() for name in candidates}
    first_fit = None
    for train, test in folds.split(X):
        for name, model in candidates.items():
            wall, cpu, result = _common.timed(one_fold(model, X, Y, train, test))
            timings[name].wall.append(wall)
            timings[name].cpu.append(cpu)
            if name == HISS and first_fit is None:
                first_fit = (result["estimator"][0], train)
    return timings, first_fit


def hiss_parts(pipe, X, train):
    """CPU seconds of HiSS's factor and SOM steps on one training fold."""
    pipe, data, seconds = clone(pipe), X.iloc[train], {}
    for name, step in pipe.steps[:-1]:
        _, seconds[name], data = _common.timed(
            lambda s=step, d=data: s.fit_transform(d)
        )
    return seconds


def main(argv=None):
    args = _common.parse_args(__doc__.splitlines()[0], argv=argv)
    with _common.single_thread():
        header = _common.stamp(argv)
        bunch = load_flight_disruptions()
        n_rows = _demo._QUICK["n_rows"] if args.quick else None
        X, Y = _demo._rows(bunch, n_rows, 0)
        n_folds = 2 if args.quick else 5
        folds = KFold(n_splits=n_folds, shuffle=True, random_state=0)
        candidates = models(bunch, args.quick)
        if not args.quick:
            warm_up(candidates, X, Y)
        timings, (fitted, train) = fold_by_fold(candidates, X, Y, folds)
        parts = hiss_parts(candidates[HISS], X, train)
        gflops = _common.matmul_gflops()[1]
    total = {name: (sum(t.wall), sum(t.cpu)) for name, t in timings.items()}
    ratio = total[HISS][0] / total[FOREST][0]
    cpu_ratio = total[HISS][1] / total[FOREST][1]
    clf = fitted[-1]
    epochs = [len(net.history) for net in clf.networks_]
    floor = (
        _common.forward_backward_flops(clf.net_.module_)
        * _trained_rows(clf)
        / (gflops * 1e9)
    )
    fold_fit = timings[HISS].cpu[0]
    rows = [
        [name, wall, cpu, wall / total[HISS][0], cpu / total[HISS][1]]
        for name, (wall, cpu) in total.items()
    ]
    body = [
        f"Flight disruptions, {len(X):,} rows x {X.shape[1]} raw features, "
        f"{Y.shape[1]} sub-tasks; {n_folds}-fold shuffled KFold (seed 0), "
        "per-sub-task scorers, folds of all models alternating; HiSSClassifier at "
        f"the demo's settings ({_params(candidates[HISS])}). Times include "
        "fitting and scoring.",
        "",
        *_common.table(
            ["model", "CV wall s", "CV CPU s", "wall / HiSS's", "CPU / HiSS's"], rows
        ),
        "",
        "- " + _common.verdict(ratio, TARGET, "HiSS / RandomForest wall time"),
        f"- in CPU time: HiSS / RandomForest = {cpu_ratio:.2f}x; "
        f"HiSS / MLPClassifier = {total[HISS][0] / total[MLP][0]:.2f}x (wall), "
        f"{total[HISS][1] / total[MLP][1]:.2f}x (CPU).",
        f"- with one network: HiSS / RandomForest = "
        f"{total[HISS_ONE][0] / total[FOREST][0]:.2f}x (wall), "
        f"{total[HISS_ONE][1] / total[FOREST][1]:.2f}x (CPU); five networks / "
        f"one = {total[HISS][0] / total[HISS_ONE][0]:.2f}x (wall).",
        "",
        f"Where HiSS's time goes on the first fold ({len(train):,} training rows), "
        "in CPU seconds (steadier than wall time on a shared machine):",
        "",
        *_common.table(
            ["part", "CPU s"],
            [
                ["whole fold (fit and score)", fold_fit],
                ["FactorReducer fit", parts["factors"]],
                ["SOMPseudoLabeler fit", parts["clusters"]],
                [
                    f"network arithmetic floor ({len(epochs)} networks, "
                    f"{'/'.join(map(str, epochs))} epochs on their training rows, "
                    f"FLOPs / {gflops:.0f} GFLOP/s of a 1536 x 1536 matmul)",
                    floor,
                ],
                ["one fold of RandomForest", timings[FOREST].cpu[0]],
            ],
        ),
    ]
    _common.write_report("bench_end_to_end", "End to end", header, body, args)
    return ratio


def _trained_rows(clf):
    """Rows passed forward and backward in training, over all networks and epochs."""
    return sum(
        batch["train_batch_size"]
        for net in clf.networks_
        for epoch in net.history
        for batch in epoch["batches"]
        if "train_batch_size" in batch
    )


def _params(pipe):
    shown = (
        "shared_units",
        "local_units",
        "task_units",
        "alpha",
        "class_weight",
        "decision_threshold",
        "max_epochs",
        "early_stopping",
        "n_networks",
    )
    params = pipe[-1].get_params()
    keep = pipe.get_params()["factors__keep_inputs"]
    return f"FactorReducer(keep_inputs={keep!r}); " + ", ".join(
        f"{k}={params[k]!r}" for k in shown
    )


if __name__ == "__main__":
    main()

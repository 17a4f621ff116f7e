"""
============================================
Choosing alpha and the widths by grid search
============================================

``alpha`` (the weight of the auxiliary task) and the widths of the three levels
are the settings most worth tuning. The whole pipeline goes into
:class:`~sklearn.model_selection.GridSearchCV`, with the scorers of
:func:`~sklearn_hiss.metrics.per_task_scorers`, so that every candidate is
judged by the same means over sub-tasks the paper reports.

Putting the whole pipeline in the search matters: the factor model and the
self-organising map are then refitted on the training folds of every split, so
the validation rows never shape the pseudo-labels.
"""

# %%
# Data and pipeline
# -----------------
# Small sizes keep the example quick: 800 rows, narrow layers, and one network
# per candidate (``n_networks=1``). The default five cross-fitted networks
# would make each of the search's 19 fits up to five times slower; the chosen
# settings get them back at the end.
import pandas as pd
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from sklearn_hiss import FactorReducer, HiSSClassifier, SOMPseudoLabeler
from sklearn_hiss.datasets import make_hierarchical_classification
from sklearn_hiss.metrics import per_task_scorers

bunch = make_hierarchical_classification(
    n_samples=800, tasks=(6, 4), as_frame=True, return_X_y=False, random_state=0
)
X_train, X_test, Y_train, Y_test = train_test_split(
    bunch.data, bunch.target, test_size=0.25, random_state=0
)

pipe = Pipeline(
    [
        ("factors", FactorReducer(variance_threshold=0.8)),
        ("clusters", SOMPseudoLabeler(n_clusters=6, random_state=0)),
        (
            "hiss",
            HiSSClassifier(
                tasks=bunch.task_groups,
                pseudo_labels="passthrough",
                local_units=(32,),
                n_networks=1,
                random_state=0,
            ),
        ),
    ]
)

# %%
# The search
# ----------
# Parameters of a pipeline step are named ``<step>__<parameter>``. ``refit``
# names the scorer that picks the best candidate, which is then refitted on all
# training rows.
grid = {
    "hiss__alpha": [0.0, 0.2, 1.0],
    "hiss__shared_units": [(32,), (128,)],
}
search = GridSearchCV(pipe, grid, scoring=per_task_scorers(), refit="roc_auc", cv=3)
search.fit(X_train, Y_train)

print("best:", search.best_params_)
print("cross-validated mean AUROC:", round(search.best_score_, 3))

# %%
# All candidates
# --------------
results = pd.DataFrame(search.cv_results_)
summary = results[
    ["param_hiss__alpha", "param_hiss__shared_units", "mean_test_roc_auc"]
    + ["std_test_roc_auc", "mean_test_f1", "mean_fit_time"]
]
summary.columns = ["alpha", "shared_units", "AUROC", "AUROC std", "F1", "fit s"]
print(summary.sort_values("AUROC", ascending=False).round(3).to_string())

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
for units, part in results.groupby(results["param_hiss__shared_units"].astype(str)):
    ax.errorbar(
        part["param_hiss__alpha"].astype(float),
        part["mean_test_roc_auc"],
        yerr=part["std_test_roc_auc"],
        marker="o",
        capsize=3,
        label=f"shared_units={units}",
    )
ax.set_xlabel("alpha (weight of the auxiliary task)")
ax.set_ylabel("mean AUROC over sub-tasks (3-fold CV)")
ax.legend()

# %%
# The chosen model on held-out rows
# ---------------------------------
# The test rows took no part in the search, so these scores are honest
# estimates for the chosen settings: first as searched (one network), then
# refitted with the default five cross-fitted networks.
from sklearn.base import clone

final = clone(search.best_estimator_).set_params(hiss__n_networks=5)
final.fit(X_train, Y_train)
for name, model in [("one network", search), ("five networks", final)]:
    scores = {m: s(model, X_test, Y_test) for m, s in per_task_scorers().items()}
    print(f"test, {name}:", {m: round(v, 3) for m, v in scores.items()})

# %%
# Other parameters worth a grid
# -----------------------------
# * ``hiss__local_units`` and ``hiss__task_units``: ``()`` removes a level.
# * ``clusters__n_clusters``: the number of pseudo-label classes.
# * ``factors__variance_threshold``: how much of each group's variance the
#   factors keep.
# * ``hiss__learning_rate`` and ``hiss__patience`` (how many epochs without
#   improvement early stopping waits), or ``hiss__early_stopping=False`` with a
#   fixed ``hiss__max_epochs``.
#
# With several seeds per setting (``hiss__random_state``), the spread between
# seeds tells which differences are real.

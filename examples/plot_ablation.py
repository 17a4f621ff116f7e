"""
=====================================
Ablation: which level of HiSS helps?
=====================================

The paper's Table 3 removes parts of the network one at a time: task-specific
layers only, then locally shared layers (one stack per main task), globally
shared layers, all three, and finally the self-supervised auxiliary task. In
:class:`~sklearn_hiss.HiSSClassifier` each variant is a parameter setting:

* ``shared_units=()`` removes the globally shared layers,
* ``local_units=()`` removes the locally shared layers,
* ``alpha=0`` switches the auxiliary task off.

Every sub-task always keeps its own output layer. With the default linear task
heads (``task_units=()``), "task-specific only" is seventeen logistic
regressions trained side by side; pass ``task_units=(128, 128)`` to every
variant for the paper's network, whose sub-tasks have two layers of their own.

Each variant is one network (``n_networks=1``): the default five cross-fitted
networks would make every fit up to five times slower without changing what
is compared. The other settings are the defaults (early stopping, balanced
class weights, F1-tuned thresholds). This run is small (one split, one seed)
and the differences between variants are of the size that a different seed
changes; use it as a template for your own ablation with several seeds or
cross-validation.
"""

# %%
# Indicators and pseudo-labels, once
# ----------------------------------
# Factor scores and SOM clusters do not depend on the network, so they are
# computed once, on the training rows only, and shared by every variant.
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from sklearn_hiss import FactorReducer, HiSSClassifier, SOMPseudoLabeler
from sklearn_hiss.datasets import load_flight_disruptions

flights = load_flight_disruptions()
X_train, X_test, Y_train, Y_test = train_test_split(
    flights.data, flights.target, test_size=0.2, random_state=0
)
indicators = Pipeline(
    [
        ("factors", FactorReducer(groups=flights.feature_groups)),
        ("clusters", SOMPseudoLabeler(random_state=0)),
    ]
).fit(X_train)
Z_train, Z_test = indicators.transform(X_train), indicators.transform(X_test)
print(Z_train.shape, "(factor scores + the pseudo-label column)")

# %%
# The five variants
# -----------------
# Each variant changes the defaults; the last one is the default network
# (``alpha=0.2``).
variants = {
    "task-specific only": dict(shared_units=(), local_units=(), alpha=0.0),
    "+ locally shared": dict(shared_units=(), alpha=0.0),
    "+ globally shared": dict(local_units=(), alpha=0.0),
    "global + local + task": dict(alpha=0.0),
    "+ auxiliary task (HiSS)": dict(),
}

# %%
# Fit and score each
# ------------------
from sklearn_hiss.metrics import per_task_scorers

scorers = per_task_scorers()
rows = {}
for name, params in variants.items():
    model = HiSSClassifier(
        tasks=flights.task_groups,
        pseudo_labels="passthrough",
        n_networks=1,  # one network per variant, to keep the example quick
        random_state=0,
        **params,
    )
    model.fit(Z_train, Y_train)
    rows[name] = {metric: s(model, Z_test, Y_test) for metric, s in scorers.items()}

table = pd.DataFrame(rows).T
print(table.round(3))

# %%
# Plot
# ----
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained", sharey=True)
for ax, metric, label in zip(axes, ["roc_auc", "f1"], ["AUROC", "F1"]):
    table[metric].plot.barh(ax=ax, color="tab:blue")
    low, high = table[metric].min(), table[metric].max()
    ax.set_xlim(low - 0.05, high + 0.02)
    ax.set_xlabel(f"mean {label} over 17 sub-tasks")
axes[0].invert_yaxis()
fig.suptitle("Table 3 on flights: one split, one seed")

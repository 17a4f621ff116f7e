"""
===========================================
Missing labels and semi-supervised training
===========================================

Real multi-task labels are rarely complete: a question was not asked of every
customer, a record was lost, or most rows were never labeled at all.
:class:`~sklearn_hiss.HiSSClassifier` trains on whatever is labeled:

* an unlabeled entry (``-1``, NaN, None or ``pandas.NA``) is left out of that
  sub-task's loss, while the row's other labels still count;
* a row with *no* label at all still trains the globally shared layers through
  the auxiliary task of predicting its cluster. This is the semi-supervised use
  of HiSS: unlabeled rows show the network what the population looks like.

This example uses :class:`~sklearn_hiss.HiSSClassifier` on its own: with the
default ``pseudo_labels="som"`` it fits the self-organising map on the training
rows (labeled or not) inside ``fit``.
"""

# %%
# Data with known structure
# -------------------------
# Rows are drawn around 6 hidden clusters that shift every sub-task's
# probability. Two main tasks, of 6 and 4 binary sub-tasks.
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from sklearn_hiss.datasets import make_hierarchical_classification

X, Y = make_hierarchical_classification(
    n_samples=1500,
    tasks=(6, 4),
    cluster_std=0.5,
    cluster_signal=2.0,
    as_frame=True,
    random_state=0,
)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.3, random_state=0)
tasks = {"first": list(Y.columns[:6]), "second": list(Y.columns[6:])}

# %%
# Scattered missing entries, as NaN
# ---------------------------------
# A DataFrame of labels with holes: pandas stores them as NaN. Nothing needs to
# be filled in; each sub-task learns from its own labeled entries.
from sklearn_hiss import HiSSClassifier

rng = np.random.default_rng(0)
Y_holes = Y_train.astype(float).mask(rng.random(Y_train.shape) < 0.4)
print(Y_holes.head())
print("labeled entries per sub-task:", Y_holes.notna().sum().to_dict())

model = HiSSClassifier(tasks=tasks, random_state=0)
model.fit(X_train, Y_holes)

# %%
# The test labels can have holes too: the metrics of :mod:`sklearn_hiss.metrics`
# score each sub-task on its labeled entries and say how many there were.
from sklearn_hiss.metrics import per_task_scores

Y_test_holes = Y_test.astype(float).mask(rng.random(Y_test.shape) < 0.4)
print(per_task_scores(model, X_test, Y_test_holes).round(3))

# %%
# .. note::
#    To cross-validate with labels like these, pass a splitter as ``cv``
#    (``KFold(5, shuffle=True, random_state=0)``): with an integer ``cv``,
#    ``cross_validate`` and ``GridSearchCV`` inspect the target first and
#    reject NaN. The user guide's page on missing labels has the details.

# %%
# Whole rows without labels
# -------------------------
# Now keep the labels of only a share of the rows; the other rows have none.
# The network without the auxiliary task (``alpha=0``) can learn nothing from
# those rows; with it (the default ``alpha=0.2``, or a heavier ``alpha=1``),
# they still train the shared layers.
#
# Each model here is one network (``n_networks=1``): the comparison is between
# values of ``alpha``, and the default five networks would make each of these
# nine fits up to five times slower.
results = []
for share in (0.05, 0.2, 1.0):
    Y_rows = Y_train.copy()
    Y_rows[rng.random(len(Y_rows)) > share] = -1
    for alpha in (0.0, 0.2, 1.0):
        model = HiSSClassifier(tasks=tasks, alpha=alpha, n_networks=1, random_state=0)
        model.fit(X_train, Y_rows)
        auroc = per_task_scores(model, X_test, Y_test)["roc_auc"].mean()
        results.append({"labeled rows": share, "alpha": alpha, "AUROC": auroc})

results = pd.DataFrame(results)
print(results.pivot_table("AUROC", "labeled rows", "alpha").round(3))

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
for alpha, line in results.groupby("alpha"):
    label = f"HiSS (alpha={alpha:g})" if alpha else "no auxiliary task (alpha=0)"
    ax.plot(line["labeled rows"], line["AUROC"], marker="o", label=label)
ax.set_xscale("log")
ax.set_xticks([0.05, 0.2, 1.0], ["5%", "20%", "100%"])
ax.set_xlabel("share of training rows that keep their labels")
ax.set_ylabel("mean AUROC on the test rows")
ax.legend()

# %%
# Reading the result
# ------------------
# Every model loses AUROC as labels disappear. The gap between the line of
# ``alpha=0`` and the others is what the unlabeled rows contributed through the
# auxiliary task: where it appears at all, it is where labels are scarcest, and
# its size depends on how much the clusters of the inputs say about the
# labels. It is one split and one
# seed here; check on your own data with a held-out set before counting on it,
# and compare ``alpha`` values as in
# :ref:`sphx_glr_auto_examples_plot_grid_search.py`.
#
# A sub-task whose training labels hold a single class (which happens when
# labels are few and positives rare) warns and always predicts that class.

"""
===========
Quick start
===========

Fit one HiSS pipeline to seventeen related yes/no questions, predict, and score
it per sub-task.

The data come from :func:`~sklearn_hiss.datasets.make_hierarchical_classification`:
rows drawn around hidden clusters, with two main tasks of 12 and 5 binary
sub-tasks whose labels share signal at every level of the hierarchy.
"""

# %%
# The data
# --------
# A Bunch holds the features, the labels (one column per sub-task) and the two
# groupings the method needs: ``task_groups`` says which label columns belong to
# which main task.
from sklearn.model_selection import train_test_split

from sklearn_hiss.datasets import make_hierarchical_classification

bunch = make_hierarchical_classification(
    n_samples=1000, tasks=(12, 5), as_frame=True, return_X_y=False, random_state=0
)
X, Y = bunch.data, bunch.target
print(X.shape, Y.shape)
print({main: len(columns) for main, columns in bunch.task_groups.items()})

X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.25, random_state=0
)

# %%
# The pipeline
# ------------
# The three steps of the method: factor analysis turns the columns into
# standardised factor scores, a self-organising map clusters the rows and
# appends the cluster id as a pseudo-label, and the classifier trains on all
# sub-tasks plus the auxiliary task of predicting the cluster.
#
# This is the recommended pipeline, with the classifier's defaults.
# ``keep_inputs=True`` passes the standardised input columns on beside the
# factor scores, so the network also sees the variance the factors leave out.
# By default the classifier trains five networks, each holding out a fifth of
# the training rows to stop early and to tune the decision thresholds, and
# averages their probabilities; that costs up to five times one network, and
# ``n_networks=1`` trains a single one.
from sklearn.pipeline import Pipeline

from sklearn_hiss import FactorReducer, HiSSClassifier, SOMPseudoLabeler

pipe = Pipeline(
    [
        ("factors", FactorReducer(keep_inputs=True)),
        ("clusters", SOMPseudoLabeler(random_state=0)),
        (
            "hiss",
            HiSSClassifier(
                tasks=bunch.task_groups, pseudo_labels="passthrough", random_state=0
            ),
        ),
    ]
)
pipe.fit(X_train, Y_train)

# %%
# What each step learned: the number of factors kept, the SOM grid chosen by
# silhouette score, the epochs each network ran before early stopping, and the
# F1-tuned threshold of the first few sub-tasks.
hiss = pipe["hiss"]
print("factors:", pipe["factors"].n_factors_)
print("SOM grid:", pipe["clusters"].grid_shape_)
print("epochs per network:", [len(net.history) for net in hiss.networks_])
print("thresholds:", hiss.thresholds_[:4].round(2))

# %%
# Predictions
# -----------
# ``predict`` gives one column per sub-task; ``predict_proba`` one
# ``(n_samples, n_classes)`` array per sub-task, as scikit-learn's multi-output
# classifiers do.
Y_pred = pipe.predict(X_test)
probas = pipe.predict_proba(X_test)
print(Y_pred.shape, len(probas), probas[0].shape)

# %%
# Scores per sub-task
# -------------------
# :func:`~sklearn_hiss.metrics.per_task_scores` gives accuracy, F1 and AUROC
# per sub-task; their means are the numbers the paper reports.
import matplotlib.pyplot as plt

from sklearn_hiss.metrics import per_task_scores

table = per_task_scores(pipe, X_test, Y_test)
print(table.round(3).head())
print(table[["accuracy", "f1", "roc_auc"]].mean().round(3))

ax = table["roc_auc"].plot.bar(figsize=(8, 3.5), color="tab:blue")
ax.axhline(0.5, color="grey", linestyle=":", label="chance")
ax.set_ylabel("AUROC on the test rows")
ax.set_title("One network, seventeen sub-tasks")
ax.legend()
plt.tight_layout()

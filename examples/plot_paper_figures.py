"""
==========================================================
Factors, clusters and event rate per cluster (Figures 3-5)
==========================================================

Besides predictions, a fitted HiSS pipeline describes the population: factor
analysis condenses each group of columns into a few *indicators*, and the
self-organising map (SOM) sorts the rows into clusters of similar indicators.
The paper uses three figures to read them:

* Figure 3: the rows in the plane of their indicators, coloured by cluster;
* Figure 4: the mean of every indicator in every cluster;
* Figure 5: the predicted monthly event rate of every cluster.

:mod:`sklearn_hiss.plotting` draws all three for any fitted pipeline
FactorReducer -> SOMPseudoLabeler -> HiSSClassifier. It needs the ``plots``
extra (``pip install "sklearn-hiss[plots]"``).
"""

# %%
# Fit the pipeline on the flights data
# ------------------------------------
# The three feature groups of the data set (aircraft profile, activity, usage
# per month and hour) are reduced separately, as the paper does with its data
# sources.
#
# Three settings differ from the recommended pipeline, for the figures' sake:
#
# * the factor step passes on the factor scores only (``keep_inputs`` left at
#   False), so that the map clusters, and Figure 4 profiles, a handful of
#   nameable indicators rather than every input column too;
# * ``class_weight=None``: balanced class weights raise the predicted
#   probabilities of rare events, and Figure 5 reads them as event rates;
# * ``n_networks=1``: one network is enough to draw the figures, at a fifth of
#   the cost.
from sklearn.pipeline import Pipeline

from sklearn_hiss import FactorReducer, HiSSClassifier, SOMPseudoLabeler
from sklearn_hiss.datasets import load_flight_disruptions

flights = load_flight_disruptions()
X, Y = flights.data, flights.target
pipe = Pipeline(
    [
        ("factors", FactorReducer(groups=flights.feature_groups)),
        ("clusters", SOMPseudoLabeler(random_state=0)),
        (
            "hiss",
            HiSSClassifier(
                tasks=flights.task_groups,
                pseudo_labels="passthrough",
                class_weight=None,
                n_networks=1,
                random_state=0,
            ),
        ),
    ]
)
pipe.fit(X, Y)

# %%
# Reading the factors
# -------------------
# ``n_factors_`` is the number of factors kept per group (the smallest count
# whose eigenvalues reach 60% of the group's variance), ``variance_explained_``
# the share of the group's variance each factor explains, and ``loadings_`` how
# strongly each column loads on each factor. The columns with the largest
# loadings name a factor.
import pandas as pd

factors = pipe["factors"]
print("factors per group:", factors.n_factors_)
for group, shares in factors.variance_explained_.items():
    print(group, shares.round(2))

# ``groups_`` holds the positions of the columns each group's model used
# (constant columns are left out), in the order of the loadings' rows.
profile = pd.DataFrame(
    factors.loadings_["profile"],
    index=X.columns[factors.groups_["profile"]],
    columns=[f"profile_f{k + 1}" for k in range(factors.n_factors_["profile"])],
)
for column in profile.columns[:3]:
    top = profile[column].abs().sort_values(ascending=False).index[:4]
    print(column, "->", ", ".join(top))

# %%
# Reading the clusters
# --------------------
# The SOM tried 4, 6, 8 and 10 cells and kept the grid with the best silhouette
# score. Its quantisation error is the mean distance of a row to its cell; its
# topographic error the share of rows whose two nearest cells are not
# neighbours (0 means the map keeps the topology).
som = pipe["clusters"]
print("grid:", som.grid_shape_)
print(
    "silhouette per cell count:", pd.Series(som.silhouette_scores_).round(3).to_dict()
)
print("quantisation error:", round(som.quantization_error_, 3))
print("topographic error:", round(som.topographic_error_, 3))
print(pd.Series(som.labels_).value_counts().sort_index().to_dict())

# %%
# Figure 3: rows by cluster
# -------------------------
# Without ``factors=``, the plane is that of the first two principal components
# of the indicators; pass two indicator names to use them as axes instead.
from sklearn_hiss.plotting import (
    plot_cluster_profiles,
    plot_factor_clusters,
    plot_monthly_event_rate,
)

plot_factor_clusters(pipe, X)

# %%
plot_factor_clusters(pipe, X, factors=("activity_f1", "usage_f1"))

# %%
# Figure 4: what each cluster looks like
# --------------------------------------
# Red cells are indicators above the population mean in that cluster, blue
# below; a factor score has mean 0 and standard deviation 1 over the rows.
plot_cluster_profiles(pipe, X)

# %%
# Figure 5: predicted event rate per month and cluster
# ----------------------------------------------------
# The mean predicted probability of a disruption in each month, per cluster.
# The dashed line is the observed rate over all aircraft. Clusters whose line
# lies above it are the ones to watch, and the shape of a line says when.
plot_monthly_event_rate(pipe, X, main_task="month", Y=Y)

# %%
# The same for the hour bands:
plot_monthly_event_rate(pipe, X, main_task="hour", Y=Y)

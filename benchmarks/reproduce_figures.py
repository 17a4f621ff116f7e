"""The paper's Figures 3-5 on public data, from ``sklearn_hiss.plotting``.

Fits the HiSS pipeline FactorReducer -> SOMPseudoLabeler -> HiSSClassifier (the
estimator's defaults, but one network on the factor scores alone, as in the
paper, and no class weights, so that its probabilities estimate event rates)
on the training rows of the paper's first 80/20 split (seed 0), then
draws:

- Figure 3, ``figure3_<data>.png``: every row in the plane of the first two
  principal components of its factor scores, coloured by SOM cluster;
- Figure 4, ``figure4_<data>.png``: the mean of each factor score per cluster;
- Figure 5, ``figure5_<data>.png``: the mean predicted probability of each
  sub-task of one main task per cluster (the months of the flights data), on
  the held-out test rows, beside the observed rate.

    python benchmarks/reproduce_figures.py --dataset flights

writes the PNG files to ``benchmarks/results/``, with the command and package
versions in a footer and in the PNG metadata. ``--quick`` is a smoke run.
"""

import argparse
import time

import matplotlib

matplotlib.use("Agg")

from _reproduce import (  # noqa: E402
    hiss_pipeline,
    limit_threads,
    load,
    png_metadata,
    quick_output_dir,
    splits,
    stamp,
)

from sklearn_hiss.plotting import (  # noqa: E402
    plot_cluster_profiles,
    plot_factor_clusters,
    plot_monthly_event_rate,
)


def fit_pipeline(bunch, quick):
    """The paper's pipeline, default settings, fitted on the seed-0 training rows."""
    _, train, test = splits(len(bunch.data), "holdout", quick)[0]
    # The figures are about the factor scores and their clusters, so the factor
    # step keeps no inputs here, and a single network is fitted. Without class
    # weights its probabilities estimate event rates, which Figure 5 compares.
    params = {"inputs": "factors", "n_networks": 1, "class_weight": None}
    if quick:
        params["max_epochs"] = 3
    pipe = hiss_pipeline(bunch, 0, **params)
    pipe.fit(bunch.data.iloc[train], bunch.target.iloc[train])
    return pipe, test


def _largest_main_task(bunch):
    return max(bunch.task_groups, key=lambda name: len(bunch.task_groups[name]))


def _save(ax, path):
    figure = ax.figure
    # Keep a strip at the bottom free of axes for the stamp.
    figure.get_layout_engine().set(rect=(0, 0.045, 1, 0.955))
    footer = "\n".join(line.strip("_ ") for line in stamp())
    figure.text(0.005, 0.002, footer, fontsize=4.5, color="grey", va="bottom")
    figure.savefig(path, dpi=120, metadata=png_metadata())
    matplotlib.pyplot.close(figure)
    return path


def draw(dataset, quick, out):
    """Fit the pipeline on one data set and save its three figures."""
    bunch = load(dataset, quick)
    pipe, test = fit_pipeline(bunch, quick)
    X_test, Y_test = bunch.data.iloc[test], bunch.target.iloc[test]
    main_task = "month" if "month" in bunch.task_groups else _largest_main_task(bunch)
    axes = {
        3: plot_factor_clusters(pipe, bunch.data),
        4: plot_cluster_profiles(pipe, bunch.data),
        5: plot_monthly_event_rate(pipe, X_test, main_task=main_task, Y=Y_test),
    }
    axes[3].set_title(f"Figure 3 ({dataset}): factor scores by SOM cluster")
    axes[4].set_title(f"Figure 4 ({dataset}): mean factor score per cluster")
    axes[5].set_title(
        f"Figure 5 ({dataset}): predicted rate per cluster, test rows: {main_task}"
    )
    return [_save(ax, out / f"figure{n}_{dataset}.png") for n, ax in axes.items()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", choices=["flights", "yeast", "both"], default="both"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run on 300 rows")
    parser.add_argument("--out", default=None, help="results folder")
    args = parser.parse_args(argv)
    limit_threads()
    out = quick_output_dir(args.quick, args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = ["flights", "yeast"] if args.dataset == "both" else [args.dataset]
    paths = []
    for name in names:
        start = time.perf_counter()
        paths += draw(name, args.quick, out)
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    print("\n".join(map(str, paths)))
    return paths


if __name__ == "__main__":
    main()

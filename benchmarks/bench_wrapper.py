"""Wrapper cost: HiSSClassifier.fit against a hand-written PyTorch training loop.

Both train the same HiSSModule with the same loss, optimiser, batch size, number
of epochs and reshuffling each epoch, on the same standardised rows and
pseudo-labels (given as a passthrough column, so no clustering is timed on
either side). What is left is the price of the scikit-learn and skorch layers:
input validation, target encoding, skorch's callbacks, history and batch loop.
The classifier trains what the loop trains: one network (``n_networks=1``), no
early stopping, no class weights, ``alpha=1``, threshold 0.5; these are pinned,
as they were when ``results/bench_wrapper.md`` was made, not taken from the
estimator's defaults.

Target: HiSSClassifier's fit at most 1.2x the hand-written loop.

    python benchmarks/bench_wrapper.py            # writes results/bench_wrapper.md
    python benchmarks/bench_wrapper.py --quick    # smoke run, no file
"""

import _common
import numpy as np
import torch

from sklearn_hiss import HiSSClassifier
from sklearn_hiss._network import HiSSLoss, HiSSModule
from sklearn_hiss.datasets import make_hierarchical_classification

TARGET = 1.2
CONFIGS = {
    "paper widths (256 / 128 / 128-128)": {
        "shared_units": (256,),
        "local_units": (128,),
        "task_units": (128, 128),
    },
    "linear task heads (task_units=())": {"task_units": ()},
}
# What the hand-written loop does, pinned on the classifier's side.
SAME_AS_HAND_LOOP = {
    "alpha": 1.0,
    "class_weight": None,
    "decision_threshold": 0.5,
    "early_stopping": False,
    "n_networks": 1,
}


def add_arguments(parser):
    parser.add_argument("--epochs", type=int, default=20, help="epochs of each fit")
    parser.add_argument("--rows", type=int, default=1700, help="training rows")


def make_data(n_rows, seed=0):
    bunch = make_hierarchical_classification(
        n_samples=n_rows,
        n_features=17,
        tasks=(12, 5),
        return_X_y=False,
        random_state=seed,
    )
    X = np.column_stack([bunch.data, bunch.clusters]).astype(np.float32)
    return X, bunch.target, bunch.task_groups


def classifier_fit(X, Y, tasks, units, epochs):
    clf = HiSSClassifier(
        tasks=tasks,
        pseudo_labels="passthrough",
        max_epochs=epochs,
        random_state=0,
        **SAME_AS_HAND_LOOP,
        **units,
    )
    return lambda: clf.fit(X, Y)


def hand_loop(X, Y, tasks, units, epochs, optimizer_options, batch_size=128):
    """What a PyTorch user writes: standardise, build, shuffle, step."""

    def fit():
        features, pseudo = X[:, :-1], X[:, -1].astype(np.int64)
        scale = features.std(0)
        features = (features - features.mean(0)) / np.where(scale == 0, 1, scale)
        inputs = torch.from_numpy(features.astype(np.float32))
        targets = {
            "y": torch.from_numpy(Y.astype(np.int64)),
            "pseudo": torch.from_numpy(pseudo),
        }
        main_index = np.repeat(np.arange(len(tasks)), [len(v) for v in tasks.values()])
        torch.manual_seed(0)
        module = HiSSModule(
            inputs.shape[1],
            main_index,
            [2] * Y.shape[1],
            n_pseudo_classes=int(pseudo.max()) + 1,
            **units,
        )
        criterion = HiSSLoss(
            torch.ones(Y.shape[1]),
            torch.ones(Y.shape[1], 2),
            alpha=SAME_AS_HAND_LOOP["alpha"],
        )
        optimizer = torch.optim.Adam(module.parameters(), **optimizer_options)
        generator = torch.Generator().manual_seed(0)
        module.train()
        for _ in range(epochs):
            order = torch.randperm(len(inputs), generator=generator)
            for batch in order.split(batch_size):
                optimizer.zero_grad()
                outputs = module(inputs[batch])
                loss = criterion(outputs, {k: v[batch] for k, v in targets.items()})
                loss.backward()
                optimizer.step()
                loss.item()
        return module

    return fit


def optimizer_options_of(X, Y, tasks):
    """The Adam settings HiSSClassifier's net uses, so both sides run the same."""
    clf = HiSSClassifier(
        tasks=tasks, pseudo_labels="passthrough", max_epochs=1, **SAME_AS_HAND_LOOP
    )
    defaults = clf.fit(X[:200], Y[:200]).net_.optimizer_.defaults
    return {k: defaults[k] for k in ("lr", "fused", "foreach") if k in defaults}


def main(argv=None):
    args = _common.parse_args(__doc__.splitlines()[0], add_arguments, argv)
    if args.quick:
        args.epochs, args.rows = 2, 300
    repeats = args.repeats or (1 if args.quick else 5)
    with _common.single_thread():
        header = _common.stamp(argv)
        X, Y, tasks = make_data(args.rows)
        options = optimizer_options_of(X, Y, tasks)
        cases = {}
        for name, units in CONFIGS.items():
            cases[(name, "HiSSClassifier")] = classifier_fit(
                X, Y, tasks, units, args.epochs
            )
            cases[(name, "hand loop")] = hand_loop(
                X, Y, tasks, units, args.epochs, options
            )
        timings = _common.interleaved(cases, repeats)
    rows, ratios = [], {}
    for name in CONFIGS:
        ours, hand = timings[(name, "HiSSClassifier")], timings[(name, "hand loop")]
        ratios[name] = _common.round_ratio(ours, hand)
        rows.append(
            [
                name,
                ours.median(),
                hand.median(),
                ratios[name],
                _common.round_ratio(ours, hand, "cpu"),
            ]
        )
    body = [
        f"{args.rows:,} rows x 17 features, 17 sub-tasks (12 + 5), pseudo-labels "
        f"given (6 clusters), batch size 128, {args.epochs} epochs, one network, "
        "alpha=1, no class weights, no early stopping, Adam "
        f"{options}; median of {repeats} interleaved rounds after one warm-up.",
        "",
        *_common.table(
            [
                "network",
                "HiSSClassifier.fit s",
                "hand loop s",
                "ratio (wall)",
                "ratio (CPU)",
            ],
            rows,
        ),
        "",
        *[
            f"- {name}: " + _common.verdict(r, TARGET, "fit / hand loop")
            for name, r in ratios.items()
        ],
    ]
    _common.write_report("bench_wrapper", "Wrapper cost", header, body, args)
    return ratios


if __name__ == "__main__":
    main()

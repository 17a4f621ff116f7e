"""HiSSClassifier: one network for many hierarchical sub-tasks, the sklearn way."""

import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import precision_recall_curve
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.helper import predefined_split

from ._distributed import dask_worker_threads
from ._hierarchy import resolve_hierarchy
from ._network import HiSSLoss, HiSSModule
from ._skorch import (
    BatchIterator,
    HiSSNet,
    StopWhenStalled,
    TensorBatches,
    ValidationROCAUC,
    scorable_subtasks,
)
from ._som import SOMPseudoLabeler
from ._streaming import encode_chunk
from ._targets import (
    check_numeric_features,
    completed_classes,
    encode_targets,
    stack_predictions,
    unlabeled_mask,
)
from ._validation import check_settings, column_labels, warn_about_pseudo_label_column
from .metrics import UndefinedSubtaskMetricWarning

__all__ = ["HiSSClassifier"]


class HiSSClassifier(ClassifierMixin, BaseEstimator):
    """Hierarchical multi-task classifier with a self-supervised auxiliary task.

    One neural network answers many related classification sub-tasks grouped under
    main tasks (HiSS, Lee & Park). Globally shared layers feed every sub-task; each
    main task has locally shared layers; each sub-task has its own layers and output.
    An auxiliary head on the globally shared representation predicts cluster
    pseudo-labels of the input, so rows without any label still train the shared
    layers. Inputs are standardised inside ``fit`` with the training rows' mean and
    standard deviation.

    The defaults come from a nested cross-validated search on real data
    (``benchmarks/search_defaults.py``, its log in ``benchmarks/results``):
    linear task heads, ``alpha=0.2``, balanced class weights, early stopping on
    validation ROC AUC, F1-tuned thresholds and five cross-fitted networks
    averaged. The paper's own configuration is one setting away::

        HiSSClassifier(task_units=(128, 128), alpha=1.0, class_weight=None,
                       decision_threshold=0.5, early_stopping=False,
                       n_networks=1)

    Parameters
    ----------
    tasks : dict, sequence or None, default=None
        The task hierarchy. A dict main task -> list of Y column names (positions
        when Y is an array) or -> a count of consecutive Y columns; a sequence of
        main-task labels, one per Y column; or None for one main task.
    shared_units : tuple of int, default=(256,)
        Hidden widths of the globally shared layers; ``()`` removes that level.
    local_units : tuple of int, default=(128,)
        Hidden widths of each main task's locally shared layers; ``()`` removes
        that level.
    task_units : tuple of int, default=()
        Hidden widths of each sub-task's own layers before its output layer;
        ``()`` gives linear task heads. The paper uses ``(128, 128)``.
    alpha : float, default=0.2
        Weight of the auxiliary pseudo-label loss; 0 switches it off (and no
        pseudo-labeler is fitted). The paper uses 1.
    task_weights : array-like of shape (n_subtasks,), dict or None, default=None
        Weight of each sub-task's loss (a dict maps Y column names to weights,
        missing ones weigh 1). None weighs every sub-task 1.
    pseudo_labels : "som", "passthrough", clusterer or None, default="som"
        Source of the auxiliary task's labels. ``"som"`` fits a
        :class:`SOMPseudoLabeler` on the (standardised) training rows inside ``fit``;
        a clusterer with ``fit_predict`` is cloned and fitted likewise;
        ``"passthrough"`` reads integer labels from the last column of X (as
        appended by an upstream :class:`SOMPseudoLabeler`) and never uses that
        column as a feature; None trains no auxiliary task.
    unlabeled : int, str or None, default=-1
        Label value that marks an unlabeled entry, besides NaN, None and pandas NA.
    class_weight : "balanced", list of dict, dict or None, default="balanced"
        Class weights per sub-task. ``"balanced"`` weighs each class by
        ``n_labeled / (n_classes * n_class)`` on the training rows; a list gives
        one ``{label: weight}`` dict per sub-task (a dict alone for 1-D y); None
        weighs every class 1, as the paper does.
    decision_threshold : float or "f1", default="f1"
        Probability of the positive (second) class above which a binary sub-task
        predicts it. ``"f1"`` tunes one threshold per binary sub-task for F1 on
        validation rows (out of fold with several networks), never on the rows
        being predicted. The paper uses 0.5.
    learning_rate : float, default=1e-3
        Adam's learning rate.
    batch_size : int, default=128
        Rows per training batch.
    max_epochs : int, default=200
        Maximum number of passes over the training rows.
    early_stopping : bool, default=True
        Stop when the validation `scoring` has not improved for ``patience``
        epochs, and restore the weights of the best epoch. The paper trains a
        fixed number of epochs (``early_stopping=False``).
    scoring : {"roc_auc", "loss"}, default="roc_auc"
        What early stopping watches on the validation split: the mean ROC AUC
        over sub-tasks (one-vs-rest for multi-class ones; sub-tasks with one
        class among their labeled validation rows left out), or the supervised
        loss. ``"roc_auc"`` falls back to the loss when no sub-task can be
        scored.
    validation_fraction : float, default=0.1
        Share of the training rows held out as the validation split of a single
        network (``n_networks=1``), used when ``early_stopping`` is on or
        ``decision_threshold="f1"``. Rows with labels and rows without are
        shared out separately, so the split holds labeled rows (which alone
        count in the validation loss) even when most rows are unlabeled.
    patience : int, default=10
        Epochs without improvement before early stopping.
    n_networks : int, default=5
        Number of networks trained and averaged (their probabilities). When
        early stopping or ``decision_threshold="f1"`` needs validation rows,
        the rows are split into ``n_networks`` folds (labeled and unlabeled
        rows shared out separately) and each network holds out one fold, so
        every row validates exactly one network and the thresholds are tuned
        on out-of-fold probabilities of all rows; `validation_fraction` is
        then unused; the folds need ``2 * n_networks`` rows, ``n_networks``
        of them labeled. Otherwise every network trains on all rows from its
        own seed. Fitting costs about ``n_networks`` times one network; the paper
        trains one.
    device : str, default="cpu"
        Torch device to train and predict on, e.g. ``"cuda"``. ``"accelerate"``
        trains data-parallel through Hugging Face Accelerate in every process of
        a launch (``accelerate launch`` or ``torchrun``; the accelerate extra):
        each process holds all rows and trains on its piece of every batch of
        ``batch_size`` rows, on the GPU Accelerate gives it (or the CPU). The
        fitted model is an ordinary one on that device in every process.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, batch order, the validation split and the
        SOM; an int makes two fits identical. When seeded, torch runs on one CPU
        thread during ``fit`` and ``predict`` (its parallel sums round differently
        for different thread counts), so results do not depend on the machine, on
        the ``n_jobs`` of a surrounding search or on the Dask worker running the
        fit. Unseeded fits in a Dask worker use the threads the worker allots
        each task (its ``OMP_NUM_THREADS``: 1 from Dask's nanny unless the
        environment starting the workers sets it; else its cores divided among
        its task threads); elsewhere torch's own setting.
    verbose : int, default=0
        Print skorch's epoch table when > 0.
    callbacks : list of skorch callbacks or None, default=None
        Extra callbacks handed to the skorch net. With several networks the
        same callback objects serve each network in turn (skorch initialises
        them again at each start), so after ``fit`` they hold the last
        network's state; every network's record is in its own ``history``.

    Attributes
    ----------
    classes_ : list of ndarray or ndarray
        Classes of each sub-task (a single array for 1-D y). A 0/1 or bool
        sub-task keeps both classes even when its training rows hold only one
        of them (predicted with probability 1), so ``predict_proba`` keeps two
        columns in every cross-validation fold.
    hierarchy_ : TaskHierarchy
        The resolved task hierarchy (main tasks, sub-task names, main task of
        each sub-task).
    thresholds_ : ndarray of shape (n_subtasks,)
        Decision threshold of each binary sub-task (NaN for multi-class ones).
    pseudo_labeler_ : estimator or None
        The fitted clusterer that made the pseudo-labels (None for
        ``"passthrough"`` and None, and when ``alpha=0``).
    n_pseudo_classes_ : int
        Number of auxiliary classes (0 without an auxiliary task).
    input_mean_, input_scale_ : ndarray of shape (n_model_features,)
        Standardisation of the features learned on the training rows.
    networks_ : list of skorch.NeuralNet
        The trained skorch nets, ``n_networks`` of them; ``module_`` of each is
        its torch module.
    net_ : skorch.NeuralNet
        The first of ``networks_``.
    history_ : skorch.History
        Per-epoch record of the first network's training (and validation)
        loss, and its validation ROC AUC when early stopping watches it.
    n_iter_ : int
        Number of epochs run by the network that ran longest.
    n_features_in_ : int
        Number of columns of X seen in ``fit`` (including a passthrough column).
    feature_names_in_ : ndarray of str
        Column names of X, when X was a DataFrame with string column names.

    Examples
    --------
    >>> from sklearn_hiss import HiSSClassifier
    >>> from sklearn_hiss.datasets import make_hierarchical_classification
    >>> X, Y = make_hierarchical_classification(n_samples=300, tasks=(3, 2),
    ...                                         random_state=0)
    >>> clf = HiSSClassifier(tasks={"a": 3, "b": 2}, max_epochs=5, random_state=0)
    >>> clf.fit(X, Y).predict(X[:2]).shape
    (2, 5)
    >>> len(clf.predict_proba(X[:2]))
    5
    """

    _parameter_constraints = {
        "tasks": "no_validation",
        "shared_units": "no_validation",
        "local_units": "no_validation",
        "task_units": "no_validation",
        "alpha": [Interval(Real, 0, None, closed="left")],
        "task_weights": "no_validation",
        "pseudo_labels": "no_validation",
        "unlabeled": "no_validation",
        "class_weight": "no_validation",
        "decision_threshold": [
            Interval(Real, 0, 1, closed="neither"),
            StrOptions({"f1"}),
        ],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "scoring": [StrOptions({"roc_auc", "loss"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "n_networks": [Interval(Integral, 1, None, closed="left")],
        "device": "no_validation",
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
    }

    def __init__(
        self,
        tasks=None,
        *,
        shared_units=(256,),
        local_units=(128,),
        task_units=(),
        alpha=0.2,
        task_weights=None,
        pseudo_labels="som",
        unlabeled=-1,
        class_weight="balanced",
        decision_threshold="f1",
        learning_rate=1e-3,
        batch_size=128,
        max_epochs=200,
        early_stopping=True,
        scoring="roc_auc",
        validation_fraction=0.1,
        patience=10,
        n_networks=5,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.tasks = tasks
        self.shared_units = shared_units
        self.local_units = local_units
        self.task_units = task_units
        self.alpha = alpha
        self.task_weights = task_weights
        self.pseudo_labels = pseudo_labels
        self.unlabeled = unlabeled
        self.class_weight = class_weight
        self.decision_threshold = decision_threshold
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.scoring = scoring
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.n_networks = n_networks
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def _validate_params(self):
        super()._validate_params()
        check_settings(self)

    # ------------------------------------------------------------------ fit

    def fit(self, X, y):
        """Fit the network to every sub-task at once.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features; with ``pseudo_labels="passthrough"`` the last column
            holds the pseudo-labels.
        y : array-like of shape (n_samples,) or (n_samples, n_subtasks)
            One column per sub-task. Unlabeled entries (NaN, None, pandas NA or
            ``unlabeled``) are left out of that sub-task's loss.

        Returns
        -------
        self : HiSSClassifier
            The fitted estimator.

        Raises
        ------
        ValueError
            For unusable input, each naming the problem: non-numeric, NaN or
            infinite features; too few rows; X and y of different lengths; a Y
            column without labels, with continuous values or a duplicated name.
        FloatingPointError
            When training diverges (the loss or the weights become NaN or
            infinite); the message names the epoch and the learning rate.
        """
        self._validate_params()
        units = {k: _as_units(getattr(self, k), k) for k in _UNIT_PARAMS}
        check_numeric_features(X, "HiSSClassifier")
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=True)
        names = getattr(self, "feature_names_in_", None)
        warn_about_pseudo_label_column(names, self.pseudo_labels)
        _require_y(y)
        targets = encode_targets(y, self.unlabeled)
        _check_lengths(X, targets.codes)
        hierarchy = resolve_hierarchy(self.tasks, targets.names)
        accelerator = self._make_accelerator()
        rng = self._fit_random_state(accelerator)
        features, pseudo_given = self._split_pseudo_column(X)
        mean, scale = _standardisation(features)
        features = _standardised(features, mean, scale, "fit", names)
        pseudo, labeler, pseudo_ids = self._make_pseudo_labels(
            features, pseudo_given, rng
        )
        codes = _drop_single_class(targets)
        folds = self._validation_folds(codes, rng)
        data = _batches(features, codes, pseudo)
        n_pseudo = 0 if pseudo is None else int(pseudo.max()) + 1

        def train_network(k, train, valid):
            if self.verbose:
                print(f"HiSSClassifier: network {k + 1} of {len(folds)}")
            settings = self._net_settings(
                features.shape[1],
                hierarchy,
                targets,
                _take(codes, train),
                n_pseudo,
                units,
                rng,
                self._monitor(_take(codes, valid), valid is not None),
            )
            if valid is not None:
                settings["train_split"] = predefined_split(data(valid))
            return self._train_network(settings, data(train), rng, accelerator)

        trained = [train_network(k, *fold) for k, fold in enumerate(folds)]
        networks = [net for net, _ in trained]
        self._warn_if_not_converged([cut for _, cut in trained])

        classes = completed_classes(targets)
        self.classes_ = classes[0] if targets.is_1d else classes
        self.hierarchy_ = hierarchy
        self.pseudo_labeler_ = labeler
        self.n_pseudo_classes_ = n_pseudo
        self.input_mean_, self.input_scale_ = mean, scale
        self.networks_ = networks
        self.history_ = networks[0].history
        self.n_iter_ = max(len(net.history) for net in networks)
        self._targets_1d = targets.is_1d
        self._n_classes = [len(c) for c in classes]
        self._constant_class = _constant_positions(targets.classes, classes)
        self._pseudo_ids = pseudo_ids
        self._partial_seed = int(rng.randint(np.iinfo(np.int32).max))
        self.thresholds_ = self._fit_thresholds(features, codes, folds)
        return self

    @property
    def net_(self):
        """The first trained skorch net (all of them are in ``networks_``)."""
        try:
            return self.networks_[0]
        except AttributeError:
            raise AttributeError(
                f"This {type(self).__name__} has no net_ before fit."
            ) from None

    def _train_network(self, settings, train_data, rng, accelerator):
        """Train one skorch net on ``train_data``.

        Returns it as a plain net, and what early stopping watched when
        ``max_epochs`` ended training first (else None).
        """
        trained = self._new_net(settings, accelerator)
        with self._torch_threads(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(rng.randint(np.iinfo(np.int32).max))
            trained.fit(train_data)
            net = trained if accelerator is None else _plain_net(trained, settings)
        # The validation rows stay out of the fitted model (and its pickles).
        net.set_params(train_split=None)
        _check_finite_weights(net, self.learning_rate)
        return net, _cut_short(trained)

    def _split_pseudo_column(self, X):
        if not _is_option(self.pseudo_labels, "passthrough"):
            return X, None
        if X.shape[1] < 2:
            raise ValueError(
                "pseudo_labels='passthrough' reads the pseudo-labels from the last "
                f"column of X, but X has {X.shape[1]} column; put a SOMPseudoLabeler "
                "before HiSSClassifier or use pseudo_labels='som'."
            )
        labels = X[:, -1]
        if np.any(labels < 0) or np.any(labels != np.round(labels)):
            raise ValueError(
                "pseudo_labels='passthrough' expects non-negative integer cluster ids "
                f"in the last column of X; got values such as {labels[:5]}. Put a "
                "SOMPseudoLabeler (or another clusterer's transform) right before "
                "HiSSClassifier."
            )
        return X[:, :-1], labels.astype(np.int64)

    def _make_pseudo_labels(self, features, given, rng):
        source = self.pseudo_labels
        if source is None or self.alpha == 0:
            return None, None, None  # no auxiliary task: nothing to cluster
        if _is_option(source, "passthrough"):
            ids, codes = np.unique(given, return_inverse=True)
            return codes, None, ids
        if _is_option(source, "som"):
            labeler = SOMPseudoLabeler(random_state=rng.randint(np.iinfo(np.int32).max))
        elif hasattr(source, "fit_predict"):
            labeler = clone(source)
            if "random_state" in labeler.get_params():
                labeler.set_params(random_state=rng.randint(np.iinfo(np.int32).max))
        else:
            raise ValueError(
                "pseudo_labels must be 'som', 'passthrough', None or a clusterer with "
                f"fit_predict; got {source!r}."
            )
        labels = np.asarray(labeler.fit_predict(features))
        ids, codes = np.unique(labels, return_inverse=True)
        return codes, labeler, ids

    def _validation_folds(self, codes, rng):
        """(training rows, validation rows) of each network; None means all rows.

        Without early stopping or tuned thresholds every network trains on all
        rows. Otherwise one network holds out ``validation_fraction`` of the
        rows, and several networks hold out one fold each of a split into
        ``n_networks`` folds, so that every row is validation data once.
        """
        if not (self.early_stopping or self.decision_threshold == "f1"):
            return [(None, None)] * self.n_networks
        if self.n_networks == 1:
            return [self._split_rows(codes, rng)]
        n, k = len(codes), self.n_networks
        if n < 2 * k:
            raise ValueError(
                f"n_networks={k} trains each network on all rows but one of {k} "
                f"folds, which needs at least {2 * k} samples; got {n} samples. "
                "Give more rows or lower n_networks."
            )
        order = rng.permutation(n)
        labeled = (codes[order] >= 0).any(axis=1)
        if 0 < labeled.sum() < k:  # none: every sub-task is a constant
            raise ValueError(
                f"n_networks={k} validates each network on one of {k} folds, and "
                f"each fold needs a labeled row, but only {labeled.sum()} rows "
                "have a label. Lower n_networks, or switch off early_stopping "
                "and decision_threshold='f1'."
            )
        dealt = np.concatenate([order[labeled], order[~labeled]])
        fold = np.empty(n, dtype=np.int64)
        fold[dealt] = np.arange(n) % k
        return [
            (np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(k)
        ]

    def _monitor(self, valid_codes, has_validation):
        """History key early stopping watches: validation ROC AUC or loss."""
        if not (self.early_stopping and has_validation):
            return None
        if self.scoring == "roc_auc" and scorable_subtasks(valid_codes):
            return "valid_roc_auc"
        return "valid_loss"

    def _split_rows(self, codes, rng):
        """Training and validation rows; labeled rows are shared out in proportion.

        The validation loss counts labeled entries only, so a validation split
        drawn without regard to labels could hold none on mostly unlabeled data.
        """
        n = len(codes)
        if not (self.early_stopping or self.decision_threshold == "f1"):
            return None, None  # every row trains
        n_valid = int(round(self.validation_fraction * n))
        if n_valid < 1 or n - n_valid < 1:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves no validation "
                f"or no training rows out of {n}; early_stopping and "
                "decision_threshold='f1' need a validation split: give more rows or "
                "switch them off."
            )
        order = rng.permutation(n)
        labeled = (codes[order] >= 0).any(axis=1)
        n_labeled = self._n_valid_labeled(labeled.sum())
        valid = np.concatenate(
            [order[labeled][:n_labeled], order[~labeled][: max(n_valid - n_labeled, 0)]]
        )
        return np.setdiff1d(order, valid), np.sort(valid)

    def _n_valid_labeled(self, n_labeled):
        """Labeled validation rows: the fraction, but at least one on either side."""
        if n_labeled < 2:
            return 0  # every sub-task has a single class: nothing to validate
        share = int(round(self.validation_fraction * n_labeled))
        return min(max(share, 1), n_labeled - 1)

    def _net_settings(
        self,
        n_features,
        hierarchy,
        targets,
        train_codes,
        n_pseudo,
        units,
        rng,
        monitor=None,
    ):
        """Keyword arguments of the skorch net (draws the batch order's seed)."""
        n_classes = [max(2, len(c)) for c in targets.classes]
        n_pseudo = 0 if self.alpha == 0 else n_pseudo
        callbacks = list(self.callbacks or [])
        if monitor == "valid_roc_auc":
            callbacks.append(ValidationROCAUC())
        if monitor is not None:
            callbacks.append(
                StopWhenStalled(
                    monitor=monitor,
                    lower_is_better=monitor == "valid_loss",
                    patience=self.patience,
                    load_best=True,
                    sink=_quiet_sink,
                )
            )
        return dict(
            module=HiSSModule,
            module__n_features=n_features,
            module__main_index=hierarchy.main_index,
            module__n_classes=n_classes,
            module__n_pseudo_classes=n_pseudo,
            **{f"module__{k}": v for k, v in units.items()},
            criterion=HiSSLoss,
            criterion__task_weights=self._task_weight_vector(targets.names),
            criterion__class_weights=self._class_weight_matrix(
                train_codes, targets, max(n_classes)
            ),
            criterion__alpha=self.alpha,
            optimizer=torch.optim.Adam,
            lr=self.learning_rate,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train=BatchIterator,
            iterator_train__shuffle=True,
            iterator_train__seed=int(rng.randint(np.iinfo(np.int32).max)),
            iterator_valid=BatchIterator,
            iterator_valid__batch_size=max(self.batch_size, 1024),
            callbacks=callbacks,
            train_split=None,
            device=self.device,
            verbose=self.verbose,
        )

    def _new_net(self, settings, accelerator):
        if accelerator is None:
            return HiSSNet(**settings)
        from ._accelerate import accelerated_net

        return accelerated_net(settings, accelerator)

    def _make_accelerator(self):
        """An Accelerate ``Accelerator`` when ``device="accelerate"``, else None."""
        if not _is_option(self.device, "accelerate"):
            return None
        try:
            from ._accelerate import make_accelerator
        except ImportError as error:
            raise ImportError(
                "device='accelerate' needs the accelerate package, which is not "
                "installed; install it with pip install 'sklearn-hiss[accelerate]'."
            ) from error
        return make_accelerator()

    def _fit_random_state(self, accelerator):
        """The fit's random generator, the same in every process of a launch."""
        rng = check_random_state(self.random_state)
        if accelerator is None:
            return rng
        from ._accelerate import process_seed

        return check_random_state(process_seed(self.random_state, rng))

    def _task_weight_vector(self, names):
        weights = self.task_weights
        if weights is None:
            return torch.ones(len(names))
        if isinstance(weights, dict):
            unknown = set(weights) - set(names)
            if unknown:
                raise ValueError(
                    f"task_weights names {sorted(map(str, unknown))}, which are not "
                    "columns of Y."
                )
            weights = [weights.get(name, 1.0) for name in names]
        weights = np.asarray(weights, dtype=np.float32)
        if weights.shape != (len(names),) or np.any(weights < 0):
            raise ValueError(
                f"task_weights must hold one non-negative weight per Y column "
                f"({len(names)}); got {self.task_weights!r}."
            )
        return torch.as_tensor(weights)

    def _class_weight_matrix(self, codes, targets, n_slots):
        matrix = np.ones((len(targets.classes), n_slots), dtype=np.float32)
        spec = self.class_weight
        if spec is None:
            return torch.as_tensor(matrix)
        if isinstance(spec, dict) and targets.is_1d:
            spec = [spec]
        if isinstance(spec, str) and spec == "balanced":
            for t, classes in enumerate(targets.classes):
                counts = np.bincount(codes[:, t][codes[:, t] >= 0], minlength=n_slots)
                present = counts > 0
                matrix[t, present] = counts.sum() / (len(classes) * counts[present])
            return torch.as_tensor(matrix)
        if isinstance(spec, list | tuple) and len(spec) == len(targets.classes):
            completed = completed_classes(targets)
            for t, (weights, classes) in enumerate(zip(spec, completed)):
                for label, w in dict(weights).items():
                    position = _class_position(classes, label, t)
                    if position < n_slots:
                        matrix[t, position] = w
            return torch.as_tensor(matrix)
        raise ValueError(
            "class_weight must be None, 'balanced', or one {label: weight} dict per "
            f"sub-task ({len(targets.classes)}); got {spec!r}."
        )

    def _fit_thresholds(self, features, codes, folds):
        """Thresholds of the binary sub-tasks; "f1" tunes them out of fold.

        Each network scores its own validation rows, so with several networks
        every training row is scored by a network that never trained on it.
        """
        binary = np.array(self._n_classes) == 2
        if self.decision_threshold != "f1":
            return np.where(binary, self.decision_threshold, np.nan)
        thresholds = np.where(binary, 0.5, np.nan)
        if folds is None:  # partial_fit: no validation rows to tune on
            return thresholds
        rows = np.concatenate([valid for _, valid in folds])
        scores = np.concatenate(
            [
                self._positive_scores(features[valid], [net])
                for net, (_, valid) in zip(self.networks_, folds)
            ]
        )
        for t in np.flatnonzero(binary):
            thresholds[t] = _best_f1_threshold(codes[rows, t], scores[:, t])
        return thresholds

    def _positive_scores(self, features, networks):
        """Probability of the second class of every sub-task, (n, n_subtasks)."""
        probas = self._probabilities(features, networks)
        return np.column_stack([p[:, -1] for p in probas])

    def _warn_if_not_converged(self, cut_short):
        """One warning when ``max_epochs`` ended some network's training."""
        watched = [w for w in cut_short if w is not None]
        if watched:
            warnings.warn(
                f"HiSSClassifier: {len(watched)} of {len(cut_short)} network(s) "
                f"reached max_epochs={self.max_epochs} before early stopping "
                f"ended training (validation {watched[0]} still improving within "
                f"the last {self.patience} epochs); raise max_epochs.",
                ConvergenceWarning,
                stacklevel=3,
            )

    # ---------------------------------------------------------- partial_fit

    def partial_fit(self, X, y, classes=None):
        """Train one epoch on a chunk of rows, for data that does not fit in memory.

        The first call (on an estimator not yet fitted) fixes what every later
        chunk must share: the task hierarchy and the names of the Y columns,
        the classes of every sub-task (given with ``classes``, or those of the
        first chunk, with 0/1 indicators completed to both classes), the
        standardisation of the features (mean and standard deviation of the
        first chunk) and the pseudo-labeler (``"som"`` or a clusterer is
        fitted on the first chunk and then assigns the rows of later chunks
        with its ``predict``; ``"passthrough"`` reads labels from X, as
        appended by a :class:`SOMPseudoLabeler` fitted beforehand on a sample).
        Class weights (``"balanced"``) come from the first chunk too.

        Every call, the first included, trains one epoch over its chunk (in
        batches of ``batch_size``, shuffled), going on from the weights and the
        optimizer state of the previous call; ``max_epochs`` does not apply.
        Several passes over the data are several rounds of calls. After
        ``fit``, ``partial_fit`` goes on from the fitted model (every one of
        its networks, keeping its thresholds); ``fit`` always starts again from
        scratch. There is no validation split, so settings that need one apply
        to ``fit`` only: started by ``partial_fit``, a model is one network
        (whatever ``n_networks``), never stops early, and with
        ``decision_threshold="f1"`` uses the threshold 0.5.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One chunk of rows; with ``pseudo_labels="passthrough"`` the last
            column holds the pseudo-labels.
        y : array-like of shape (n_samples,) or (n_samples, n_subtasks)
            Labels of the chunk, with the same columns in every call; a chunk
            may leave a sub-task wholly unlabeled.
        classes : array-like, list of array-like or None, default=None
            Every class of every sub-task: one array for 1-D y, a list with one
            array per Y column otherwise. Needed on the first call when the
            first chunk lacks a class that later chunks hold; later calls may
            repeat it unchanged or leave it out.

        Returns
        -------
        self : HiSSClassifier
            The estimator, trained one more epoch.

        Raises
        ------
        ValueError
            When a chunk does not match the first one (number or names of
            features or Y columns, a class or a pseudo-label id not seen then),
            or when ``device="accelerate"``.

        Examples
        --------
        >>> from sklearn_hiss import HiSSClassifier
        >>> from sklearn_hiss.datasets import make_hierarchical_classification
        >>> X, Y = make_hierarchical_classification(n_samples=400, tasks=(3, 2),
        ...                                         random_state=0)
        >>> clf = HiSSClassifier(tasks={"a": 3, "b": 2}, random_state=0)
        >>> for epoch in range(2):
        ...     for start in range(0, 400, 100):
        ...         clf = clf.partial_fit(X[start:start + 100],
        ...                               Y[start:start + 100])
        >>> clf.n_iter_
        8
        """
        first = not hasattr(self, "net_")
        if first:
            self._validate_params()
        self._check_partial_fit_params()
        check_numeric_features(X, "HiSSClassifier")
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=first)
        if first:
            names = getattr(self, "feature_names_in_", None)
            warn_about_pseudo_label_column(names, self.pseudo_labels)
        _require_y(y)
        if first:
            features, targets, pseudo = self._start_partial_fit(X, y, classes)
        else:
            features, targets, pseudo = self._next_chunk(X, y, classes)
        self._train_one_epoch(features, targets.codes, pseudo)
        return self

    def _check_partial_fit_params(self):
        if _is_option(self.device, "accelerate"):
            raise ValueError(
                "partial_fit trains in this process only, but device='accelerate'; "
                "use fit for data-parallel training, or set device to 'cpu' or "
                "'cuda'."
            )

    def _start_partial_fit(self, X, y, classes):
        """Fix hierarchy, classes, standardisation and pseudo-labeler; build the net."""
        units = {k: _as_units(getattr(self, k), k) for k in _UNIT_PARAMS}
        targets = encode_chunk(y, self.unlabeled, classes)
        _check_lengths(X, targets.codes)
        hierarchy = resolve_hierarchy(self.tasks, targets.names)
        rng = check_random_state(self.random_state)
        features, pseudo_given = self._split_pseudo_column(X)
        mean, scale = _standardisation(features)
        features = _standardised(features, mean, scale, "partial_fit")
        pseudo, labeler, pseudo_ids = self._first_pseudo_labels(
            features, pseudo_given, rng
        )
        n_pseudo = 0 if pseudo is None else len(pseudo_ids)
        settings = self._net_settings(
            features.shape[1], hierarchy, targets, targets.codes, n_pseudo, units, rng
        )
        net = HiSSNet(**settings)
        with self._torch_threads(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(rng.randint(np.iinfo(np.int32).max))
            net.initialize()

        n_tasks = len(targets.classes)
        self.classes_ = targets.classes[0] if targets.is_1d else targets.classes
        self.hierarchy_ = hierarchy
        self.pseudo_labeler_ = labeler
        self.n_pseudo_classes_ = n_pseudo
        self.input_mean_, self.input_scale_ = mean, scale
        self.networks_ = [net]
        self.history_ = net.history
        self.n_iter_ = 0
        self._targets_1d = targets.is_1d
        self._n_classes = [len(c) for c in targets.classes]
        self._constant_class = [-1] * n_tasks
        self._pseudo_ids = pseudo_ids
        self._partial_seed = int(rng.randint(np.iinfo(np.int32).max))
        self.thresholds_ = self._fit_thresholds(features, targets.codes, None)
        return features, targets, pseudo

    def _next_chunk(self, X, y, classes):
        """Standardised features, coded targets and pseudo-labels of a later chunk."""
        targets = self._chunk_targets(y, classes)
        _check_lengths(X, targets.codes)
        features, given = self._split_pseudo_column(X)
        features = _standardised(
            features, self.input_mean_, self.input_scale_, "partial_fit"
        )
        return features, targets, self._chunk_pseudo_labels(features, given)

    def _first_pseudo_labels(self, features, given, rng):
        """Pseudo-labels of the first chunk, and every id a later chunk may bring."""
        pseudo, labeler, seen = self._make_pseudo_labels(features, given, rng)
        if pseudo is None:
            return None, None, None
        if labeler is not None and not hasattr(labeler, "predict"):
            raise ValueError(
                f"partial_fit assigns later chunks with the pseudo-labeler's "
                f"predict, which {type(labeler).__name__} lacks; use "
                "pseudo_labels='som', a clusterer with predict (e.g. KMeans), or "
                "'passthrough'."
            )
        ids = np.arange(max(_declared_clusters(labeler), int(seen.max()) + 1))
        return seen[pseudo], labeler, ids

    def _chunk_targets(self, y, classes):
        fixed = [self.classes_] if self._targets_1d else list(self.classes_)
        targets = encode_chunk(y, self.unlabeled, classes, fixed)
        if list(targets.names) != list(self.hierarchy_.subtasks):
            raise ValueError(
                f"y has columns {list(targets.names)[:10]}, but the model was "
                f"fitted with {list(self.hierarchy_.subtasks)[:10]}; give the same "
                "columns, in the same order, in every call."
            )
        return targets

    def _chunk_pseudo_labels(self, features, given):
        if self.n_pseudo_classes_ == 0:
            return None
        ids = self._pseudo_ids
        raw = (
            given
            if self.pseudo_labeler_ is None
            else self.pseudo_labeler_.predict(features)
        )
        position = np.minimum(np.searchsorted(ids, raw), len(ids) - 1)
        unknown = ids[position] != raw
        if unknown.any():
            raise ValueError(
                f"This chunk holds pseudo-labels {np.unique(raw[unknown])[:5]} "
                f"that the model has no class for (it knows {ids.tolist()[:20]}); "
                "with pseudo_labels='passthrough', make the first chunk hold every "
                "cluster id, or call fit to start again."
            )
        return position

    def _train_one_epoch(self, features, codes, pseudo):
        labeled = (codes >= 0).any(axis=0)
        self._constant_class = [
            -1 if seen else c for seen, c in zip(labeled, self._constant_class)
        ]
        data = _batches(features, codes, pseudo)(None)
        for k, net in enumerate(self.networks_):
            call = np.random.default_rng([self._partial_seed, self.n_iter_, k])
            # An iterator setting, not a module one: skorch's set_params refuses
            # it on an initialized net, and get_iterator reads the attribute.
            net.iterator_train__seed = int(call.integers(np.iinfo(np.int32).max))
            net.set_params(train_split=None)
            # No validation split here: nothing for early stopping to watch.
            net.callbacks_ = [
                (name, cb)
                for name, cb in net.callbacks_
                if not isinstance(cb, StopWhenStalled)
            ]
            with self._torch_threads():
                net.partial_fit(data, epochs=1)
            _check_finite_weights(net, self.learning_rate)
        self.history_ = self.net_.history
        self.n_iter_ = max(len(net.history) for net in self.networks_)

    # -------------------------------------------------------------- predict

    def _model_features(self, X):
        check_is_fitted(self)
        check_numeric_features(X, "HiSSClassifier")
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        if _is_option(self.pseudo_labels, "passthrough"):
            X = X[:, :-1]
        names = getattr(self, "feature_names_in_", None)
        return _standardised(X, self.input_mean_, self.input_scale_, "predict", names)

    def _probabilities(self, features, networks=None):
        """Per sub-task probabilities: the mean over `networks` (default: all)."""
        dataset = TensorBatches(torch.from_numpy(features))
        total = 0
        with self._torch_threads():
            for net in self.networks_ if networks is None else networks:
                logits, _ = net.forward(dataset)
                total = total + torch.softmax(logits.double(), dim=2)
        probas = (total / len(networks or self.networks_)).numpy()
        _check_finite_outputs(probas)
        constant = getattr(self, "_constant_class", [-1] * len(self._n_classes))
        return [
            _one_hot(len(features), k, c) if c >= 0 or k == 1 else probas[:, t, :k]
            for t, (k, c) in enumerate(zip(self._n_classes, constant))
        ]

    def _torch_threads(self):
        """Torch's CPU threads while fitting or predicting.

        Seeded: one thread, so results do not depend on the machine (parallel
        reductions in torch sum in an order that depends on the number of
        threads, which a surrounding search with ``n_jobs`` changes). Unseeded,
        inside a Dask worker: the threads the worker allots each task.
        Otherwise torch's own setting.
        """
        if self.random_state is not None:
            return _torch_thread_count(1)
        return _torch_thread_count(dask_worker_threads())

    def predict_proba(self, X):
        """Class probabilities of every sub-task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : list of ndarray of shape (n_samples, n_classes_t), or ndarray
            One array per sub-task, columns ordered as ``classes_[t]``; a single
            array for 1-D y.
        """
        probas = self._probabilities(self._model_features(X))
        return probas[0] if self._targets_1d else probas

    def predict(self, X):
        """Predicted label of every sub-task.

        Binary sub-tasks predict their second class when its probability reaches
        ``thresholds_``; others predict the most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_subtasks) or (n_samples,)
        """
        probas = self._probabilities(self._model_features(X))
        codes = np.column_stack(
            [
                (p[:, 1] >= thr).astype(np.int64) if p.shape[1] == 2 else p.argmax(1)
                for p, thr in zip(probas, self.thresholds_)
            ]
        )
        classes = [self.classes_] if self._targets_1d else self.classes_
        labels = stack_predictions(classes, codes)
        return labels[:, 0] if self._targets_1d else labels

    def score(self, X, y, sample_weight=None):
        """Mean over sub-tasks of the accuracy on their labeled entries.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_subtasks)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        y_pred = self.predict(X)
        if self._targets_1d:
            y_pred = y_pred[:, None]
        truth = pd.DataFrame(y).to_numpy() if np.ndim(y) > 1 else np.asarray(y)[:, None]
        if truth.shape != y_pred.shape:
            raise ValueError(
                f"y has shape {truth.shape}, but the model predicts "
                f"{y_pred.shape[1]} sub-task column(s) for the {len(y_pred)} rows "
                "of X; give one column per sub-task seen in fit, one row per row "
                "of X."
            )
        weights = (
            np.ones(len(truth)) if sample_weight is None else np.asarray(sample_weight)
        )
        accuracies = []
        for t in range(truth.shape[1]):
            labeled = ~unlabeled_mask(truth[:, t], self.unlabeled)
            if labeled.any():
                hits = truth[labeled, t] == y_pred[labeled, t]
                accuracies.append(np.average(hits, weights=weights[labeled]))
        return _mean_or_nan(accuracies)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._upgrade_single_network()
        self._follow_net_device()

    def _upgrade_single_network(self):
        """Read a model saved before ``n_networks`` existed: one network.

        Such a model stored its net as ``net_`` (now ``networks_[0]``) and lacks
        the parameters added with cross-fitting; they get the values it was
        fitted with.
        """
        state = self.__dict__
        if "net_" in state:
            state["networks_"] = [state.pop("net_")]
        state.setdefault("n_networks", 1)
        state.setdefault("scoring", "loss")

    def _follow_net_device(self):
        """After loading on another machine, take the device the net was mapped to.

        skorch maps a net trained on CUDA to the CPU (with a DeviceWarning) when no
        GPU is present; ``device`` follows, so that a refit works there too.
        """
        net = getattr(self, "net_", None)
        if net is None or _is_option(self.device, "accelerate"):
            return
        if torch.device(net.device) != torch.device(self.device):
            self.device = str(net.device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.classifier_tags.multi_label = True
        return tags


_UNIT_PARAMS = ("shared_units", "local_units", "task_units")


def _is_option(value, name):
    return isinstance(value, str) and value == name


def _quiet_sink(text):
    """Early stopping's messages go nowhere; verbose output is skorch's epoch table."""


def _as_units(value, name):
    if isinstance(value, Integral) and not isinstance(value, bool):
        value = (value,)
    try:
        units = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        units = None
    if (
        units is None
        or any(u < 1 for u in units)
        or any(isinstance(v, bool) or v != int(v) for v in value)
    ):
        raise ValueError(
            f"{name} must be a tuple of positive ints (hidden layer widths, () for "
            f"none); got {value!r}."
        )
    return units


def _check_lengths(X, codes):
    if len(X) != len(codes):
        raise ValueError(
            f"X has {len(X)} rows but y has {len(codes)}; they must describe the "
            "same rows."
        )
    if len(X) < 2:
        raise ValueError(
            f"HiSSClassifier needs at least 2 samples to fit; got {len(X)} sample."
        )


def _standardisation(features):
    """Column means and standard deviations (1 for constant columns).

    Columns are divided by their largest magnitude first, so that squares of
    values near 1e200 do not overflow and those of values near 1e-200 do not
    vanish. Sums run in float64 over blocks of rows, so a large (or
    memory-mapped) X is never copied whole.
    """
    n = len(features)
    blocks = _row_blocks(features)
    magnitude = np.max([np.abs(features[rows]).max(axis=0) for rows in blocks], axis=0)
    magnitude = np.where(magnitude > 0, magnitude, 1.0)
    total = sum(
        (features[rows] / magnitude).sum(axis=0, dtype=np.float64) for rows in blocks
    )
    mean = total / n
    squares = sum(
        np.square(features[rows] / magnitude - mean).sum(axis=0) for rows in blocks
    )
    scale = np.sqrt(squares / n) * magnitude
    scale[scale == 0] = 1.0
    return mean * magnitude, scale


def _standardised(X, mean, scale, stage, names=None):
    """Standardise X to float32, with a clear error where a value leaves its range.

    The error names the offending columns (by ``names`` when X had them).

    The float32 result is the only full-size array made; the arithmetic runs
    over blocks of rows.
    """
    Z = np.empty(X.shape, dtype=np.float32)
    bad = np.zeros(X.shape[1], dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):
        for rows in _row_blocks(X):
            Z[rows] = (X[rows] - mean) / scale
            bad |= ~np.isfinite(Z[rows]).all(axis=0)
    if bad.any():
        raise ValueError(
            f"X holds values too far from the training rows to {stage} on: in "
            f"columns {column_labels(np.flatnonzero(bad), names)} some lie beyond "
            f"{np.finfo(np.float32).max:.1e} training standard deviations from the "
            "training mean. Check these columns for wrong units or corrupt "
            "values, or rescale them (e.g. with a log transform)."
        )
    return Z


# Values per block of rows in the passes over X (32 MiB of float64).
_BLOCK_VALUES = 1 << 22


def _row_blocks(X):
    step = max(1, _BLOCK_VALUES // max(1, X.shape[1]))
    return [slice(start, start + step) for start in range(0, max(len(X), 1), step)]


def _check_finite_weights(net, learning_rate):
    if all(torch.isfinite(p).all() for p in net.module_.parameters()):
        return
    raise FloatingPointError(
        f"HiSSClassifier training diverged: the network weights became NaN or "
        f"infinite in epoch {len(net.history)}. Lower learning_rate (it is "
        f"{learning_rate}) or check the features for extreme values."
    )


def _check_finite_outputs(probas):
    bad = ~np.isfinite(probas).all(axis=(1, 2))
    if bad.any():
        raise ValueError(
            f"The network's outputs for rows {np.flatnonzero(bad)[:10].tolist()} "
            "of X are NaN or infinite: their features may lie extremely far from "
            "the training rows (standardised values beyond about 1e30), or the "
            "network's weights were changed after fit. Check these rows for "
            "wrong units or corrupt values."
        )


@contextmanager
def _torch_thread_count(n_threads):
    """Run torch on ``n_threads`` CPU threads inside the block (None: as it is)."""
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _one_hot(n, n_classes, position):
    proba = np.zeros((n, n_classes))
    proba[:, max(position, 0)] = 1.0
    return proba


def _constant_positions(seen, completed):
    """For each sub-task seen with one class, that class's position in classes_."""
    return [
        int(np.flatnonzero(full == kept[0])[0]) if len(kept) == 1 else -1
        for kept, full in zip(seen, completed)
    ]


def _mean_or_nan(values):
    if values:
        return float(np.mean(values))
    warnings.warn(
        "score found no labeled entry in y for any sub-task, so the mean accuracy "
        "is undefined; returning NaN.",
        UndefinedSubtaskMetricWarning,
        stacklevel=3,
    )
    return float("nan")


def _drop_single_class(targets):
    """Codes with single-class sub-tasks unlabeled (copied only when there are some)."""
    single = [t for t, c in enumerate(targets.classes) if len(c) < 2]
    codes = targets.codes.copy() if single else targets.codes
    for t in single:
        warnings.warn(
            f"Y column {targets.names[t]!r} has a single class "
            f"({_plain(targets.classes[t][0])!r}) in the training rows; it will "
            "always "
            "predict that class, with probability 1.",
            UserWarning,
            stacklevel=3,
        )
        codes[:, t] = -1
    return codes


def _batches(features, codes, pseudo):
    """A function of row positions (None: all rows, uncopied) giving TensorBatches."""
    X = torch.from_numpy(features)
    y = torch.from_numpy(codes)
    aux = (
        torch.zeros(1, dtype=torch.long).expand(len(X))  # no memory per row
        if pseudo is None
        else torch.from_numpy(pseudo)
    )

    def subset(rows):
        if rows is None:
            return TensorBatches(X, {"y": y, "pseudo": aux})
        return TensorBatches(X[rows], {"y": y[rows], "pseudo": aux[rows]})

    return subset


def _declared_clusters(labeler):
    """Clusters a fitted labeler may assign (0 when it does not say)."""
    for name in ("n_clusters_", "n_clusters"):
        value = getattr(labeler, name, None)
        if isinstance(value, Integral):
            return int(value)
    centers = getattr(labeler, "cluster_centers_", None)
    return 0 if centers is None else len(centers)


def _take(array, rows):
    return array if rows is None else array[rows]


def _require_y(y):
    if y is None:
        raise ValueError(
            "HiSSClassifier requires y to be passed, but the target y is None; "
            "give one column of labels per sub-task."
        )


def _plain_net(trained, settings):
    from ._accelerate import to_plain_net

    return to_plain_net(trained, settings)


def _class_position(classes, label, t):
    position = np.flatnonzero(classes == label)
    if len(position) == 0:
        raise ValueError(
            f"class_weight for sub-task {t} names label {label!r}, which is not one "
            f"of its classes {list(classes)}."
        )
    return position[0]


def _cut_short(net):
    """What early stopping watched if max_epochs ended `net`'s training first."""
    stoppers = [cb for _, cb in net.callbacks_ if isinstance(cb, StopWhenStalled)]
    if not stoppers or net._stopped_by_callback():
        return None
    return {"valid_loss": "loss"}.get(stoppers[0].monitor, "ROC AUC")


def _plain(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _best_f1_threshold(codes, scores):
    labeled = codes >= 0
    truth, scores = codes[labeled], scores[labeled]
    if truth.sum() == 0 or truth.sum() == len(truth):
        return 0.5
    precision, recall, thresholds = precision_recall_curve(truth, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[np.argmax(f1[:-1])])

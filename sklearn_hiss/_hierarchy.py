"""The task hierarchy: which sub-task (column of Y) belongs to which main task."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np

__all__ = ["TaskHierarchy", "resolve_hierarchy"]


@dataclass(frozen=True)
class TaskHierarchy:
    """A resolved task hierarchy.

    Attributes
    ----------
    main_tasks : list of str
        Names of the main tasks, in order of first appearance.
    subtasks : list
        Names of the sub-tasks: the columns of Y (or their positions).
    main_index : ndarray of shape (n_subtasks,)
        Position in ``main_tasks`` of the main task of each sub-task.
    """

    main_tasks: list
    subtasks: list
    main_index: np.ndarray

    def __eq__(self, other):
        if not isinstance(other, TaskHierarchy):
            return NotImplemented
        return (
            self.main_tasks == other.main_tasks
            and self.subtasks == other.subtasks
            and np.array_equal(self.main_index, other.main_index)
        )

    def __hash__(self):
        return hash((tuple(self.main_tasks), tuple(self.subtasks)))

    @property
    def n_main_tasks(self):
        return len(self.main_tasks)

    def groups(self):
        """Return a dict main task -> list of its sub-task names."""
        return {
            name: [s for s, m in zip(self.subtasks, self.main_index) if m == i]
            for i, name in enumerate(self.main_tasks)
        }


def resolve_hierarchy(tasks, subtasks):
    """Map every sub-task of Y to its main task.

    Parameters
    ----------
    tasks : dict, sequence or None
        ``None``: one main task holding every sub-task. A dict main task -> a
        non-empty list of Y columns, given by name or by position (an int that
        is not a column name is a position), or -> a count of consecutive
        columns. A sequence of main-task labels, one per Y column.
    subtasks : list
        The names of the Y columns (their positions when Y is an array).

    Returns
    -------
    hierarchy : TaskHierarchy
    """
    n = len(subtasks)
    if tasks is None:
        labels = ["all"] * n
    elif isinstance(tasks, Mapping):
        labels = _labels_from_mapping(tasks, subtasks)
    elif isinstance(tasks, Sequence | np.ndarray) and not isinstance(tasks, str):
        labels = list(tasks)
        if len(labels) != n:
            raise ValueError(
                f"tasks has {len(labels)} main-task labels but Y has {n} columns; "
                "give one main-task label per Y column."
            )
    else:
        raise TypeError(
            "tasks must be None, a dict main task -> Y columns (or a count), or a "
            f"sequence of main-task labels, one per Y column; got {tasks!r}."
        )
    main_tasks = list(dict.fromkeys(labels))
    index = {name: i for i, name in enumerate(main_tasks)}
    main_index = np.array([index[label] for label in labels], dtype=np.int64)
    return TaskHierarchy(main_tasks, list(subtasks), main_index)


def _labels_from_mapping(tasks, subtasks):
    if not tasks:
        raise ValueError("tasks is an empty dict; give at least one main task.")
    if all(isinstance(v, Integral) for v in tasks.values()):
        return _labels_from_counts(tasks, len(subtasks))
    position = {name: i for i, name in enumerate(subtasks)}
    labels = [None] * len(subtasks)
    for main, members in tasks.items():
        for member in _members(main, members):
            i = _position_of(member, position, main)
            if labels[i] is not None:
                raise ValueError(
                    f"Y column {subtasks[i]!r} is listed under main tasks "
                    f"{labels[i]!r} and {main!r}; each sub-task belongs to exactly "
                    "one main task."
                )
            labels[i] = main
    missing = [s for s, label in zip(subtasks, labels) if label is None]
    if missing:
        raise ValueError(
            f"Y columns {missing} are in no main task of tasks; add them to a main "
            "task or drop them from Y."
        )
    return labels


def _members(main, members):
    """The Y columns listed for one main task, as a non-empty list."""
    if isinstance(members, str | Integral):
        return [members]
    members = list(members)
    if not members:
        raise ValueError(
            f"tasks[{main!r}] is an empty list, but every main task needs at least "
            f"one Y column; drop {main!r} from tasks or give it its columns."
        )
    return members


def _position_of(member, position, main):
    """Position in Y of a column given by name, or by position when not a name.

    As in FactorReducer's ``groups``, an int that is not a column name is a
    position (so ``{"a": [0, 1]}`` works with a DataFrame Y too).
    """
    if _hashable(member) and member in position:
        return position[member]
    is_int = isinstance(member, Integral) and not isinstance(member, bool)
    if is_int and 0 <= member < len(position):
        return int(member)
    columns = list(position)
    hint = (
        _UNNAMED_Y_HINT
        if columns == list(range(len(columns))) and not is_int
        else f"Give Y column names or positions from 0 to {len(columns) - 1}."
    )
    raise ValueError(
        f"tasks[{main!r}] names {member!r}, which is not a column of Y (Y columns: "
        f"{columns[:20]}). {hint}"
    )


_UNNAMED_Y_HINT = (
    "Y reached fit without column names: a NumPy Y, or a DataFrame that a "
    "scikit-learn helper turned into an array (cross_val_predict does with "
    "method='predict_proba', and label-encodes every column on the way, so an "
    "unlabeled marker such as -1 becomes a class). Give tasks as counts of "
    "consecutive columns ({'A': 2, 'B': 2}) or as column positions; with "
    "unlabeled entries, fit and predict on each KFold split yourself instead "
    "of calling cross_val_predict (see the user guide on missing labels)."
)


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _labels_from_counts(tasks, n):
    counts = list(tasks.values())
    if any(c < 1 for c in counts) or sum(counts) != n:
        raise ValueError(
            f"tasks gives sub-task counts {dict(tasks)} summing to {sum(counts)}, "
            f"but Y has {n} columns; the counts must be positive and sum to {n}."
        )
    return [main for main, c in tasks.items() for _ in range(c)]

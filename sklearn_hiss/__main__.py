"""Command line: ``python -m sklearn_hiss demo`` (also the ``sklearn-hiss`` script)."""

import argparse
import sys

PROG = "sklearn-hiss"


def _at_least(low):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(
                f"expected an integer of at least {low}, got {text!r}"
            )
        return value

    return parse


def _parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description="HiSS for scikit-learn: command-line jobs."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="HiSS beside GaussianNB, LogisticRegression and RandomForest on the "
        "real flight-disruption data (the paper's Table 2, then per sub-task)",
    )
    demo.add_argument(
        "--quick", action="store_true", help="a smoke run of a few seconds"
    )
    demo.add_argument(
        "--cv", type=_at_least(2), default=None, help="folds (default 5; 2 if --quick)"
    )
    demo.add_argument(
        "--seed", type=int, default=0, help="seed of folds and models (default 0)"
    )
    demo.add_argument(
        "--threads",
        type=_at_least(1),
        default=1,
        help="threads of torch, BLAS and OpenMP (default 1, for reproducible timing)",
    )
    demo.add_argument(
        "--no-progress",
        action="store_true",
        help="do not write progress lines to stderr",
    )
    return parser


def _demo(args):
    import torch
    from threadpoolctl import threadpool_limits

    from ._demo import format_tables, run_demo

    previous = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    # BLAS and OpenMP pools too: on a busy machine their idle threads spin, and
    # small solves (one logistic regression per sub-task) run ten times slower.
    try:
        with threadpool_limits(limits=args.threads):
            result = run_demo(
                cv=args.cv,
                seed=args.seed,
                quick=args.quick,
                progress=not args.no_progress,
            )
    finally:
        torch.set_num_threads(previous)
    print(format_tables(result))


def _is_setting_error(error):
    from ._demo import DemoSettingError  # imported: the error came from the demo

    return isinstance(error, DemoSettingError)


def _print_error(args, error):
    message = " ".join(str(error).split())
    print(f"{PROG} {args.command}: error: {message}", file=sys.stderr)
    return 2


def main(argv=None):
    """Run a command; return its exit code (0 done, 2 error, 130 stopped).

    An error is a missing optional package or a setting the data cannot
    satisfy (such as more folds than rows); it is printed as one line.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments after the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    code : int
        The exit status.
    """
    args = _parser().parse_args(argv)
    try:
        _demo(args)
    except ImportError as error:
        return _print_error(args, error)
    except ValueError as error:
        if not _is_setting_error(error):
            raise
        return _print_error(args, error)
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

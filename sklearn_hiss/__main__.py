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


def main(argv=None):
    """Run a command; return its exit code (0 done, 2 missing package, 130 stopped).

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
        message = " ".join(str(error).split())
        print(f"{PROG} {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

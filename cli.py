"""`python cli.py ...` from a checkout: the `netdsl` command line, which lives in `netdsl.cli`."""

from netdsl.cli import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":
    run()

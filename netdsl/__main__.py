"""`python -m netdsl ...`: the same program as the `netdsl` command."""

from netdsl.cli import run

if __name__ == "__main__":
    run()

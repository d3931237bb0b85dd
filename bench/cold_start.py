"""Cold start: the wall time of `netdsl check` and `netdsl stats` on ResNet-50 as whole
processes, next to `python -c "import torch"`, and proof that neither command imports torch.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import (  # noqa: E402
    PYTHON,
    ROOT,
    compile_bytecode,
    interleaved,
    ms,
    netdsl_command,
    process_case,
    process_env,
    table,
)

ROUNDS = 5
SPEC = "specs/resnet50.net"
# Runs the command's main() in-process and reports whether torch got imported.
_PROBE = ("import sys; sys.argv = ['netdsl', {cmd!r}, {spec!r}]; import cli; "
          "code = 0\ntry:\n    cli.main()\nexcept SystemExit as e:\n    code = e.code or 0\n"
          "print('torch' in sys.modules, code)")


def imports_torch(command: str) -> bool:
    env = process_env()
    done = subprocess.run([PYTHON, "-c", _PROBE.format(cmd=command, spec=SPEC)], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=True)
    return done.stdout.split()[-2] == "True"


def report() -> str:
    compile_bytecode()
    netdsl = netdsl_command()
    cases = {
        "python -c pass": process_case([PYTHON, "-c", "pass"]),
        "python -c \"import torch\"": process_case([PYTHON, "-c", "import torch"]),
        f"netdsl check {SPEC}": process_case([*netdsl, "check", SPEC]),
        f"netdsl stats {SPEC}": process_case([*netdsl, "stats", SPEC]),
        f"netdsl stats {SPEC} --format json": process_case([*netdsl, "stats", SPEC,
                                                            "--format", "json"]),
    }
    times = interleaved(cases, ROUNDS)
    torch_time = times["python -c \"import torch\""]
    rows = [[f"`{name}`", ms(t), f"{t / torch_time:.0%}"] for name, t in times.items()]
    torch_free = {cmd: not imports_torch(cmd) for cmd in ("check", "stats")}
    assert all(torch_free.values()), f"a command imported torch: {torch_free}"
    return "\n\n".join([
        f"Median wall time of whole processes over {ROUNDS} interleaved rounds "
        f"(netdsl run as `{' '.join(Path(a).name for a in netdsl)}`).",
        table(["command", "wall time", "of `import torch`"], rows),
        "torch imported by `netdsl check`: no; by `netdsl stats`: no (checked through "
        "`sys.modules` after running each command's main()).",
    ])


if __name__ == "__main__":
    print(report())

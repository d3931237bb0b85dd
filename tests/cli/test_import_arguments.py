"""`netdsl import`'s entry: a forward's parameters with defaults, and the arguments and the
model's own code refused, located, before or instead of a traceback, a silent exit or a report
of the importer misreading the model."""

from __future__ import annotations

import pytest
import torch

from netdsl import build
from tests.cli.conftest import assert_user_error

MODELS = '''
import sys
from torch import nn


class Offset(nn.Module):
    def forward(self, x, y=1):
        return x + y


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x, *, targets=None):
        out = self.fc(x)
        if targets is not None:
            out = out - targets
        return out


def leaves():
    sys.exit(3)


class Leaving(nn.Module):
    def forward(self, x):
        sys.exit(4)
'''


@pytest.fixture
def models(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(MODELS)
    return str(path)


@pytest.mark.parametrize("model, shape", [("Offset", (3, 8, 8)), ("Head", (8,))])
def test_a_parameter_with_a_default_is_not_an_input(netdsl, models, tmp_path, model, shape):
    """`forward(self, x, y=1)`, `forward(self, x, *, targets=None)`: torch.fx traced the
    parameter as an input with no example value: KeyError 'netdsl_shape' (exit 1). The spec
    computes what the model computes with the defaults."""
    out = tmp_path / "m.net"
    done = netdsl("import", f"{models}:{model}", "--input", "x".join(map(str, shape)),
                  "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text().count("    input ") == 1
    namespace: dict = {}
    exec(compile(MODELS, "models.py", "exec"), namespace)  # noqa: S102 - the test's own models
    torch.manual_seed(0)
    reference = namespace[model]().eval()
    built = build(out)
    built.load_state_dict(reference.state_dict())
    x = torch.randn(2, *shape)
    torch.testing.assert_close(built.eval()(x), reference(x))


@pytest.mark.parametrize("name, words", [
    ("relu", "the network's name 'relu' is already the operator 'relu'"),  # "misread the model"
    ("len", "the network's name 'len' is already the builtin function 'len'"),
    ("network", "the network's name 'network' is not a name of the language"),
])
def test_a_name_no_network_can_have_is_refused_at_the_argument(netdsl, models, name, words):
    done = netdsl("import", f"{models}:Offset", "--input", "3x8x8", "--name", name)
    assert_user_error(done, f"--name:1:1: error: {words}")


def test_an_example_input_past_the_bound_is_refused_at_the_argument(netdsl, models):
    """torch's allocator refused 3x99999x99999 (exit 1)."""
    done = netdsl("import", f"{models}:Offset", "--input", "3x99999x99999")
    assert_user_error(done, "--input:1:1: error: an example input of 3x99999x99999 takes "
                            "224 GiB as the batch of two samples")


@pytest.mark.parametrize("model, words", [
    ("leaves", "calling '{}:leaves' failed: SystemExit: 3"),
    ("Leaving", "running '{}:Leaving' failed: SystemExit: 4"),
])
def test_the_models_code_exiting_is_a_user_error(netdsl, models, model, words):
    """`sys.exit(3)` in the factory ended netdsl silently with status 3."""
    done = netdsl("import", f"{models}:{model}", "--input", "3x8x8")
    assert_user_error(done, words.format(models))

"""`netdsl import MODULE:FACTORY`: a spec written from a PyTorch model, which `netdsl check`,
`fmt --check` and `stats` then accept; bad targets, arguments and models are located errors."""

from __future__ import annotations

from tests.backends.pytorch import import_models
from tests.cli.conftest import assert_user_error

MODELS = "tests/backends/pytorch/import_models.py"


def test_import_of_a_file_writes_a_spec_that_checks_formats_and_counts(netdsl, tmp_path) -> None:
    out = tmp_path / "tiny.net"
    result = netdsl("import", f"{MODELS}:TinyNet", "--args", "width=4", "--input", "3x32x32",
                    "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert text.startswith(f"# Imported from {MODELS}:TinyNet by `netdsl import`.")
    assert "network tiny_net {" in text and "input x: [3, 32, 32]" in text
    params = sum(p.numel() for p in import_models.TinyNet(4).parameters())
    assert f"expect params == {params}" in text
    assert netdsl("check", str(out)).returncode == 0
    assert netdsl("fmt", "--check", str(out)).returncode == 0
    stats = netdsl("stats", str(out))
    assert stats.returncode == 0 and f"{params:,}" in stats.stdout


def test_import_of_a_module_factory_to_stdout_with_positional_args(netdsl) -> None:
    result = netdsl("import", "tests.backends.pytorch.import_models:tiny_net", "--args", "6",
                    "--input", "3x16x16", "--name", "small")
    assert result.returncode == 0, result.stderr
    assert "network small {" in result.stdout and "stem: conv(6, 3, p=1)" in result.stdout


def test_torchvision_resnet18_imports_from_the_command_line(netdsl, tmp_path) -> None:
    out = tmp_path / "r18.net"
    result = netdsl("import", "torchvision.models:resnet18", "--input", "3x64x64", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "layer1: {\n        basic_block(64) * 2\n    }" in out.read_text()
    assert netdsl("stats", str(out)).returncode == 0


def test_untraceable_model_is_a_located_error(netdsl, tmp_path) -> None:
    result = netdsl("import", f"{MODELS}:Branchy", "--input", "3x16x16",
                    "-o", str(tmp_path / "b.net"))
    assert_user_error(result, "import_models.py:", "torch.fx cannot trace module 'inner.1' (Gate)",
                      "if x.sum() > 0", "[trace]")
    assert not (tmp_path / "b.net").exists()


def test_every_unmapped_call_is_reported(netdsl) -> None:
    result = netdsl("import", f"{MODELS}:Unmapped", "--input", "3x16x16")
    assert_user_error(result, "cannot import `erfinv` in model Unmapped", "torch.special.i0",
                      "2 errors", "[unmapped]")


def test_bad_targets_are_usage_errors(netdsl) -> None:
    assert_user_error(netdsl("import", "torchvision.models"), "expected MODULE:FACTORY")
    assert_user_error(netdsl("import", "no_such_module_x:Net"),
                      "no Python module named 'no_such_module_x'")
    assert_user_error(netdsl("import", f"{MODELS}:Nope"), "has no 'Nope'")
    assert_user_error(netdsl("import", "missing/file.py:Net"), "no such file")
    assert_user_error(netdsl("import", f"{MODELS}:TinyNet", "--args", "width=x", "--input",
                             "3x8x8"), "calling", "failed")
    assert_user_error(netdsl("import", f"{MODELS}:TinyNet", "--input", "3xax8"),
                      "expected sizes joined by 'x'")
    assert_user_error(netdsl("import", f"{MODELS}:TinyNet", "-o", "out.txt"),
                      "cannot tell the output format")
    assert_user_error(netdsl("import", "torch:zeros", "--args", "3"), "not a torch.nn.Module")


def test_model_that_fails_on_the_input_is_a_located_error(netdsl) -> None:
    result = netdsl("import", f"{MODELS}:TinyNet", "--input", "5x16x16")
    assert_user_error(result, "import_models.py:", "module 'stem' (Conv2d) fails on the example "
                      "input", "self.stem(x)", "--input", "[trace]")


def test_a_factory_given_the_models_name_names_the_network_after_it(netdsl) -> None:
    result = netdsl("import", "torchvision.models:get_model", "--args", "resnet18",
                    "--input", "3x32x32")
    assert result.returncode == 0, result.stderr
    assert "network resnet18 {" in result.stdout

"""The built modules trace with torch.fx, as torchvision's models do (its test suite checks
it; `create_feature_extractor` and FX-mode quantization rely on it), and the traced module
computes what the module does. Once 15 of the zoo's specs failed: an `if` on the input's size,
`list(x.shape[2:])`, a slice of an nn.Sequential called as a module, `torch.ones` of a traced
length, torchvision's roi_align traced into."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torchvision.models.feature_extraction import create_feature_extractor

import netdsl
from tests.backends.pytorch.conftest import example, small
from tests.conftest import SPECS, spec_paths

pytestmark = pytest.mark.usefixtures("one_thread")


def assert_traces_to_the_same(network: netdsl.Network) -> None:
    """Traced in training mode too (create_feature_extractor traces both); compared in eval
    mode, where no layer draws random numbers, exactly: the traced graph runs the same ops."""
    torch.manual_seed(0)
    model = netdsl.build(network)
    torch.fx.symbolic_trace(model)
    model.eval()
    traced = torch.fx.symbolic_trace(model)
    inputs = [example(network.graph, name) for name in network.graph.inputs]
    with torch.no_grad():
        torch.testing.assert_close(traced(*inputs), model(*inputs), rtol=0, atol=0)


# One small network per form of generated code that once stopped torch.fx, or that computes
# from its input's size at run time.
FORMS = {
    "size_check": "input x: [3, 8, 8]\n    conv(4, 3) -> flatten -> linear(5)",
    "crops": "input x: [4, 12, 12]\n    big: conv(4, 1)\n    small: conv(4, 3)\n"
             "    from big -> crop(small) -> concat(small)\n    crop(size=6, offset=[1, 2])",
    "tapped_chain": "input x: [3, 16, 16]\n    body: { conv(4, 3, p=1) -> relu -> "
                    "conv(4, 3, s=2) -> relu -> conv(4, 1) }\n    from body.1 -> "
                    "tap: conv(2, 1)\n    output body, tap",
    "channel_shuffle": "input x: [8, 6, 6]\n    a: conv(8, 1)\n    from x -> "
                       "channel_shuffle(2) -> add(a)",
    "causal_attention": "input x: [5, 8]\n    attention(2, causal=true)",
    "tf_same_padding": "input x: [3, 9, 8]\n    conv(4, 3, s=2, p=same) -> "
                       "maxpool(3, s=2, p=same)\n    avgpool(3, s=2, p=same, "
                       "count_include_pad=false)",
    "window_attention": "input x: [9, 10, 8]\n    window_attention(2, window=4, shift=2)\n"
                        "    patch_merge -> stochastic_depth(0.5)",
    "roi": "input image: [3, 16, 16]\n    input boxes: [3, 4]\n    from image -> "
           "conv(4, 3, p=1) -> roi_align(boxes, 2, scale=0.5) -> out: flatten(2)\n"
           "    from image -> roi_pool(boxes, 2) -> pooled: flatten(2)\n    output out, pooled",
}


@pytest.mark.parametrize("body", FORMS.values(), ids=list(FORMS))
def test_each_form_of_generated_code_traces_with_torch_fx(body: str) -> None:
    assert_traces_to_the_same(netdsl.load(f"network n {{\n    {body}\n}}\n"))


@pytest.mark.parametrize("path", [  # every spec but LeNet-5 is a full-size model
    pytest.param(p, id=p.stem, marks=() if p.stem == "lenet5" else pytest.mark.slow)
    for p in spec_paths()])
def test_every_zoo_model_traces_with_torch_fx(path) -> None:
    assert_traces_to_the_same(small(path))


def test_create_feature_extractor_reads_a_stage_as_torchvision_s_model_gives_it() -> None:
    """resnet18's layer3, taken by torchvision's feature extractor from the built module,
    is torchvision's resnet18's with the same weights."""
    torch.manual_seed(0)
    reference = torchvision.models.resnet18().eval()
    model = netdsl.build(SPECS / "resnet18.net").eval()
    model.load_state_dict(reference.state_dict(), strict=True)
    ours = create_feature_extractor(model, return_nodes=["layer3"])
    theirs = create_feature_extractor(reference, return_nodes=["layer3"])
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        got, expected = ours(x)["layer3"], theirs(x)["layer3"]
    assert got.shape == (1, 256, 4, 4)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)

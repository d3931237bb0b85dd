"""`netdsl.from_torch`: a model's spec round-trips. The spec is in canonical layout, its `expect`
lines hold, its parameters, buffers and MACs are the model's own (sum of numel; half of
FlopCounterMode's count), the model's state_dict loads strictly into `netdsl.build` of it, and
the built module computes the model's outputs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torchvision
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import netdsl
from netdsl.errors import Diagnostic
from netdsl.syntax.formatter import format_source
from tests.backends.pytorch import import_models


def round_trip(model: torch.nn.Module, *shapes: tuple[int, ...]) -> str:
    """Import `model` on random inputs of `shapes`, check everything the spec promises, and
    return its text."""
    torch.manual_seed(0)
    model.eval()
    xs = [torch.randn(2, *shape) for shape in shapes]
    firsts = tuple(x[:1] for x in xs)
    text = netdsl.from_torch(model, firsts if len(firsts) > 1 else firsts[0])
    assert format_source(text) == text
    network = netdsl.load(text)
    assert network.check() == []
    stats = network.stats()
    # torch's math attention kernel, whose products FlopCounterMode sees; with autograd on, as
    # nn.MultiheadAttention's fused inference path (no_grad, eval) hides them too
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(*firsts)
    assert stats.params == sum(p.numel() for p in model.parameters())
    assert stats.buffers == sum(b.numel() for b in model.buffers())
    assert stats.macs == counter.get_total_flops() // 2
    built = netdsl.build(network).eval()
    built.load_state_dict(model.state_dict(), strict=True)
    with torch.no_grad():
        expected, got = model(*xs), built(*xs)
    torch.testing.assert_close(_tensors(got), _tensors(expected), atol=1e-5, rtol=0)
    return text


def _tensors(value: object) -> list[torch.Tensor]:
    """The tensors of a forward's result in order: a dict's values, nested tuples' items."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    return [value]


def test_tiny_net_round_trips_with_a_block_and_a_repeat() -> None:
    text = round_trip(import_models.TinyNet(), (3, 32, 32))
    assert "block residual_block(" in text
    assert "residual_block(8) * 3" in text
    assert "expect params == " in text


def test_resnet18_round_trips() -> None:
    text = round_trip(torchvision.models.resnet18(), (3, 64, 64))
    assert "block basic_block(" in text


def test_resnet50_is_about_as_long_as_the_hand_written_spec() -> None:
    text = netdsl.from_torch(torchvision.models.resnet50(), torch.randn(1, 3, 64, 64))
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) < 50  # specs/resnet50.net is 21 lines; the generic Bottleneck adds 18
    assert "bottleneck(256) * 5" in text
    assert "if in.c != out * 4" in text


def test_a_class_called_on_one_tensor_or_two_and_a_class_holding_itself_round_trip() -> None:
    """timm's DLA in small: `Unit` takes a second tensor only in some places, so each way of
    calling it is a block of its own; a two-level `Tree` holds two trees, so it is written
    inline around their calls, reading its own tensors by their paths."""
    text = round_trip(import_models.TreeNet(), (3, 32, 32))
    assert "block unit(x0: tensor, x1: tensor) {" in text and "block unit2 {" in text
    assert "tree1: unit(in, project)" in text
    assert "from level2.downsample" in text  # level2's own tensor, read inside level2


def test_a_module_called_at_several_sites_is_one_shared_module() -> None:
    """A siamese network: one tower and one projection applied to both images, a module of two
    tensors applied with them swapped, a convolution applied twice inside a block. Its weights
    are counted once (torch's parameters() holds each once), load strictly, and the outputs are
    torch's (round_trip)."""
    model = import_models.Siamese()
    text = round_trip(model, (3, 8, 8), (3, 8, 8))
    assert "shared tower: tower\n    shared proj: conv(8, 1)\n    shared fuse: fuse" in text
    assert "fuse_3 = from proj_3 -> fuse(proj_3, tower_2)" in text
    assert "shared conv: conv(8, 3, p=1)\n    conv -> relu -> conv" in text
    assert f"expect params == {sum(p.numel() for p in model.parameters())}" in text


def test_a_shared_module_named_as_an_operator_leaves_the_operator_to_the_other_layers() -> None:
    """A shared module's name hides the operator of that name after its declaration: a
    shared module whose layer is that operator is declared before it, and the calls of one
    that layers of the operator follow are a group, which the module is visible in alone."""
    text = round_trip(import_models.ConvOnTwo(), (4, 8, 8), (4, 4, 4))
    assert "shared out: conv(2, 1)\n    shared conv: conv_block\n" in text
    text = round_trip(import_models.ConvTwice(), (4, 8, 8))
    assert "{\n        shared conv: conv_block\n        conv -> conv\n    }\n    out: conv(2, 1)" \
        in text


def test_each_output_made_in_a_group_is_its_own() -> None:
    """Outputs made inside a child's group (a head applied to two inputs, the items of a
    module list) are each named, not the group's first one repeated; two groups' `=` names
    are distinct, as a group does not scope them."""
    text = round_trip(import_models.TwoHeadsOnTwo(), (4, 8, 8), (4, 4, 4))
    assert "output logits_2, logits_3, logits_4, logits_5" in text
    text = round_trip(import_models.EachOutput(), (4, 8, 8))
    assert "output extra.0, extra\n" in text


def test_torchvisions_detection_heads_with_shared_towers_round_trip() -> None:
    """FCOS's head called level by level (both heads' towers named `conv`, next to their
    `conv` predictors) and RetinaNet's head with its own forward: the specs load, take the
    heads' weights strictly and compute torchvision's outputs (round_trip)."""
    levels = [(64, 8, 8), (64, 4, 4), (64, 2, 2)]
    text = round_trip(import_models.FcosLevels(), *levels)
    assert "shared cls_logits: conv(5, 3, p=1)\n        shared conv: conv_block" in text
    text = round_trip(import_models.RetinaLevels(), *[(32, *s[1:]) for s in levels])
    assert "shared bbox_reg: conv(36, 3, p=1)\n        shared conv: conv_block" in text


def test_items_of_a_module_list_called_in_a_loop_are_a_group_of_their_container() -> None:
    text = round_trip(import_models.Looped(), (3, 16, 16))
    assert "layers: {" in text and '"1": conv(8, 3, p=1)' in text and "heads: {" in text


def test_numbered_labels_that_are_no_names_stay_written_out() -> None:
    """A loop's computed label must be a name: "block1-0" .. "block1-3" (RegNet's) are four
    labeled lines, not `("block1-" + str(i)): ...`, which no spec may say."""
    text = round_trip(import_models.Dashed(), (3, 8, 8))
    assert all(f'"block1-{i}": conv(8, 3, p=1)' in text for i in range(4))
    assert "str(i" not in text


def test_a_subclass_that_only_presets_its_arguments_is_its_torch_class() -> None:
    """torchvision's video ResNets build their convolutions as Conv3DSimple, an nn.Conv3d
    that overrides only `__init__` (r3d_18 failed: "no operator for torch.conv3d"); a
    subclass with a forward of its own is not that class."""
    text = round_trip(import_models.Subclassed(), (3, 8, 8))
    assert "conv: conv(8, 3, p=1, bias=false)" in text
    with pytest.raises(netdsl.NetdslError, match="ScaledConv"):
        netdsl.from_torch(import_models.Subclassed(scaled=True), torch.randn(1, 3, 8, 8))


def test_an_interpolation_to_one_int_size_round_trips() -> None:
    text = round_trip(import_models.InterpolatedToOneSize(), (3, 8, 8))
    assert "upsample(size=20)" in text


@pytest.mark.parametrize(("what", "message"), [
    ("input", "the model returns its input as an output"),
    ("twice", "the model returns one tensor as two of its outputs")])
def test_outputs_a_spec_cannot_say_are_refused(what: str, message: str) -> None:
    """They imported as a spec with one output fewer than the model's (or, for a model that
    returns its input, with a bare `output` that does not load)."""
    with pytest.raises(netdsl.NetdslError, match=message) as caught:
        netdsl.from_torch(import_models.Returning(what), torch.randn(1, 3, 8, 8))
    span = caught.value.diagnostics[0].span  # at the forward's return
    assert span is not None and span.path.endswith("import_models.py")
    assert Path(span.path).read_text().splitlines()[span.line - 1].strip().startswith("return")


@pytest.mark.parametrize("module", [True, False])
def test_an_in_place_call_whose_input_is_read_again_is_refused(module: bool) -> None:
    """torch computes relu(2x) + relu(2x): the spec said relu(2x) + 2x, and its outputs
    differed silently."""
    with pytest.raises(netdsl.NetdslError, match="an in-place call that overwrites 'mul', "
                                                 "which is read again after it"):
        netdsl.from_torch(import_models.OverwrittenThenRead(module), torch.randn(1, 3, 8, 8))


def test_a_spec_that_would_compute_other_numbers_is_refused_not_written() -> None:
    """The importer checks what it wrote: the spec loads, builds, takes the model's weights
    strictly and gives the model's outputs on the example, or nothing is written."""
    with pytest.raises(netdsl.NetdslError, match="netdsl misread the model: its spec "
                                                 "computes output 0 differently"):
        netdsl.from_torch(import_models.LabelsAtTwoDepths(), torch.randn(1, 3, 8, 8))


def test_pooling_over_one_axis_round_trips() -> None:
    """Also: a default given as a tuple (AvgPool1d's stride, the kernel size `(2,)`) is
    compared as the value it is written as, so `s=2` is left out."""
    text = round_trip(import_models.Pooled1d(), (4, 32))
    assert "-> avgpool(2) -> maxpool(2)" in text


def test_a_slice_by_bounds_the_forward_computes_takes_their_traced_values() -> None:
    """`x[:, :half]` with `half = x.shape[1] // 2`: bounds torch.fx records as nodes (this was
    netdsl's internal error, a TypeError, on timm's PiT)."""
    text = round_trip(import_models.ComputedSlice(), (3, 8, 8))
    assert "slice(0, 4)" in text and "slice(4, 8)" in text


def test_items_of_module_lists_called_in_turn_are_a_located_error() -> None:
    with pytest.raises(netdsl.NetdslError) as caught:
        netdsl.from_torch(import_models.Interleaved(), torch.randn(1, 3, 8, 8))
    up, down = caught.value.diagnostics
    assert "the items of 'up' are called apart" in up.message
    assert "the items of 'down' are called apart" in down.message
    assert "x = down(up(x))" in open(up.span.path).read().splitlines()[up.span.line - 1]


def test_a_module_called_by_two_modules_is_a_located_error() -> None:
    with pytest.raises(netdsl.NetdslError) as caught:
        netdsl.from_torch(import_models.HeldTwice(), torch.randn(1, 3, 8, 8))
    (diagnostic,) = caught.value.diagnostics
    assert "module 'a.conv' is called from the forwards of several modules" in \
        diagnostic.message
    assert "return self.conv(x)" in open(diagnostic.span.path).read().splitlines()[
        diagnostic.span.line - 1]


def test_timms_norm_and_act_layers_are_a_norm_then_its_activation() -> None:
    from timm.layers import BatchNormAct2d, GroupNormAct, Linear
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), BatchNormAct2d(8, act_layer=torch.nn.SiLU),
        torch.nn.Conv2d(8, 8, 3), GroupNormAct(8, num_groups=2, act_layer=torch.nn.ReLU),
        torch.nn.Conv2d(8, 8, 3), BatchNormAct2d(8, apply_act=False),
        torch.nn.Flatten(), Linear(8 * 10 * 10, 4))
    text = round_trip(model, (3, 16, 16))
    assert "bn -> silu" in text and "groupnorm(2) -> relu" in text and "linear(4)" in text


def test_a_module_never_called_is_named_in_the_header_and_left_out_of_the_counts() -> None:
    """GoogLeNet's auxiliary classifiers in eval mode: the spec's `expect params` holds what
    it describes, so `netdsl check` of the imported spec passes (it failed: 13.0 M expected of
    GoogLeNet's 6.6 M described)."""
    model = import_models.WithAux()
    text = netdsl.from_torch(model, torch.randn(1, 3, 16, 16))
    assert "nor counted in the expectations (the model's state_dict holds them): aux." in text
    assert netdsl.load(text).check() == []
    described = sum(p.numel() for name, p in model.named_parameters()
                    if not name.startswith("aux."))
    assert f"expect params == {described}" in text


def test_an_unmapped_call_is_a_located_error_naming_each_call() -> None:
    with pytest.raises(netdsl.NetdslError) as caught:
        netdsl.from_torch(import_models.Unmapped(), torch.randn(1, 3, 16, 16))
    messages = [(d.message, d.span) for d in caught.value.diagnostics]
    assert len(messages) == 2
    assert "erfinv" in messages[0][0] and "model Unmapped" in messages[0][0]
    assert messages[0][1].path.endswith("import_models.py")
    assert messages[0][1].line != messages[1][1].line


def test_an_untraceable_model_is_a_located_error_naming_the_module() -> None:
    with pytest.raises(netdsl.NetdslError) as caught:
        netdsl.from_torch(import_models.Branchy(), torch.randn(1, 3, 16, 16))
    (diagnostic,) = caught.value.diagnostics
    assert "module 'inner.1' (Gate)" in diagnostic.message
    assert diagnostic.span.path.endswith("import_models.py")
    assert "if x.sum() > 0" in open(diagnostic.span.path).read().splitlines()[
        diagnostic.span.line - 1]


# Every torchvision model the zoo describes (specs/), and some that no spec here describes.
TORCHVISION: dict[str, tuple[Callable[[], torch.nn.Module], tuple[int, ...]]] = {
    name: (getattr(torchvision.models, name), (3, 64, 64)) for name in (
        "alexnet", "vgg11", "vgg13", "vgg16", "vgg16_bn", "vgg19", "resnet34", "resnet50",
        "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2", "densenet121",
        "densenet161", "densenet169", "densenet201", "mobilenet_v2", "mobilenet_v3_large",
        "mobilenet_v3_small", "efficientnet_b0", "efficientnet_v2_s", "shufflenet_v2_x1_0",
        "convnext_tiny", "swin_t", "regnet_y_400mf")
}
TORCHVISION |= {
    "googlenet": (lambda: torchvision.models.googlenet(aux_logits=False, init_weights=False),
                  (3, 64, 64)),
    "inception_v3": (lambda: torchvision.models.inception_v3(aux_logits=False,
                                                             init_weights=False), (3, 96, 96)),
    "vit_b_16": (torchvision.models.vit_b_16, (3, 224, 224)),
    "fcn_resnet50": (lambda: torchvision.models.segmentation.fcn_resnet50(
        weights_backbone=None), (3, 64, 64)),
    "deeplabv3_resnet50": (lambda: torchvision.models.segmentation.deeplabv3_resnet50(
        weights_backbone=None), (3, 64, 64)),
    # two maps of its backbone (an IntermediateLayerGetter) read by the head: once an `output`
    # in the backbone's group, which made them the network's, and unlabeled, which no path
    # can name
    "r3d_18": (torchvision.models.video.r3d_18, (3, 4, 32, 32)),
    "lraspp_mobilenet_v3_large": (
        lambda: torchvision.models.segmentation.lraspp_mobilenet_v3_large(
            weights_backbone=None), (3, 64, 64)),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_model_round_trips(name: str) -> None:
    factory, shape = TORCHVISION[name]
    round_trip(factory(), shape)


TIMM = ("resnet50d", "resnet26t", "seresnext26d_32x4d", "dla34", "regnetx_002", "rexnet_100",
        "tf_efficientnet_b0")


@pytest.mark.slow
@pytest.mark.parametrize("name", TIMM)
def test_timm_model_no_spec_describes_round_trips(name: str) -> None:
    import timm  # a test dependency (pyproject: test extras)
    round_trip(timm.create_model(name, pretrained=False), (3, 64, 64))


def test_python_names_that_are_reserved_words_become_names() -> None:
    text = round_trip(import_models.Network(), (3, 8, 8))
    assert "network network_ {" in text and "input input_: [3, 8, 8]" in text
    assert '"input": conv(8, 3)' in text


def test_a_network_name_that_is_no_name_is_refused() -> None:
    with pytest.raises(netdsl.NetdslError, match="'my net' is not a name of the language"):
        netdsl.from_torch(import_models.Network(), torch.randn(1, 3, 8, 8), name="my net")


def _refusal(model: torch.nn.Module, *shape: int) -> Diagnostic:
    """The one located error importing `model` gives, and the line of its source it is at."""
    with pytest.raises(netdsl.NetdslError) as caught:
        netdsl.from_torch(model, torch.randn(1, *shape))
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.span is not None and diagnostic.span.path.endswith("import_models.py")
    return diagnostic


def _line(diagnostic: Diagnostic) -> str:
    return Path(diagnostic.span.path).read_text().splitlines()[diagnostic.span.line - 1]


@pytest.mark.parametrize(("how", "call"), [
    ("softmax", "a softmax over"), ("cat", "a concatenation along"),
    ("module", "a softmax over"), ("flatten", "a flatten that merges")])
def test_a_call_over_the_batch_axis_is_a_located_refusal(how: str, call: str) -> None:
    """torch's dim 0 is the batch: `softmax(dim=0)` was imported as a softmax over the
    channels, which torch computes alike at batch 1 only, so the import's check passed and the
    spec was silently wrong; `nn.Flatten(0)` was an unlocated "misread". A module is named
    with its class (`1` of a Sequential says little)."""
    model = import_models.OverTheBatch(how)
    x = torch.randn(2, 3, 4, 4)
    if how != "cat":
        with torch.no_grad():  # torch mixes the samples: the first's output depends on both
            assert not torch.allclose(model(x)[:1], model(x[:1]))
    diagnostic = _refusal(model, 3, 4, 4)
    assert f"{call} the batch axis (dim=0)" in diagnostic.message
    assert {"module": "self.softmax(", "flatten": "self.flatten("}.get(how, "dim=0)") in \
        _line(diagnostic)
    assert how != "flatten" or "cannot import `flatten` (Flatten)" in diagnostic.message


def test_the_import_checks_itself_on_a_batch_of_two_different_samples() -> None:
    """A model whose calls mix the samples of a batch in a way no rule refuses (a reshape of
    batch 1 that looks like a flatten) is refused by the import's own check, which runs on two
    samples: at batch 1 it agreed, and the spec was silently wrong."""
    class Mixed(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(x).reshape(1, -1).softmax(-1)
    with pytest.raises(netdsl.NetdslError, match="a reshape that changes the batch axis"):
        netdsl.from_torch(Mixed(), torch.randn(1, 3, 4))


@pytest.mark.parametrize("how", ["swapped", "nested", "dict"])
def test_outputs_are_written_in_the_order_the_forward_returns_them(how: str) -> None:
    """`return torch.sigmoid(f), f` was `output conv, sigmoid`, then refused as a misread;
    outputs nested in a tuple (or a dict's tuple) were netdsl's internal error."""
    text = round_trip(import_models.ReturnedInOrder(how), (3, 4, 4))
    assert {"swapped": "output sigmoid, conv", "nested": "output conv, relu, sigmoid",
            "dict": "output conv, sigmoid, relu"}[how] in text


def test_items_of_some_of_the_tensors_chunk_returns_import_or_are_refused() -> None:
    """`torch.cat(x.chunk(2, dim=1)[::-1], dim=1)` was netdsl's internal error (a TypeError)."""
    text = round_trip(import_models.Swapped(listed=True), (6, 4, 4))
    assert "slice(4, 6)" in text and "slice(2, 4)" in text
    diagnostic = _refusal(import_models.Swapped(listed=False), 4, 4, 4)
    assert "a concatenation of a sequence of tensors that the forward does not list" in \
        diagnostic.message and "[::-1]" in _line(diagnostic)


def test_an_input_named_like_a_child_is_renamed() -> None:
    """`self.x` with `forward(self, x)`: the spec labeled both `x` and did not load."""
    text = round_trip(import_models.NamedLikeTheInput(), (3, 4, 4))
    assert "input x2: [3, 4, 4]" in text and "x: conv(4, 1)" in text
    assert "input_: conv(4, 1)" in text


def test_a_tied_weight_is_the_languages_tie_or_a_located_refusal() -> None:
    """The decoder holds the encoder's weight: torch counts it once, the spec counted it twice
    and failed its own `expect params`; now `weight=enc`, checked by `netdsl check`."""
    model = import_models.TiedAutoencoder()
    text = round_trip(model, (16,))
    assert "dec: linear(16, weight=enc)" in text
    assert f"expect params == {sum(p.numel() for p in model.parameters())}" in text
    diagnostic = _refusal(import_models.TiedAutoencoder(conv=True), 4, 3, 3)
    assert "it shares its weight with module 'enc' (tied weights)" in diagnostic.message
    assert "self.dec(torch.relu(self.enc(x)))" in _line(diagnostic)


def test_the_items_a_module_returns_besides_its_output_that_nobody_reads_are_left_out() -> None:
    """`y, _ = pool(x)` was refused as "attention weights"; `y[..., 0]` as "indexing of the
    batch axis"; an LSTM gave a second, bogus error besides its own."""
    text = round_trip(import_models.PooledWithIndices(), (3, 4, 4))
    assert "maxpool(2, indices=true) -> select(0, axis=2)" in text
    diagnostic = _refusal(import_models.PooledWithIndices(lstm=True), 5, 8)
    assert "netdsl has no operator for torch.nn.modules.rnn.LSTM" in diagnostic.message


def test_a_call_no_operator_describes_is_reported_once_for_every_instance() -> None:
    """MaxViT's unmapped einsum was 176 errors, one per attention layer."""
    diagnostic = _refusal(import_models.OddTwice(), 3)
    assert "erfinv" in diagnostic.message and "(and 1 more call of this line)" in \
        diagnostic.message


def test_elementwise_arithmetic_round_trips_bit_for_bit() -> None:
    """`x - y`, `1 - z`, `x / 3`, `x + 1.0`, `-x` and torch's spellings were refused ("no
    operator"); a division by a power of two is a product, by anything else a quotient, so the
    spec computes what the model does to the last bit."""
    model = import_models.Arithmetic()
    text = round_trip(model, (3, 8, 8))
    for written in ("sub(mean, broadcast=true)", "scale(-1) -> shift(1) -> mul", "scale(0.5)",
                    "scale(3, divide=true)", "shift(1.0) -> scale(-1)", "shift(-0.5)",
                    "div(add_4)", "scale(0.25)", "scale(0.1, divide=true)"):
        assert written in text
    built = netdsl.build(netdsl.load(text)).eval()
    built.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(built(x), model(x))


@pytest.mark.parametrize(("kind", "message"), [
    ("alpha", "sub with alpha=2"), ("floor", "div with rounding_mode='floor'"),
    ("reciprocal", "div of int 2 by a tensor")])
def test_arithmetic_the_language_has_no_operator_for_is_a_located_refusal(
        kind: str, message: str) -> None:
    diagnostic = _refusal(import_models.OddArithmetic(kind), 3, 4, 4)
    assert message in diagnostic.message and "return" in _line(diagnostic)


@pytest.mark.parametrize("how", ["cat", "cat_relu", "residual"])
@pytest.mark.parametrize("n", [2, 3])
def test_merges_among_the_items_of_a_module_list_keep_the_items_torchs_names(
        how: str, n: int) -> None:
    """A dense loop `x = torch.cat([x, layer(x)], 1)` was refused as a misread: the merge
    after `layers.0` took position 1 of the group, the name of the next convolution. A merge
    there is labeled and written inline (`concat: concat("1": conv(...))`), its branch in the
    group's scope: the state_dict loads strictly (round_trip), at two sizes."""
    model = import_models.DenseLoop(how, n)
    text = round_trip(model, (3, 8, 8))
    round_trip(model, (3, 12, 12))
    op = "add" if how == "residual" else "concat"
    assert f'{op}_2: {op}("1": conv(' in text if how != "cat_relu" else \
        '"1": conv(' in text  # a relu takes position 1: `relu: relu`, the merges stay


def test_a_refused_shared_module_is_located_at_the_call_of_the_module_that_calls_it() -> None:
    """It was located in the shared module's own forward, which shares the file."""
    diagnostic = _refusal(import_models.BlockTwice(), 3, 8, 8)
    assert "module 'block' is called at several sites" in diagnostic.message
    assert "return self.block(self.block(x))" in _line(diagnostic)


@pytest.mark.parametrize("imports", [True, False])
def test_importing_leaves_each_module_in_the_mode_it_was_in(imports: bool) -> None:
    """`from_torch` left the model in eval mode, an import that failed too."""
    model = import_models.TinyNet() if imports else import_models.Unmapped()
    model.train()
    next(model.children()).eval()
    modes = {name: m.training for name, m in model.named_modules()}
    try:
        netdsl.from_torch(model, torch.randn(1, 3, 16, 16))
    except netdsl.NetdslError:
        assert not imports
    assert {name: m.training for name, m in model.named_modules()} == modes
    assert model.training and not next(model.children()).training


def test_arithmetic_that_leaves_a_tensor_as_it_is_is_no_layer() -> None:
    """`sum(b(x) for b in self.branches)` starts from 0: it left a `shift(0)`."""
    text = round_trip(import_models.SummedBranches(), (3, 8, 8))
    assert "shift" not in text and "scale" not in text
    assert "branches: {\n        add {\n" in text


def test_layers_after_the_loop_over_a_module_list_follow_its_group() -> None:
    """`x.mean((2, 3))` after `for b in self.blocks` was in the group (`blocks.3`, a name the
    model has not, counted in the group's totals); the loop's own `relu` stays in it."""
    text = round_trip(import_models.PooledAfterLoop(), (3, 8, 8))
    assert '"1": conv(3, 1) -> relu\n    }\n    sigmoid -> adaptive_avgpool(1) -> flatten\n' \
        in text


def test_group_norm_as_timms_modules_and_as_a_function_round_trips() -> None:
    """timm's GroupNorm1 (PoolFormer's) calls F.group_norm, which had no mapping."""
    text = round_trip(import_models.GroupNormed(), (3, 8, 8))
    assert "norm1: groupnorm(1) -> norm2: groupnorm(2)" in text
    assert "groupnorm(2, eps=0.001, affine=false)" in text
    diagnostic = _refusal(import_models.GroupNormed(passed=True), 3, 8, 8)
    assert "a group norm of weights the forward passes in" in diagnostic.message


def test_a_layer_norm_without_bias_round_trips() -> None:
    """nn.LayerNorm(bias=False) was refused: the operator had no `bias`."""
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.LayerNorm(8, bias=False))
    assert "layernorm(bias=false)" in round_trip(model, (5, 8))


class _TokenMean(torch.nn.Module):
    """An MLP-Mixer's or a ViT's average over the tokens: `x.mean(dim=1)`."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x).mean(dim=1)


def test_a_mean_over_the_tokens_round_trips() -> None:
    """It was refused as 'a mean over axes other than all the spatial ones'."""
    assert "fc: linear(8) -> mean(0)" in round_trip(_TokenMean(), (5, 8))

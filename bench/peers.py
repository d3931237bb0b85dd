"""The tools people use today to count params and MACs, each driven the way its README shows.

Every counter builds the model itself (a user must), runs the tool, and returns
(MACs, params) as that tool reports them. Imports happen inside the functions, so a process
that runs one counter imports only torch, torchvision and that tool.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

# thop leaves counting buffers on the modules, so it runs last when a model is shared.
PEERS = ["torchinfo", "fvcore", "ptflops", "torchscan", "FlopCounterMode", "thop"]

# torchvision constructor keyword arguments that make the model match the zoo spec.
TORCHVISION_KWARGS: dict[str, dict[str, Any]] = {
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "init_weights": False},
    "fcn_resnet50": {"aux_loss": False, "weights_backbone": None},
    "deeplabv3_resnet50": {"aux_loss": False, "weights_backbone": None},
}
# torchvision publishes its segmentation models' figures at 520x520 and EfficientNetV2-S's at
# its evaluation size, 384 x 384.
INPUT_SIZES = {"inception_v3": (3, 299, 299), "preact_resnet1001": (3, 32, 32),
               "fcn_resnet50": (3, 520, 520), "deeplabv3_resnet50": (3, 520, 520),
               "efficientnet_v2_s": (3, 384, 384)}


def input_size(model: str) -> tuple[int, int, int]:
    return INPUT_SIZES.get(model, (3, 224, 224))


def build_model(model: str) -> Any:
    """The PyTorch reference for a zoo name: torchvision's, or the hand-written deep one."""
    if model == "preact_resnet1001":
        from deep_models import preact_resnet_torch
        return preact_resnet_torch(1001)
    import torchvision
    return torchvision.models.get_model(model, weights=None, **TORCHVISION_KWARGS.get(model, {}))


def _model(model: str, net: Any) -> Any:
    return build_model(model) if net is None else net


def _torchinfo(model: str, net: Any = None) -> tuple[int, int]:
    from torchinfo import summary
    info = summary(_model(model, net), input_size=(1, *input_size(model)), verbose=0)
    return int(info.total_mult_adds), int(info.total_params)


def _fvcore(model: str, net: Any = None) -> tuple[int, int]:
    import torch
    from fvcore.nn import FlopCountAnalysis, parameter_count
    net = _model(model, net).eval()
    analysis = FlopCountAnalysis(net, torch.zeros(1, *input_size(model)))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return int(analysis.total()), int(parameter_count(net)[""])


def _thop(model: str, net: Any = None) -> tuple[int, int]:
    import torch
    from thop import profile
    x = torch.zeros(1, *input_size(model))
    macs, params = profile(_model(model, net).eval(), inputs=(x,), verbose=False)
    return int(macs), int(params)


def _ptflops(model: str, net: Any = None) -> tuple[int, int]:
    from ptflops import get_model_complexity_info
    macs, params = get_model_complexity_info(_model(model, net).eval(), input_size(model),
                                             as_strings=False, print_per_layer_stat=False,
                                             verbose=False)
    return int(macs), int(params)


def _torchscan(model: str, net: Any = None) -> tuple[int, int]:
    from torchscan import crawl_module
    totals = crawl_module(_model(model, net).eval(), input_size(model))["totals"]
    return int(totals["macs"]["value"]), int(totals["parameters"]["value"])


def _flop_counter_mode(model: str, net: Any = None) -> tuple[int, int]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    net = _model(model, net).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, *input_size(model)))
    return counter.get_total_flops() // 2, sum(p.numel() for p in net.parameters())


COUNTERS: dict[str, Callable[..., tuple[int, int]]] = {
    "torchinfo": _torchinfo, "fvcore": _fvcore, "thop": _thop, "ptflops": _ptflops,
    "torchscan": _torchscan, "FlopCounterMode": _flop_counter_mode,
}


def available() -> list[str]:
    """The peers that import in this environment (FlopCounterMode ships with torch)."""
    import importlib.util
    return [p for p in PEERS if p == "FlopCounterMode" or importlib.util.find_spec(p)]


def process_argv(peer: str, model: str) -> list[str]:
    """A whole `python -c` process that imports the tool, builds the model and counts."""
    code = (f"import sys; sys.path.insert(0, {str(_here())!r}); import warnings; "
            f"warnings.filterwarnings('ignore'); import peers; "
            f"print(*peers.COUNTERS[{peer!r}]({model!r}))")
    return [sys.executable, "-c", code]


def _here() -> str:
    from pathlib import Path
    return str(Path(__file__).resolve().parent)

"""GPT-2 small against a plain torch rebuild written here from Radford et al. 2019 (and the
layout of OpenAI's released model): token and position embeddings, pre-norm layers of causal
self-attention (torch's scaled_dot_product_attention) and a GELU MLP, a final norm, and logits
by the token embedding's own weight (tied).

The spec ties lm_head to wte (`weight=wte`): its parameters equal the rebuild's, counted once,
and the built module holds one shared tensor, as torch's own tying does.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import netdsl
from tests.backends.pytorch.conftest import generated_model
from tests.conftest import SPECS


class Layer(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(width)
        self.c_attn = nn.Linear(width, 3 * width)
        self.c_proj = nn.Linear(width, width)
        self.ln_2 = nn.LayerNorm(width)
        self.c_fc = nn.Linear(width, 4 * width)
        self.mlp_proj = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, width = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(width, dim=2)
        q, k, v = (t.view(n, length, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.c_proj(attended.transpose(1, 2).reshape(n, length, width))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT2(nn.Module):
    def __init__(self, vocab: int, context: int, layers: int, heads: int, width: int):
        super().__init__()
        self.wte = nn.Embedding(vocab, width)
        self.wpe = nn.Parameter(torch.randn(context, width) * 0.01)
        self.h = nn.ModuleList(Layer(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.wte(tokens) + self.wpe
        for layer in self.h:
            x = layer(x)
        return self.ln_f(x) @ self.wte.weight.T


def spec_weights(rebuild: GPT2) -> dict[str, torch.Tensor]:
    """The rebuild's weights under the spec's names (lm_head gets wte's)."""
    out = {"wte.weight": rebuild.wte.weight, "wpe": rebuild.wpe,
           "ln_f.weight": rebuild.ln_f.weight, "ln_f.bias": rebuild.ln_f.bias,
           "lm_head.weight": rebuild.wte.weight}
    names = {"ln_1": "ln_1", "c_attn": "attn.in_proj", "c_proj": "attn.out_proj",
             "ln_2": "ln_2", "c_fc": "mlp.c_fc", "mlp_proj": "mlp.c_proj"}
    for i, layer in enumerate(rebuild.h):
        for ours_name, theirs in names.items():
            module = getattr(layer, ours_name)
            if theirs == "attn.in_proj":
                out[f"h.{i}.attn.in_proj_weight"] = module.weight
                out[f"h.{i}.attn.in_proj_bias"] = module.bias
            else:
                out[f"h.{i}.{theirs}.weight"] = module.weight
                out[f"h.{i}.{theirs}.bias"] = module.bias
    return out


def check(sizes: dict, folder, batch: int) -> None:
    torch.manual_seed(0)
    rebuild = GPT2(sizes["vocab"], sizes["context"], sizes["num_layers"], sizes["num_heads"],
                   sizes["width"]).eval()
    network = netdsl.load(SPECS / "gpt2_small.net", **sizes)
    stats = network.stats()
    tokens = torch.randint(0, sizes["vocab"], (batch, sizes["context"]))
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        rebuild(tokens[:1])
    tied = sum(p.numel() for p in rebuild.parameters())
    assert stats.params == tied
    assert stats.macs == counter.get_total_flops() // 2
    weights = spec_weights(rebuild)
    # logits reach hundreds (embeddings of unit variance, tied): float32 rounding is relative
    for model in (netdsl.build(network), generated_model(network, folder, "gpt2")):
        assert model.lm_head.weight is model.wte.weight
        assert sum(p.numel() for p in model.parameters()) == tied  # torch counts it once too
        model.eval().load_state_dict(weights, strict=True)
        with torch.no_grad():
            torch.testing.assert_close(model(tokens), rebuild(tokens), atol=1e-4, rtol=1e-5)


def test_small_gpt2_matches_a_torch_rebuild(tmp_path) -> None:
    check(dict(vocab=50, context=8, num_layers=2, num_heads=2, width=16, drop=0.1), tmp_path,
          batch=3)


@pytest.mark.slow
def test_gpt2_small_matches_a_torch_rebuild(tmp_path) -> None:
    network = netdsl.load(SPECS / "gpt2_small.net")
    assert network.check() == []
    assert network.stats().params == 124_439_808  # Radford et al.'s GPT-2 small
    check(dict(vocab=50257, context=1024, num_layers=12, num_heads=12, width=768, drop=0.1),
          tmp_path, batch=1)

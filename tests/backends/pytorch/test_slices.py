"""A list of tensors sliced in a spec (`features[1:]`, `inner[::-1]`, `feats[:-1]`) lowers to
the layers on the chosen tensors: the built module and the generated file compute what torch
computes with the same weights on those tensors."""

from __future__ import annotations

import torch
import torch.nn.functional as F

import netdsl
from tests.backends.pytorch.conftest import generated_model

SPEC = """block top_down(features: tensors, width: int = 8) {
    inner: [from f -> conv(width, 1) for f in features[1:]]
    rev = inner[::-1]
    from rev[0] -> upsample(2) -> add(rev[1])
}
network n {
    input x: [3, 16, 16]
    a: conv(4, 3, p=1)
    b: conv(4, 3, p=1)
    c: conv(6, 3, s=2, p=1)
    feats = [a, b, c]
    m: top_down(feats)
    heads: [from t -> conv(2, 1) for t in feats[:-1]]
    y = from feats[::-1][0] -> relu
    output m, heads, y
}"""


def test_sliced_lists_of_tensors_compute_what_torch_computes(tmp_path):
    net = netdsl.load(SPEC)
    x = torch.randn(2, 3, 16, 16)
    for model in (netdsl.build(net).eval(), generated_model(net, tmp_path, "slices").eval()):
        s = model.state_dict()

        def conv(t, name, s=s, **kw):
            return F.conv2d(t, s[f"{name}.weight"], s[f"{name}.bias"], **kw)

        a = conv(x, "a", padding=1)
        b = conv(a, "b", padding=1)
        c = conv(b, "c", stride=2, padding=1)
        top = F.interpolate(conv(c, "m.inner.1"), scale_factor=2) + conv(b, "m.inner.0")
        with torch.no_grad():
            m, head0, head1, y = model(x)
        torch.testing.assert_close(m, top, rtol=0, atol=1e-5)
        torch.testing.assert_close(head0, conv(a, "heads.0"), rtol=0, atol=1e-6)
        torch.testing.assert_close(head1, conv(b, "heads.1"), rtol=0, atol=1e-6)
        torch.testing.assert_close(y, F.relu(c), rtol=0, atol=0)
        assert sum(p.numel() for p in model.parameters()) == net.stats().params

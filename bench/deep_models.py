"""The deep network for the speed benchmark when the zoo has no deeper spec: a pre-activation
ResNet for CIFAR-10 (He et al. 2016, "Identity Mappings in Deep Residual Networks"), as a spec and
as a hand-written PyTorch module with the same layers, so the peers can measure it too.
"""

from __future__ import annotations

from typing import Any

PREACT_SPEC = """\
block preact_bottleneck(planes: int, s: int = 1) {
    out = planes * 4
    add {
        { bn1: bn -> relu -> conv1: conv(planes, 1, bias=false)
          bn2: bn -> relu -> conv2: conv(planes, 3, s=s, p=1, bias=false)
          bn3: bn -> relu -> conv3: conv(out, 1, bias=false) }
        if s != 1 or in.c != out { shortcut: conv(out, 1, s=s, bias=false) } else { identity }
    }
}

block preact_stage(planes: int, n: int, s: int = 1) {
    preact_bottleneck(planes, s)
    preact_bottleneck(planes) * (n - 1)
}

network preact_resnet(depth: int = 1001, classes: int = 10) {
    input x: [3, 32, 32]
    n = (depth - 2) // 9
    conv1: conv(16, 3, p=1, bias=false)
    layer1: preact_stage(16, n)
    layer2: preact_stage(32, n, s=2)
    layer3: preact_stage(64, n, s=2)
    bn: bn -> relu -> adaptive_avgpool(1) -> flatten
    fc: linear(classes)
}
"""


def preact_resnet_torch(depth: int = 1001, classes: int = 10) -> Any:
    """The same network as PREACT_SPEC, written by hand in PyTorch."""
    from torch import nn

    class Bottleneck(nn.Module):
        def __init__(self, cin: int, planes: int, stride: int):
            super().__init__()
            out = planes * 4
            self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, planes, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
            self.bn3, self.conv3 = nn.BatchNorm2d(planes), nn.Conv2d(planes, out, 1, bias=False)
            self.relu = nn.ReLU()
            self.shortcut = (nn.Conv2d(cin, out, 1, stride, bias=False)
                             if stride != 1 or cin != out else nn.Identity())

        def forward(self, x):
            y = self.conv1(self.relu(self.bn1(x)))
            y = self.conv2(self.relu(self.bn2(y)))
            y = self.conv3(self.relu(self.bn3(y)))
            return y + self.shortcut(x)

    n = (depth - 2) // 9
    layers: list[nn.Module] = [nn.Conv2d(3, 16, 3, padding=1, bias=False)]
    cin = 16
    for planes, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(n):
            layers.append(Bottleneck(cin, planes, stride if i == 0 else 1))
            cin = planes * 4
    layers += [nn.BatchNorm2d(cin), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Linear(cin, classes)]
    return nn.Sequential(*layers)

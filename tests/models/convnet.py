"""Convnets exported from torch: a tiny MobileNet-like net for tests, and
torchvision's MobileNetV2 / ResNet-50 (random weights, fixed seed) for the full set."""
from __future__ import annotations

import torch
from torch import nn


class TinyConvNet(nn.Module):
    """Stem conv 3x3 s2 -> inverted residual (1x1 expand, depthwise 3x3, 1x1 project,
    residual add) -> conv 3x3 with dilation and groups -> pools -> classifier."""

    def __init__(self, classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6())
        self.expand = nn.Sequential(nn.Conv2d(16, 48, 1, bias=False), nn.BatchNorm2d(48), nn.ReLU6())
        self.depthwise = nn.Sequential(nn.Conv2d(48, 48, 3, 1, 1, groups=48, bias=False), nn.BatchNorm2d(48),
                                       nn.ReLU6())
        self.project = nn.Sequential(nn.Conv2d(48, 16, 1, bias=False), nn.BatchNorm2d(16))
        self.grouped = nn.Sequential(nn.Conv2d(16, 32, 3, 1, 2, dilation=2, groups=2), nn.Hardswish())
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.avg = nn.AvgPool2d(2, 1)
        self.head = nn.Linear(32, classes)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.project(self.depthwise(self.expand(x)))
        x = self.avg(self.pool(self.grouped(x)))
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return torch.softmax(self.head(x), dim=-1)


def _randomize_bn(model: nn.Module) -> None:
    # Fresh BatchNorm has mean 0 / var 1: perturb so folding or a kernel bug would show.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.running_mean, std=0.1)
            nn.init.uniform_(m.running_var, 0.5, 1.5)
            nn.init.normal_(m.weight, mean=1.0, std=0.1)
            nn.init.normal_(m.bias, std=0.1)


def export(model: nn.Module, path: str, opset: int, size: int) -> None:
    model = model.eval()
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        torch.onnx.export(model, (x,), path, opset_version=opset, do_constant_folding=True,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})


def export_tiny(path: str, opset: int, seed: int = 0) -> None:
    torch.manual_seed(seed)
    m = TinyConvNet()
    _randomize_bn(m)
    export(m, path, opset, size=32)


def export_torchvision(name: str, path: str, opset: int, seed: int = 0) -> None:
    import torchvision

    torch.manual_seed(seed)
    m = getattr(torchvision.models, name)(weights=None)
    _randomize_bn(m)
    export(m, path, opset, size=224)

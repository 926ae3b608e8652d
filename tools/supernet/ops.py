"""The DARTS operators as torch modules (after the DARTS repository's ``operations.py``).

One table, :data:`OPS`, builds every operator for both the supernet and the standalone
network, so that a path of the supernet and the standalone network compute the same thing.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from lapt.spaces.darts import OPS as OP_NAMES


class ReLUConvBN(nn.Sequential):
    """ReLU, convolution, batch norm."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(nn.ReLU(), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
                         nn.BatchNorm2d(c_out))


class DilConv(nn.Sequential):
    """ReLU, depthwise (dilated) convolution, pointwise convolution, batch norm."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 dilation: int) -> None:
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(c_in, c_in, kernel, stride, padding, dilation=dilation, groups=c_in,
                      bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )


class SepConv(nn.Sequential):
    """Two stacked separable convolutions (the first carries the stride)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(DilConv(c_in, c_in, kernel, stride, padding, 1),
                         DilConv(c_in, c_out, kernel, 1, padding, 1))


class Zero(nn.Module):
    """The ``none`` operator: zeros of the output's shape."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, ::self.stride, ::self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """Halve the spatial size with two offset strided 1x1 convolutions, concatenated."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        if x.shape[-1] % 2:
            x = nn.functional.pad(x, (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


OPS: dict[str, Callable[[int, int], nn.Module]] = {
    "none": lambda c, stride: Zero(stride),
    "max_pool_3x3": lambda c, stride: nn.MaxPool2d(3, stride, padding=1),
    "avg_pool_3x3": lambda c, stride: nn.AvgPool2d(3, stride, padding=1,
                                                   count_include_pad=False),
    "skip_connect": lambda c, stride: nn.Identity() if stride == 1 else FactorizedReduce(c, c),
    "sep_conv_3x3": lambda c, stride: SepConv(c, c, 3, stride, 1),
    "sep_conv_5x5": lambda c, stride: SepConv(c, c, 5, stride, 2),
    "dil_conv_3x3": lambda c, stride: DilConv(c, c, 3, stride, 2, 2),
    "dil_conv_5x5": lambda c, stride: DilConv(c, c, 5, stride, 4, 2),
}
"""Operator name -> constructor ``(channels, stride) -> module``, in the space's op order."""


def make_op(name: str, channels: int, stride: int) -> nn.Module:
    """Build operator ``name`` on ``channels`` channels with ``stride`` (1 or 2)."""
    if name not in OPS:
        raise ValueError(f"unknown DARTS operator {name!r}; valid: {', '.join(OP_NAMES)}")
    return OPS[name](channels, stride)

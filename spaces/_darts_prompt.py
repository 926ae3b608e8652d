"""The DARTS space as a runnable PyTorch class: the Analyst's prompt (the paper's Fig. 2)."""

from __future__ import annotations

OP_CODE = {
    "none": "lambda C, stride: Zero(stride)",
    "max_pool_3x3": "lambda C, stride: nn.MaxPool2d(3, stride, padding=1)",
    "avg_pool_3x3": "lambda C, stride: nn.AvgPool2d(3, stride, padding=1, "
                    "count_include_pad=False)",
    "skip_connect": "lambda C, stride: nn.Identity() if stride == 1 else "
                    "FactorizedReduce(C, C)",
    "sep_conv_3x3": "lambda C, stride: SepConv(C, 3, stride, 1)",
    "sep_conv_5x5": "lambda C, stride: SepConv(C, 5, stride, 2)",
    "dil_conv_3x3": "lambda C, stride: DilConv(C, 3, stride, 2, 2)",
    "dil_conv_5x5": "lambda C, stride: DilConv(C, 5, stride, 4, 2)",
}

CLASS_TEMPLATE = '''\
import torch
import torch.nn as nn


def DilConv(C, k, stride, pad, dil):
    return nn.Sequential(nn.ReLU(), nn.Conv2d(C, C, k, stride, pad, dilation=dil, groups=C,
                                              bias=False),
                         nn.Conv2d(C, C, 1, bias=False), nn.BatchNorm2d(C))


def SepConv(C, k, stride, pad):
    return nn.Sequential(DilConv(C, k, stride, pad, 1), DilConv(C, k, 1, pad, 1))


class Zero(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x[:, :, ::self.stride, ::self.stride] * 0.0


class FactorizedReduce(nn.Module):
    def __init__(self, C_in, C_out):
        super().__init__()
        self.relu = nn.ReLU()
        self.c1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.c2 = nn.Conv2d(C_in, C_out - C_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(C_out)

    def forward(self, x):
        x = self.relu(x)
        return self.bn(torch.cat([self.c1(x), self.c2(x[:, :, 1:, 1:])], dim=1))


OPS = {
{OPS}
}


class Cell(nn.Module):
    """A DARTS cell. Nodes 0 and 1 are the outputs of the two previous cells (C channels
    each); nodes 2..5 each sum two operations applied to two distinct earlier nodes; the
    output concatenates nodes 2..5 (4*C channels). A reduction cell halves the spatial
    size: its operations on nodes 0 and 1 use stride 2."""

    def __init__(self, layer_list, C, reduction):
        # layer_list: 8 (op, source) pairs: node 2 input 0, node 2 input 1, node 3 input 0,
        # ..., node 5 input 1. Node k's sources are among 0..k-1, input 0's below input 1's.
        super().__init__()
        self.sources = [src for _, src in layer_list]
        self.ops = nn.ModuleList(
            OPS[op](C, 2 if reduction and src < 2 else 1) for op, src in layer_list)

    def forward(self, s0, s1):
        states = [s0, s1]
        for k in range(4):
            a, b = 2 * k, 2 * k + 1
            states.append(self.ops[a](states[self.sources[a]])
                          + self.ops[b](states[self.sources[b]]))
        return torch.cat(states[2:], dim=1)


class Network(nn.Module):
    """The 16-layer list of an architecture: the normal cell's 8 pairs, then the reduction
    cell's 8 pairs."""

    def __init__(self, layer_list, C=8, in_channels=3):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, C, 3, padding=1, bias=False)
        self.normal = Cell(layer_list[:8], C, reduction=False)
        self.reduce = Cell(layer_list[8:], C, reduction=True)
        self.pre = nn.Conv2d(4 * C, C, 1, bias=False)

    def forward(self, x):
        x = self.stem(x)
        x = self.pre(self.normal(x, x))
        return self.reduce(x, x)
'''

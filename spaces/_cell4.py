"""The 4-node cell that NAS-Bench-201 and TransNAS-Bench-101 micro share, and the PyTorch
code of their common operators (one place for both spaces' class prompts).

Layers are the edges 0->1, 0->2, 1->2, 0->3, 1->3, 2->3; node 0 is the cell input,
node 3 its output; a node sums its incoming edges.
"""

from __future__ import annotations

EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
INPUT_NODES = (0,)
OUTPUT_NODE = 3

OP_COMMENTS = {
    "none": "zero: cuts the edge (outputs zeros)",
    "skip_connect": "identity: passes the input unchanged",
    "nor_conv_1x1": "ReLU -> 1x1 convolution -> batch norm",
    "nor_conv_3x3": "ReLU -> 3x3 convolution -> batch norm",
    "avg_pool_3x3": "3x3 average pooling, stride 1",
}
"""One line per operator, used in the Python class prompt."""

OP_CODE = {
    "none": "lambda C: Zero()",
    "skip_connect": "lambda C: nn.Identity()",
    "nor_conv_1x1": "lambda C: ReLUConvBN(C, 1)",
    "nor_conv_3x3": "lambda C: ReLUConvBN(C, 3)",
    "avg_pool_3x3": "lambda C: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)",
}
"""Per operator, a constructor taking the channel count C (helpers: ``Zero``, ``ReLUConvBN``)."""

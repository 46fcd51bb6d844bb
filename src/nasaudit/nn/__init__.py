"""Torch modules: the primitive-op registry, cells shared with supernets, and the macro networks."""

from nasaudit.nn.cells import DartsCellModule, Edge, EdgeFactory, NB201CellModule, primitive_edges
from nasaudit.nn.darts_net import DartsNetworkCIFAR, DartsNetworkImageNet
from nasaudit.nn.nb101_net import NB101Network
from nasaudit.nn.nb201_net import NB201Network
from nasaudit.nn.networks import build_network, count_flops, count_parameters
from nasaudit.nn.ops import OP_NAMES, get_op

__all__ = [
    "OP_NAMES",
    "DartsCellModule",
    "DartsNetworkCIFAR",
    "DartsNetworkImageNet",
    "Edge",
    "EdgeFactory",
    "NB101Network",
    "NB201CellModule",
    "NB201Network",
    "build_network",
    "count_flops",
    "count_parameters",
    "get_op",
    "primitive_edges",
]

"""A reference PyTorch implementation of NAS-Bench-201's network (its TinyNetwork), for the tests.

It reproduces the module structure of NAS-Bench-201's code (xautodl: cell_operations.py,
cell_infers/cells.py, cell_infers/tiny_network.py) for the five ops of its search space, written
independently of Nascent's IR, so that the tests can compare Nascent's cell space against it.

Usage as a script (JSON on stdin, JSON on stdout):
  {"jobs": [{"arch": "|nor_conv_3x3~0|+|...|", "C": 16, "N": 5, "classes": 10,
             "input_shape": [C_in, H, W],
             "weights": {"<nascent weight name>": {"shape": [...], "data": [...]}},   (optional)
             "inputs": [...flat pixels...], "count": n}]}                            (optional)
  -> {"results": [{"params": int, "live_params": int, "logits": [[...]] (with weights),
                   "unmatched": [nascent names with no NAS-Bench-201 tensor],
                   "live_not_loaded": [NAS-Bench-201 live parameters that got no weights]}]}

params counts every parameter of NAS-Bench-201's module, as its API does; live_params leaves out
the ReLU-conv-BN edges whose convolution gets an exactly zero gradient (their input is always zero,
or their output reaches the cell's output only through `none` edges), found by back-propagation.
"""
import json
import sys

import torch
import torch.nn as nn

SEARCH_SPACE = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


class ReLUConvBN(nn.Module):
    def __init__(self, C_in, C_out, kernel_size, stride, padding, dilation, affine=True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, dilation=dilation,
                      bias=not affine),
            nn.BatchNorm2d(C_out, affine=affine, track_running_stats=True),
        )

    def forward(self, x):
        return self.op(x)


class Identity(nn.Module):
    def forward(self, x):
        return x


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


class Pooling(nn.Module):
    """NAS-Bench-201's POOLING for C_in == C_out (no preprocess), mode avg."""

    def __init__(self, stride):
        super().__init__()
        self.op = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)

    def forward(self, x):
        return self.op(x)


def make_op(name, C, stride=1):
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(C, C, (1, 1), (stride, stride), (0, 0), (1, 1))
    if name == "nor_conv_3x3":
        return ReLUConvBN(C, C, (3, 3), (stride, stride), (1, 1), (1, 1))
    if name == "avg_pool_3x3":
        return Pooling(stride)
    raise ValueError(f"unknown op {name}")


class ResNetBasicblock(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        assert stride == 2
        self.conv_a = ReLUConvBN(inplanes, planes, 3, stride, 1, 1)
        self.conv_b = ReLUConvBN(planes, planes, 3, 1, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(inplanes, planes, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, inputs):
        basicblock = self.conv_b(self.conv_a(inputs))
        return self.downsample(inputs) + basicblock


def parse_arch(text):
    """NAS-Bench-201's str2structure: a list per node 1..3 of (op, input node)."""
    genotype = []
    for node_str in text.split("+"):
        inputs = [x for x in node_str.split("|") if x != ""]
        node = []
        for item in inputs:
            op, index = item.split("~")
            assert op in SEARCH_SPACE, op
            node.append((op, int(index)))
        genotype.append(node)
    return genotype


class InferCell(nn.Module):
    def __init__(self, genotype, C):
        super().__init__()
        self.layers = nn.ModuleList()
        self.node_IX = []
        self.node_IN = []
        for node_info in genotype:
            cur_index, cur_innod = [], []
            for op_name, op_in in node_info:
                cur_index.append(len(self.layers))
                cur_innod.append(op_in)
                self.layers.append(make_op(op_name, C))
            self.node_IX.append(cur_index)
            self.node_IN.append(cur_innod)

    def forward(self, inputs):
        nodes = [inputs]
        for node_layers, node_innods in zip(self.node_IX, self.node_IN):
            nodes.append(sum(self.layers[il](nodes[ii]) for il, ii in zip(node_layers, node_innods)))
        return nodes[-1]


class TinyNetwork(nn.Module):
    def __init__(self, C, N, genotype, num_classes, C_in=3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(C_in, C, kernel_size=3, padding=1, bias=False),
                                  nn.BatchNorm2d(C))
        layer_channels = [C] * N + [C * 2] + [C * 2] * N + [C * 4] + [C * 4] * N
        layer_reductions = [False] * N + [True] + [False] * N + [True] + [False] * N
        C_prev = C
        self.cells = nn.ModuleList()
        for C_curr, reduction in zip(layer_channels, layer_reductions):
            if reduction:
                self.cells.append(ResNetBasicblock(C_prev, C_curr, 2))
            else:
                self.cells.append(InferCell(genotype, C_curr))
            C_prev = C_curr
        self.lastact = nn.Sequential(nn.BatchNorm2d(C_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    def forward(self, inputs):
        feature = self.stem(inputs)
        for cell in self.cells:
            feature = cell(feature)
        out = self.global_pooling(self.lastact(feature))
        return self.classifier(out.view(out.size(0), -1))


EDGE_NAMES = ["e01", "e02", "e12", "e03", "e13", "e23"]  # InferCell's layer order
OP_SUFFIX = {"nor_conv_1x1": "conv1", "nor_conv_3x3": "conv3"}


def nascent_names(net, genotype, N):
    """NAS-Bench-201 tensor name -> the name Nascent's cell space gives the same tensor."""
    ops = [op for node in genotype for op, _ in node]
    prefixes = {"stem.0": "stem_conv", "stem.1": "stem_bn", "lastact.0": "head_bn",
                "classifier": "head_fc"}
    reduction = 0
    for k, cell in enumerate(net.cells):
        stage, position = k // (N + 1) + 1, k % (N + 1) + 1
        if isinstance(cell, ResNetBasicblock):
            reduction += 1
            r = f"r{reduction}"
            prefixes.update({f"cells.{k}.conv_a.op.1": f"{r}_conv_a", f"cells.{k}.conv_a.op.2": f"{r}_conv_a_bn",
                             f"cells.{k}.conv_b.op.1": f"{r}_conv_b", f"cells.{k}.conv_b.op.2": f"{r}_conv_b_bn",
                             f"cells.{k}.downsample.1": f"{r}_down_conv"})
            continue
        for layer, op in enumerate(ops):
            if op in OP_SUFFIX:
                base = f"s{stage}c{position}_{EDGE_NAMES[layer]}_{OP_SUFFIX[op]}"
                prefixes[f"cells.{k}.layers.{layer}.op.1"] = base
                prefixes[f"cells.{k}.layers.{layer}.op.2"] = f"{base}_bn"
    names = {}
    for name in net.state_dict():
        module, _, tensor = name.rpartition(".")
        if module in prefixes:
            names[name] = f"{prefixes[module]}.{tensor}"
    return names


def dead_edge_modules(net, input_shape):
    """ReLU-conv-BN edge modules whose convolution gets an exactly zero gradient."""
    net.eval()
    net.zero_grad()
    torch.manual_seed(0)
    net(torch.randn(2, *input_shape)).sum().backward()
    dead = []
    for module in net.modules():
        if isinstance(module, InferCell):
            for layer in module.layers:
                if isinstance(layer, ReLUConvBN):
                    grad = layer.op[1].weight.grad
                    if grad is None or not bool(grad.ne(0).any()):
                        dead.append(layer)
    net.zero_grad()
    return dead


def run(job):
    genotype = parse_arch(job["arch"])
    input_shape = job["input_shape"]
    torch.manual_seed(1)
    net = TinyNetwork(job["C"], job["N"], genotype, job["classes"], C_in=input_shape[0])
    params = sum(p.numel() for p in net.parameters())
    dead = dead_edge_modules(net, input_shape)
    dead_params = {id(p) for module in dead for p in module.parameters()}
    live = [(name, p) for name, p in net.named_parameters() if id(p) not in dead_params]
    result = {"params": params, "live_params": sum(p.numel() for _, p in live)}
    if "weights" in job:
        names = nascent_names(net, genotype, job["N"])
        by_nascent = {v: k for k, v in names.items()}
        state = net.state_dict()
        loaded = set()
        unmatched = []
        for name, tensor in job["weights"].items():
            target = by_nascent.get(name)
            if target is None:
                unmatched.append(name)
                continue
            state[target] = torch.tensor(tensor["data"], dtype=torch.float32).reshape(tensor["shape"])
            loaded.add(target)
        net.load_state_dict(state)
        result["unmatched"] = unmatched
        result["live_not_loaded"] = [name for name, _ in live if name not in loaded]
        net.eval()
        x = torch.tensor(job["inputs"], dtype=torch.float32).reshape([job["count"], *input_shape])
        with torch.no_grad():
            result["logits"] = net(x).tolist()
    return result


def main():
    torch.set_num_threads(1)  # small networks; the tests share the machine
    jobs = json.load(sys.stdin)["jobs"]
    json.dump({"results": [run(job) for job in jobs]}, sys.stdout)


if __name__ == "__main__":
    main()

"""A reference PyTorch implementation of Nascent's architecture IR (format nascent-ir/1).

Independent of the native engine: the tests use it to check parameter counts and forward outputs
of libtorch against PyTorch, and the benchmarks to time the same model in PyTorch eager.

Usage as a script (JSON on stdin, JSON on stdout):
  {"architecture": {...}, "weights": {"name": {"shape": [...], "data": [...]}}, "inputs": [[...]],
   "input_shape": [N, C, H, W]}
  -> {"params": int, "param_shapes": {"name": [...]}, "logits": [[...]]}
"""
import json
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

ACTIVATIONS = {
    "relu": F.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "swish": F.silu,
    "gelu": F.gelu,
    "elu": F.elu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.01),
}


def _window(size, kernel, stride, dilation, padding):
    """Output size and (before, after) padding; 'same' follows Keras: ceil(in/stride)."""
    span = (kernel - 1) * dilation + 1
    if padding == "same":
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + span - size, 0)
        return out, total // 2, total - total // 2
    pad = 0 if padding == "valid" else int(padding)
    return (size + 2 * pad - span) // stride + 1, pad, pad


class IrNet(nn.Module):
    def __init__(self, arch):
        super().__init__()
        if arch.get("format") != "nascent-ir/1":
            raise ValueError("not a nascent-ir/1 architecture")
        self.arch = arch
        self.layers = {}
        self.pads = {}
        shapes = {}
        for node in arch["nodes"]:
            op, nid = node["op"], node["id"]
            ins = [shapes[i] for i in node["inputs"]]
            if op == "input":
                i = arch["input"]
                shape = ("map", i["channels"], i["height"], i["width"])
            elif op == "conv2d":
                _, c, h, w = ins[0]
                oh, pt, pb = _window(h, node["kernel"], node["stride"], node["dilation"], node["padding"])
                ow, pl, pr = _window(w, node["kernel"], node["stride"], node["dilation"], node["padding"])
                self.pads[nid] = (pl, pr, pt, pb)
                self.layers[nid] = nn.Conv2d(c, node["filters"], node["kernel"], stride=node["stride"],
                                             dilation=node["dilation"], groups=node["groups"], bias=node["bias"])
                shape = ("map", node["filters"], oh, ow)
            elif op in ("maxpool2d", "avgpool2d"):
                _, c, h, w = ins[0]
                oh, pt, _ = _window(h, node["kernel"], node["stride"], 1, node["padding"])
                ow, pl, _ = _window(w, node["kernel"], node["stride"], 1, node["padding"])
                self.pads[nid] = (pt, pl)
                shape = ("map", c, oh, ow)
            elif op == "global_avg_pool":
                shape = ("flat", ins[0][1])
            elif op == "batchnorm":
                x = ins[0]
                self.layers[nid] = nn.BatchNorm2d(x[1]) if x[0] == "map" else nn.BatchNorm1d(x[1])
                shape = x
            elif op == "flatten":
                x = ins[0]
                shape = ("flat", x[1] * x[2] * x[3]) if x[0] == "map" else x
            elif op == "dense":
                self.layers[nid] = nn.Linear(ins[0][1], node["units"], bias=node["bias"])
                shape = ("flat", node["units"])
            elif op == "concat":
                x = ins[0]
                total = sum(s[1] for s in ins)
                shape = ("map", total, x[2], x[3]) if x[0] == "map" else ("flat", total)
            else:  # activation, dropout, add
                shape = ins[0]
            shapes[nid] = shape
        # registered under the node ids, so state_dict names equal the native engine's
        for nid, layer in self.layers.items():
            self.add_module(nid, layer)

    def glorot_(self):
        for layer in self.layers.values():
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(layer.weight)
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)
        return self

    def forward(self, x):
        values = {}
        for node in self.arch["nodes"]:
            op, nid = node["op"], node["id"]
            ins = [values[i] for i in node["inputs"]]
            if op == "input":
                y = x
            elif op == "conv2d":
                pl, pr, pt, pb = self.pads[nid]
                src = ins[0]
                if (pl, pr, pt, pb) != (0, 0, 0, 0):
                    src = F.pad(src, (pl, pr, pt, pb))
                y = self.layers[nid](src)
            elif op == "maxpool2d":
                y = F.max_pool2d(ins[0], node["kernel"], node["stride"], self.pads[nid])
            elif op == "avgpool2d":
                y = F.avg_pool2d(ins[0], node["kernel"], node["stride"], self.pads[nid], count_include_pad=False)
            elif op == "global_avg_pool":
                y = ins[0].mean(dim=(2, 3))
            elif op in ("batchnorm", "dense"):
                y = self.layers[nid](ins[0])
            elif op == "dropout":
                y = F.dropout(ins[0], node["rate"], self.training)
            elif op == "flatten":
                y = torch.flatten(ins[0], 1)
            elif op == "activation":
                y = ACTIVATIONS[node["fn"]](ins[0])
            elif op == "add":
                y = ins[0]
                for other in ins[1:]:
                    y = y + other
            elif op == "concat":
                y = torch.cat(ins, 1)
            else:
                raise ValueError(f"unknown op {op}")
            values[nid] = y
        self.values = values  # every node's output, for proxies that read inner tensors (AZ-NAS)
        return values[self.arch["output"]]


def main():
    job = json.load(sys.stdin)
    net = IrNet(job["architecture"])
    out = {
        "params": sum(p.numel() for p in net.parameters()),
        "param_shapes": {k: list(v.shape) for k, v in net.state_dict().items() if v.is_floating_point()},
    }
    if "weights" in job:
        state = net.state_dict()
        for name, tensor in job["weights"].items():
            state[name] = torch.tensor(tensor["data"], dtype=torch.float32).reshape(tensor["shape"])
        net.load_state_dict(state)
        net.eval()
        x = torch.tensor(job["inputs"], dtype=torch.float32).reshape(job["input_shape"])
        with torch.no_grad():
            out["logits"] = net(x).tolist()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

"""Reference implementations of Nascent's training-free proxies in plain PyTorch and NumPy.

Written after the published code of each proxy, independently of the native engine, so the tests
can check the engine's scores against them on the same weights and the same batch:
- grad_norm, snip, synflow: as in zero-cost-nas (Abdelfattah et al. 2021), per Conv2d/Linear layer;
- jacob_cov: as in zero-cost-nas / NASWOT v1 (np.corrcoef, eigenvalues, k = 1e-5);
- naswot: as in NASWOT (Mellor et al. 2021): hooks on the activations' inputs, K = c c' + (1-c)(1-c)',
  np.linalg.slogdet;
- ntk_cond: as in TE-NAS (Chen et al. 2021): per-sample gradients of the logits' sum w.r.t. the
  parameters named *weight, eigenvalues of their Gram matrix, largest / smallest.
Synflow runs batch norm in eval mode (Nascent's documented choice; zero-cost-nas builds its
NAS-Bench-201 networks without batch norm for synflow).

Usage (JSON on stdin, JSON on stdout):
  {"architecture": {...}, "weights": {"name": {"shape": [...], "data": [...]}},
   "images": [...], "input_shape": [N, C, H, W], "labels": [...]}
  -> {"grad_norm": x, "snip": x, "synflow": x, "jacob_cov": x, "naswot": x, "ntk_cond": x}
"""
import copy
import json
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import nascent_ir


def scored_layers(net):
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def grad_norm(net, x, y):
    net.train()
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    return float(sum(layer.weight.grad.norm() for layer in scored_layers(net)))


def snip(net, x, y):
    net.train()
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    return float(sum((layer.weight.grad * layer.weight).abs().sum() for layer in scored_layers(net)))


def synflow(net, x):
    net = copy.deepcopy(net).double()
    with torch.no_grad():
        for param in net.state_dict().values():
            if param.is_floating_point():
                param.abs_()
    net.eval()
    net.zero_grad()
    out = net(torch.ones([1] + list(x.shape[1:]), dtype=torch.float64))
    torch.sum(out).backward()
    return float(sum((layer.weight * layer.weight.grad).abs().sum() for layer in scored_layers(net)))


def jacob_cov(net, x):
    net.train()
    net.zero_grad()
    x = x.clone().requires_grad_(True)
    y = net(x)
    y.backward(torch.ones_like(y))
    jacobian = x.grad.detach().reshape(x.shape[0], -1).numpy().astype(np.float64)
    correlations = np.corrcoef(jacobian)
    v = np.linalg.eigvalsh(correlations)
    k = 1e-5
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


def naswot(net, x):
    n = x.shape[0]
    kernel = np.zeros((n, n))
    originals = dict(nascent_ir.ACTIVATIONS)

    def hooked(fn):
        def apply(inp):
            c = (inp.detach().reshape(n, -1) > 0).double().numpy()
            kernel[:] += c @ c.T + (1.0 - c) @ (1.0 - c).T
            return fn(inp)

        return apply

    for name, fn in originals.items():
        nascent_ir.ACTIVATIONS[name] = hooked(fn)
    try:
        net.train()
        with torch.no_grad():
            net(x)
    finally:
        nascent_ir.ACTIVATIONS.update(originals)
    return float(np.linalg.slogdet(kernel)[1])


def ntk_cond(net, x):
    net.train()
    logits = net(x)
    grads = []
    for i in range(x.shape[0]):
        net.zero_grad()
        logits[i:i + 1].backward(torch.ones_like(logits[i:i + 1]), retain_graph=True)
        grads.append(torch.cat([p.grad.reshape(-1).detach() for name, p in net.named_parameters()
                                if "weight" in name and p.grad is not None]))
    g = torch.stack(grads).double()
    eigenvalues = torch.linalg.eigvalsh(g @ g.t())
    return float(eigenvalues[-1] / eigenvalues[0])


def main():
    job = json.load(sys.stdin)
    net = nascent_ir.IrNet(job["architecture"])
    state = net.state_dict()
    for name, tensor in job["weights"].items():
        state[name] = torch.tensor(tensor["data"], dtype=torch.float32).reshape(tensor["shape"])
    net.load_state_dict(state)
    x = torch.tensor(job["images"], dtype=torch.float32).reshape(job["input_shape"])
    y = torch.tensor(job["labels"], dtype=torch.int64)
    # Each proxy on a fresh copy: forward passes in train mode move batch norm's running statistics.
    fresh = lambda: copy.deepcopy(net)  # noqa: E731
    out = {
        "grad_norm": grad_norm(fresh(), x, y),
        "snip": snip(fresh(), x, y),
        "synflow": synflow(fresh(), x),
        "jacob_cov": jacob_cov(fresh(), x),
        "naswot": naswot(fresh(), x),
        "ntk_cond": ntk_cond(fresh(), x),
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

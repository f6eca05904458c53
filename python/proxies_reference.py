"""Reference implementations of Nascent's training-free proxies in plain PyTorch and NumPy.

Written after the published code of each proxy, independently of the native engine, so the tests
can check the engine's scores against them on the same weights and the same batch:
- grad_norm, snip, synflow: as in zero-cost-nas (Abdelfattah et al. 2021), per Conv2d/Linear layer;
  grad_norm and snip with split_data = 2 (the halves' gradients accumulated);
- jacob_cov: as in zero-cost-nas / NASWOT v1 (np.corrcoef, eigenvalues, k = 1e-5);
- naswot: as in NASWOT (Mellor et al. 2021): hooks on the activations' inputs, K = c c' + (1-c)(1-c)',
  np.linalg.slogdet;
- ntk_cond: as in TE-NAS (Chen et al. 2021): per-sample gradients of the logits' sum w.r.t. the
  parameters named *weight, eigenvalues of their Gram matrix, largest / smallest; with batch norm's
  batch statistics held constant (Nascent's definition, which makes the samples independent), here
  by a backward pass per sample as TE-NAS computes it (the engine uses one pass for all).
- zico: as in ZiCo (Li et al. 2023), the batch in 2 splits, but each split's gradient from zeroed
  gradients (the paper's definition; the published script accumulates them across splits);
- meco: as in MeCo (Jiang et al. 2023), forward hooks (here on the Conv2d layers), the first
  sample's channel correlation matrix, its smallest eigenvalue, summed;
- swap: as in SWAP (Peng et al. 2024), distinct activation sign patterns over the batch (np.unique).
- az_expressivity, az_progressivity, az_trainability: as in AZ-NAS (Lee & Ham 2024), from the outputs
  of the blocks named in the job (the cells' features), in float64; the random +-1 gradients of
  trainability drawn from a splitmix64 hash of (seed, block, element) so both sides use the same.
Synflow runs batch norm in eval mode (Nascent's documented choice; zero-cost-nas builds its
NAS-Bench-201 networks without batch norm for synflow).

Usage (JSON on stdin, JSON on stdout):
  {"architecture": {...}, "weights": {"name": {"shape": [...], "data": [...]}},
   "images": [...], "input_shape": [N, C, H, W], "labels": [...], "blocks": [ids], "seed": s}
  -> {"grad_norm": x, "snip": x, "synflow": x, "jacob_cov": x, "naswot": x, "ntk_cond": x,
      "zico": x, "meco": x, "swap": x, "az_expressivity": x, "az_progressivity": x,
      "az_trainability": x}
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


def split_backward(net, x, y, splits=2):
    """zero-cost-nas's split_data: each split's loss backward, the gradients accumulating."""
    net.train()
    net.zero_grad()
    n = x.shape[0]
    for sp in range(splits):
        st, en = sp * n // splits, (sp + 1) * n // splits
        F.cross_entropy(net(x[st:en]), y[st:en]).backward()


def grad_norm(net, x, y):
    split_backward(net, x, y)
    return float(sum(layer.weight.grad.norm() for layer in scored_layers(net)))


def snip(net, x, y):
    split_backward(net, x, y)
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


def swap(net, x):
    """SWAP (Peng et al. 2024): sign patterns of the activations over the batch, one per neuron;
    the number of distinct ones. Nascent's activations: the pattern of their inputs (x > 0)."""
    n = x.shape[0]
    patterns = []
    originals = dict(nascent_ir.ACTIVATIONS)

    def hooked(fn):
        def apply(inp):
            patterns.append((inp.detach().reshape(n, -1) > 0).numpy())
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
    neurons = np.concatenate(patterns, axis=1).T
    return float(np.unique(neurons, axis=0).shape[0])


def meco(net, x):
    """MeCo (Jiang et al. 2023): forward hooks on the convolutions; the first sample's feature map,
    channels x positions, its correlation matrix (NaN/inf -> 0), the minimum (real) eigenvalue,
    summed over layers."""
    results = []

    def hook(module, inputs, output):
        fea = output[0].detach().double()
        fea = fea.reshape(fea.shape[0], -1)
        corr = torch.corrcoef(fea)
        corr[torch.isnan(corr)] = 0
        corr[torch.isinf(corr)] = 0
        values = torch.linalg.eig(corr)[0]
        results.append(float(torch.min(torch.real(values))))

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.Conv2d)]
    try:
        net.train()
        with torch.no_grad():
            net(x)
    finally:
        for handle in handles:
            handle.remove()
    return float(np.sum(results))


def zico(net, x, y, splits=2):
    """ZiCo (Li et al. 2023): per-weight gradients of each split of the batch (each from the same
    weights), mean |g| / std g over the splits (np.std, ddof 0) where std != 0, log of the sum per
    Conv2d/Linear layer, summed."""
    net.train()
    per_layer = {}
    n = x.shape[0]
    for sp in range(splits):
        st, en = sp * n // splits, (sp + 1) * n // splits
        net.zero_grad()
        F.cross_entropy(net(x[st:en]), y[st:en]).backward()
        for i, layer in enumerate(scored_layers(net)):
            per_layer.setdefault(i, []).append(layer.weight.grad.detach().reshape(-1).double().numpy().copy())
    total = 0.0
    for grads in per_layer.values():
        grads = np.array(grads)
        std = np.std(grads, axis=0)
        nonzero = np.nonzero(std)[0]
        mean_abs = np.mean(np.abs(grads), axis=0)
        tmpsum = np.sum(mean_abs[nonzero] / std[nonzero])
        if tmpsum != 0:
            total += np.log(tmpsum)
    return float(total)


def hold_batch_statistics(net):
    """Batch norm with the batch's mean and biased variance as constants (not differentiated)."""
    for module in net.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            def forward(x, module=module):
                dims = [0, 2, 3] if x.dim() == 4 else [0]
                shape = [1, -1] + [1] * (x.dim() - 2)
                mean = x.detach().mean(dims, keepdim=True)
                var = x.detach().var(dims, unbiased=False, keepdim=True)
                y = (x - mean) / torch.sqrt(var + module.eps)
                if module.affine:
                    y = y * module.weight.reshape(shape) + module.bias.reshape(shape)
                return y
            module.forward = forward
    return net


def ntk_cond(net, x):
    net.train()
    hold_batch_statistics(net)
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


def rademacher(shape, seed, stream):
    """+-1 from the top bit of splitmix64(seed * G + stream * H + element index), mod 2^64."""
    count = int(np.prod(shape))
    with np.errstate(over="ignore"):
        base = np.uint64((seed * 0x9E3779B97F4A7C15 + stream * 0xD1B54A32D192ED03) % 2**64)
        z = base + np.arange(count, dtype=np.uint64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    signs = np.where((z >> np.uint64(63)) != 0, 1.0, -1.0).astype(np.float32)
    return torch.from_numpy(signs).reshape(shape)


def az_nas(net, x, blocks, seed):
    """AZ-NAS (Lee & Ham 2024, compute_az_nas_score): expressivity and progressivity from the
    eigenvalue entropy of each block's features, trainability from block-to-block gradients."""
    net.train()
    net(x)
    features = [net.values[b] for b in blocks]
    entropies = []
    with torch.no_grad():
        for feat in features:
            feat = feat.detach().double()
            b, c, h, w = feat.size()
            feat = feat.permute(0, 2, 3, 1).contiguous().view(b * h * w, c)
            feat = feat - feat.mean(dim=0, keepdim=True)
            sigma = torch.mm(feat.transpose(1, 0), feat) / feat.size(0)
            s = torch.linalg.eigvalsh(sigma)
            p = s / s.sum()
            entropies.append(float((-p * torch.log(p + 1e-8)).sum()))
    entropies = np.array(entropies)
    scores = []
    for i in reversed(range(1, len(features))):
        f_out, f_in = features[i], features[i - 1]
        if f_out is f_in:
            scores.append(-np.inf)
            continue
        g_out = rademacher(tuple(f_out.shape), seed, i)
        g_in = torch.autograd.grad(outputs=f_out, inputs=f_in, grad_outputs=g_out, retain_graph=True)[0]
        if g_out.size() == g_in.size() and torch.all(g_in == g_out):
            scores.append(-np.inf)
            continue
        if g_out.size(2) != g_in.size(2) or g_out.size(3) != g_in.size(3):
            # Nascent's extension for sizes that do not divide (valid padding): cut to a multiple.
            stride = g_in.size(2) // g_out.size(2)
            g_in = g_in[:, :, : stride * g_out.size(2), : stride * g_out.size(3)]
            g_in = nn.PixelUnshuffle(stride)(g_in)
        bo, co, ho, wo = g_out.size()
        bi, ci, hi, wi = g_in.size()
        g_out = g_out.double().permute(0, 2, 3, 1).contiguous().view(bo * ho * wo, co)
        g_in = g_in.double().permute(0, 2, 3, 1).contiguous().view(bi * hi * wi, ci)
        mat = torch.mm(g_in.transpose(1, 0), g_out) / (bo * ho * wo)
        s = torch.linalg.svdvals(mat).max().item()
        scores.append(-s - 1 / (s + 1e-6) + 2)
    return {
        "az_expressivity": float(np.sum(entropies)),
        "az_progressivity": float(np.min(entropies[1:] - entropies[:-1])),
        "az_trainability": float(np.mean(scores)),
    }


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
        "zico": zico(fresh(), x, y),
        "meco": meco(fresh(), x),
        "swap": swap(fresh(), x),
        **az_nas(fresh(), x, job["blocks"], job["seed"]),
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

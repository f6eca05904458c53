"""Times PyTorch eager training steps of a Nascent IR architecture on one device.

Reads one JSON job on stdin: {"architecture", "device", "batch_size", "steps", "warmup_steps",
"count", "seed", "repetitions"}, writes one JSON result on stdout. The data are random images and
labels resident on the device, as in bench/gpu/run.ts's Nascent side: the step cost is what is
measured, not the data pipeline. Same optimizer and settings as bench/engine-throughput.
"""

import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from nascent_ir import IrNet  # noqa: E402  the project's PyTorch reference of the IR


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_steps(net, x_all, y_all, batch_size, steps, seed, device):
    """`steps` AdamW steps over a seeded permutation; returns (images, seconds, mean loss)."""
    n = x_all.shape[0]
    synchronize(device)
    start = time.perf_counter()
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7, weight_decay=1e-9
    )
    generator = torch.Generator().manual_seed(seed)
    permutation = torch.randperm(n, generator=generator).to(device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    seen = 0
    net.train()
    for batch in range(steps):
        begin = (batch * batch_size) % n
        end = min(n, begin + batch_size)
        index = permutation[begin:end]
        x = x_all.index_select(0, index)
        y = y_all.index_select(0, index)
        optimizer.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        seen += end - begin
        loss_sum += loss.detach().to(torch.float64) * float(end - begin)
    mean_loss = loss_sum.item() / seen
    synchronize(device)
    return seen, time.perf_counter() - start, mean_loss


def main():
    job = json.load(sys.stdin)
    device = torch.device(job["device"])
    seed = int(job.get("seed", 1))
    torch.manual_seed(seed)
    arch = job["architecture"]
    shape = arch["input"]
    count = int(job["count"])
    x_all = torch.randn(count, shape["channels"], shape["height"], shape["width"], device=device)
    y_all = torch.randint(0, int(job["classes"]), (count,), device=device)
    net = IrNet(arch).glorot_().to(device)
    batch_size = int(job["batch_size"])
    warmup = int(job.get("warmup_steps", 0))
    warmup_seconds = 0.0
    if warmup > 0:
        _, warmup_seconds, _ = train_steps(net, x_all, y_all, batch_size, warmup, seed, device)
    rates, losses = [], []
    for rep in range(int(job.get("repetitions", 1))):
        images, seconds, loss = train_steps(
            net, x_all, y_all, batch_size, int(job["steps"]), seed + 1 + rep, device
        )
        rates.append(images / seconds)
        losses.append(loss)
    json.dump(
        {
            "images_per_second": rates,
            "mean_loss": losses,
            "warmup_seconds": warmup_seconds,
            "params": sum(p.numel() for p in net.parameters()),
            "torch_version": torch.__version__,
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()

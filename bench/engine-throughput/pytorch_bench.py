#!/usr/bin/python3
"""PyTorch eager side of bench/engine-throughput.

Run with Debian's python3-torch (/usr/bin/python3). Reads one JSON job from the file named by the
first argument, or from stdin when there is none (or it is "-"), and prints one JSON object on
stdout. Progress and warnings go to stderr.

Jobs:

  {"mode": "info"}
      -> {"torch_version", "blas_info", "num_threads_default", "mkldnn"}

  {"mode": "train", "architecture": <nascent-ir/1>, "threads": 1, "batch_size": 128,
   "steps": 100, "warmup_steps": 10, "repetitions": 1, "seed": 1,
   "data_dir": "/usr/share/datasets/fashion-mnist"}
      -> {"images_per_second": [...], "seconds": [...], "images": N, "params": P, ...}

  {"mode": "peak", "threads": [1, 2], "size": 4096, "repetitions": 5,
   "blas_size": 1024, "blas_repetitions": 3}
      -> {"peak": [{"threads", "onednn": {...}, "blas": {...}}], ...}

The training loop mirrors the native engine (native/nascent.cc, TrainWorker::Execute) step for
step: a fresh AdamW per measured run, one shuffled permutation of the resident training set, then
per step index_select of the batch, zero_grad, forward, cross_entropy, backward, optimizer step,
and the same running loss / accuracy bookkeeping. Nothing is compiled or scripted: this is
PyTorch eager as users run it.
"""

import gzip
import json
import math
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------
# Data


def _open_idx(directory, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            if name.endswith(".gz"):
                with gzip.open(path, "rb") as handle:
                    return handle.read()
            with open(path, "rb") as handle:
                return handle.read()
    raise FileNotFoundError("no %s(.gz) in %s" % (stem, directory))


def _parse_idx(raw, expected_dims):
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError("not an unsigned-byte IDX file")
    dims = raw[3]
    if dims != expected_dims:
        raise ValueError("IDX file has %d dimensions, expected %d" % (dims, expected_dims))
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    offset = 4 + 4 * dims
    data = np.frombuffer(raw, dtype=np.uint8, count=int(np.prod(shape)), offset=offset)
    return data.reshape(shape)


def load_fashion_mnist_train(directory):
    """The 60,000 training images as one resident float32 N x 1 x 28 x 28 tensor in [0, 1]."""
    images = _parse_idx(_open_idx(directory, "train-images-idx3-ubyte"), 3)
    labels = _parse_idx(_open_idx(directory, "train-labels-idx1-ubyte"), 1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError("image and label counts differ")
    x = torch.from_numpy(images.astype(np.float32)).div_(255.0)
    x = x.reshape(images.shape[0], 1, images.shape[1], images.shape[2]).contiguous()
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


# ---------------------------------------------------------------------------------------------
# The IR interpreted as an nn.Module


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from nascent_ir import IrNet  # noqa: E402  the project's PyTorch reference of the IR


def train_run(net, x_all, y_all, batch_size, steps, seed):
    """One engine-style training run of `steps` steps; returns (images, seconds, mean loss)."""
    n = x_all.shape[0]
    start = time.perf_counter()
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7, weight_decay=1e-9
    )
    generator = torch.Generator().manual_seed(seed)
    permutation = torch.randperm(n, generator=generator)
    loss_sum = torch.zeros((), dtype=torch.float64)
    correct = torch.zeros((), dtype=torch.int64)
    seen = 0
    steps = min(steps, math.ceil(n / batch_size))
    net.train()
    for batch in range(steps):
        begin = batch * batch_size
        end = min(n, begin + batch_size)
        index = permutation[begin:end]
        x = x_all.index_select(0, index)
        y = y_all.index_select(0, index)
        optimizer.zero_grad()
        logits = net(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        seen += end - begin
        loss_sum += loss.detach().to(torch.float64) * float(end - begin)
        correct += logits.detach().argmax(1).eq(y).sum()
    mean_loss = loss_sum.item() / seen if seen else float("nan")
    correct.item()
    return seen, time.perf_counter() - start, mean_loss


def job_train(job):
    threads = int(job["threads"])
    torch.set_num_threads(threads)
    seed = int(job.get("seed", 1))
    torch.manual_seed(seed)
    batch_size = int(job.get("batch_size", 128))
    steps = int(job["steps"])
    warmup = int(job.get("warmup_steps", 0))
    repetitions = int(job.get("repetitions", 1))
    data_dir = job.get("data_dir", "/usr/share/datasets/fashion-mnist")

    load_start = time.perf_counter()
    x_all, y_all = load_fashion_mnist_train(data_dir)
    load_seconds = time.perf_counter() - load_start
    net = IrNet(job["architecture"]).glorot_()
    params = sum(p.numel() for p in net.parameters())

    warmup_seconds = 0.0
    if warmup > 0:
        _, warmup_seconds, _ = train_run(net, x_all, y_all, batch_size, warmup, seed)
    rates, seconds, losses = [], [], []
    images = 0
    for rep in range(repetitions):
        images, secs, loss = train_run(net, x_all, y_all, batch_size, steps, seed + 1 + rep)
        rates.append(images / secs)
        seconds.append(secs)
        losses.append(loss)
    return {
        "images_per_second": rates,
        "seconds": seconds,
        "images": images,
        "steps": min(steps, math.ceil(x_all.shape[0] / batch_size)),
        "batch_size": batch_size,
        "params": params,
        "threads": torch.get_num_threads(),
        "warmup_seconds": warmup_seconds,
        "load_seconds": load_seconds,
        "mean_loss": losses,
        "torch_version": torch.__version__,
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES"),
    }


# ---------------------------------------------------------------------------------------------
# Peak matrix-product throughput


def _time_reps(fn, repetitions):
    fn()  # warm-up: first call allocates and picks kernels
    out = []
    for _ in range(repetitions):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def job_peak(job):
    size = int(job.get("size", 4096))
    reps = int(job.get("repetitions", 5))
    blas_size = int(job.get("blas_size", 1024))
    blas_reps = int(job.get("blas_repetitions", 3))
    results = []
    for threads in job.get("threads", [1, 2]):
        torch.set_num_threads(int(threads))
        torch.manual_seed(0)
        entry = {"threads": torch.get_num_threads()}
        # oneDNN's sgemm (what the convolutions run on), through an mkldnn-layout Linear.
        if torch.backends.mkldnn.is_available():
            import torch.utils.mkldnn as mkldnn_utils

            a = torch.randn(size, size).to_mkldnn()
            linear = mkldnn_utils.to_mkldnn(nn.Linear(size, size, bias=False))
            with torch.no_grad():
                times = _time_reps(lambda: linear(a), reps)
            flops = 2.0 * size**3
            entry["onednn"] = {"size": size, "gflops": [flops / t / 1e9 for t in times]}
            del a, linear
        # torch.mm on plain tensors: the BLAS this torch was built against.
        a = torch.randn(blas_size, blas_size)
        b = torch.randn(blas_size, blas_size)
        times = _time_reps(lambda: torch.mm(a, b), blas_reps)
        entry["blas"] = {
            "size": blas_size,
            "gflops": [2.0 * blas_size**3 / t / 1e9 for t in times],
        }
        results.append(entry)
    return {"peak": results, "torch_version": torch.__version__, "blas_info": _blas_info()}


def _blas_info():
    match = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    return match.group(1) if match else "unknown"


def job_info(_job):
    return {
        "torch_version": torch.__version__,
        "blas_info": _blas_info(),
        "num_threads_default": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "python": sys.version.split()[0],
    }


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else "-"
    if source == "-":
        job = json.load(sys.stdin)
    else:
        with open(source, "r", encoding="utf-8") as handle:
            job = json.load(handle)
    mode = job.get("mode", "train")
    handlers = {"train": job_train, "peak": job_peak, "info": job_info}
    if mode not in handlers:
        raise SystemExit("unknown mode %r (expected train, peak or info)" % mode)
    result = handlers[mode](job)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

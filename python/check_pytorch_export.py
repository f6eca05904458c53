"""Runs a model exported by `nascent export --format pytorch` on raw images (used by the tests).

Usage: python3 check_pytorch_export.py <export dir> <pixels file> <count> [<dir> <pixels> <count> ...]
  <pixels file>: count x C x H x W uint8 pixels (NCHW), normalised here by the export's preprocess()
Prints a JSON list, one entry per export:
  {"params": int, "state": {name: shape}, "metadata": {...}, "logits": [[...]]}
"""
import importlib.util
import json
import os
import sys

import torch


def run(directory, pixels_path, count):
    spec = importlib.util.spec_from_file_location("model", os.path.join(directory, "model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.NascentModel()
    metadata = model.load_weights(os.path.join(directory, "model.safetensors"))
    model.eval()
    with open(pixels_path, "rb") as file:
        pixels = torch.frombuffer(bytearray(file.read()), dtype=torch.uint8)
    pixels = pixels.reshape(count, *module.INPUT_SHAPE)
    with torch.no_grad():
        logits = model(module.preprocess(pixels))
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "state": {name: list(t.shape) for name, t in model.state_dict().items()},
        "metadata": metadata,
        "logits": logits.tolist(),
    }


def main():
    args = sys.argv[1:]
    if not args or len(args) % 3 != 0:
        sys.exit(__doc__)
    jobs = [args[i : i + 3] for i in range(0, len(args), 3)]
    json.dump([run(directory, pixels, int(count)) for directory, pixels, count in jobs], sys.stdout)


if __name__ == "__main__":
    main()

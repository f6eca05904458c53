/**
 * PyTorch export: a self-contained `model.py` with explicit layer code generated from the IR (an
 * `nn.Module` whose state_dict names equal the engine's weight names) and the weights as
 * `model.safetensors` (a Nascent model file). `model.py` reads the safetensors file with the
 * Python standard library and torch alone, so it needs no `safetensors` package (Debian's
 * python3-torch has none).
 *
 * The generated code computes what the engine computes: 'same' padding with an odd total pads
 * the bottom and right through `F.pad` before the convolution; average pools do not count
 * padding; batch norm is `nn.BatchNorm2d`/`nn.BatchNorm1d` with PyTorch's defaults (as libtorch);
 * gelu is exact (erf); leaky_relu has slope 0.01.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Architecture,
  type IrNode,
  type LayerSummary,
  analyzeArchitecture,
} from '../space/ir.js';
import {
  type ModelFile,
  type PixelNormalisation,
  UNIT_SCALE,
  writeModelFile,
} from './model-file.js';
import { MIX_NOT_EXPORTABLE, refuseMixtures } from './weights.js';

/** Python keywords, `nn.Module` attributes and the names the generated code uses itself. */
const RESERVED = new Set([
  ...['False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class'],
  ...['continue', 'def', 'del', 'elif', 'else', 'except', 'finally', 'for', 'from', 'global'],
  ...['if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise', 'return'],
  ...['try', 'while', 'with', 'yield', 'match', 'case'],
  ...['T_destination', 'add_module', 'apply', 'bfloat16', 'buffers', 'call_super_init'],
  ...['children', 'compile', 'cpu', 'cuda', 'double', 'dump_patches', 'eval', 'extra_repr'],
  ...['float', 'forward', 'get_buffer', 'get_extra_state', 'get_parameter', 'get_submodule'],
  ...['half', 'ipu', 'load_state_dict', 'modules', 'mtia', 'named_buffers', 'named_children'],
  ...['named_modules', 'named_parameters', 'parameters', 'register_backward_hook'],
  ...['register_buffer', 'register_forward_hook', 'register_forward_pre_hook'],
  ...['register_full_backward_hook', 'register_full_backward_pre_hook'],
  ...['register_load_state_dict_post_hook', 'register_load_state_dict_pre_hook'],
  ...['register_module', 'register_parameter', 'register_state_dict_pre_hook'],
  ...['register_state_dict_post_hook', 'requires_grad_', 'set_extra_state', 'set_submodule'],
  ...['share_memory', 'state_dict', 'to', 'to_empty', 'train', 'training', 'type', 'xpu'],
  ...['zero_grad', 'load_weights', 'self', 'torch', 'nn', 'F'],
]);

/** Python names for node ids: the id itself unless reserved, else the id with `_` appended. */
function pythonNames(architecture: Architecture): Map<string, string> {
  const taken = new Set(architecture.nodes.map((node) => node.id));
  const names = new Map<string, string>();
  for (const node of architecture.nodes) {
    let name = node.id;
    while (RESERVED.has(name) || (name !== node.id && taken.has(name))) name = `${name}_`;
    taken.add(name);
    names.set(node.id, name);
  }
  return names;
}

const ACTIVATION_CODE: Readonly<Record<string, (x: string) => string>> = {
  relu: (x) => `F.relu(${x})`,
  sigmoid: (x) => `torch.sigmoid(${x})`,
  tanh: (x) => `torch.tanh(${x})`,
  swish: (x) => `F.silu(${x})`,
  gelu: (x) => `F.gelu(${x})`,
  elu: (x) => `F.elu(${x})`,
  leaky_relu: (x) => `F.leaky_relu(${x}, 0.01)`,
};

function pyTuple(values: readonly number[]): string {
  return `(${values.join(', ')}${values.length === 1 ? ',' : ''})`;
}

/** A Python literal for JSON-compatible data (JSON strings and numbers are Python literals). */
function pyLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (Array.isArray(value)) return `[${value.map(pyLiteral).join(', ')}]`;
  return JSON.stringify(value);
}

function comment(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function layerCode(
  node: IrNode,
  layer: LayerSummary,
  names: Map<string, string>,
): { init?: string; forward: string } {
  const self = `self.${names.get(node.id)}`;
  const inputs = node.inputs.map((id) => names.get(id) as string);
  const x = inputs[0] as string;
  const inputShape = layer.inputShapes[0];
  const pads = layer.pads ?? { top: 0, bottom: 0, left: 0, right: 0 };
  switch (node.op) {
    case 'input':
      return { forward: '' };
    case 'conv2d': {
      const channels = inputShape?.kind === 'map' ? inputShape.channels : 0;
      const symmetric = pads.top === pads.bottom && pads.left === pads.right;
      const options = [
        ...(node.stride !== 1 ? [`stride=${node.stride}`] : []),
        ...(symmetric && (pads.top > 0 || pads.left > 0)
          ? [`padding=${pyTuple([pads.top, pads.left])}`]
          : []),
        ...(node.dilation !== 1 ? [`dilation=${node.dilation}`] : []),
        ...(node.groups !== 1 ? [`groups=${node.groups}`] : []),
        ...(node.bias ? [] : ['bias=False']),
      ];
      const source = symmetric
        ? x
        : `F.pad(${x}, ${pyTuple([pads.left, pads.right, pads.top, pads.bottom])})`;
      return {
        init: `nn.Conv2d(${[channels, node.filters, node.kernel, ...options].join(', ')})`,
        forward: `${self}(${source})`,
      };
    }
    case 'maxpool2d':
      return {
        forward: `F.max_pool2d(${x}, ${node.kernel}, ${node.stride}, ${pyTuple([pads.top, pads.left])})`,
      };
    case 'avgpool2d':
      return {
        forward: `F.avg_pool2d(${x}, ${node.kernel}, ${node.stride}, ${pyTuple([pads.top, pads.left])}, count_include_pad=False)`,
      };
    case 'global_avg_pool':
      return { forward: `${x}.mean(dim=(2, 3))` };
    case 'batchnorm': {
      const spatial = inputShape?.kind === 'map';
      const features =
        inputShape?.kind === 'map' ? inputShape.channels : (inputShape?.features ?? 0);
      return {
        init: `nn.BatchNorm${spatial ? '2d' : '1d'}(${features})`,
        forward: `${self}(${x})`,
      };
    }
    case 'dropout':
      return { forward: `F.dropout(${x}, ${node.rate}, self.training)` };
    case 'flatten':
      return { forward: `torch.flatten(${x}, 1)` };
    case 'dense': {
      const features = inputShape?.kind === 'flat' ? inputShape.features : 0;
      return {
        init: `nn.Linear(${features}, ${node.units}${node.bias ? '' : ', bias=False'})`,
        forward: `${self}(${x})`,
      };
    }
    case 'activation': {
      const code = ACTIVATION_CODE[node.fn];
      if (!code) throw new Error(`activation ${node.fn} has no PyTorch mapping`);
      return { forward: code(x) };
    }
    case 'add':
      return { forward: inputs.join(' + ') };
    case 'mul': {
      const gate = inputs[1] as string;
      const perChannel = layer.inputShapes[1]?.kind === 'flat';
      return { forward: `${x} * ${perChannel ? `${gate}[:, :, None, None]` : gate}` };
    }
    case 'concat':
      return { forward: `torch.cat([${inputs.join(', ')}], dim=1)` };
    case 'mix':
      throw new Error(MIX_NOT_EXPORTABLE(node.id));
  }
}

export interface PytorchOptions {
  /** One name per output. */
  readonly classes?: readonly string[];
  readonly normalisation?: PixelNormalisation;
  readonly genome?: string;
  /** The weights file `load_model()` reads by default, next to model.py. */
  readonly weightsFile?: string;
}

/** The text of `model.py` for an architecture. */
export function architectureToPytorch(
  architecture: Architecture,
  options: PytorchOptions = {},
): string {
  refuseMixtures(architecture);
  const summary = analyzeArchitecture(architecture);
  const names = pythonNames(architecture);
  const init: string[] = [];
  const forward: string[] = [];
  let inputName = 'images';
  architecture.nodes.forEach((node, index) => {
    const layer = summary.layers[index] as LayerSummary;
    const name = names.get(node.id) as string;
    if (node.op === 'input') {
      inputName = name;
      return;
    }
    const code = layerCode(node, layer, names);
    if (code.init) init.push(`        self.${name} = ${code.init}`);
    forward.push(`        ${name} = ${code.forward}  # ${comment(layer.label)}`);
  });
  const renamed = architecture.nodes
    .filter((node) => names.get(node.id) !== node.id)
    .map((node) => `${JSON.stringify(node.id)}: ${JSON.stringify(names.get(node.id))}`);
  const { channels, height, width } = architecture.input;
  const normalisation = options.normalisation ?? UNIT_SCALE;
  const outputs = summary.outputShape.kind === 'flat' ? summary.outputShape.features : 0;
  const classes = options.classes ?? Array.from({ length: outputs }, (_, k) => `class ${k}`);
  const weightsFile = options.weightsFile ?? 'model.safetensors';
  return `"""A network found by Nascent, as a PyTorch module (generated from its nascent-ir/1 architecture).

Usage:
    from model import load_model, preprocess
    model = load_model()                          # reads ${weightsFile} next to this file
    logits = model(preprocess(pixels))            # pixels: uint8 tensor [N, ${channels}, ${height}, ${width}]
    names = [CLASSES[i] for i in logits.argmax(1)]

Needs only PyTorch (1.10 or later); the weights are read without the safetensors package.
"""
import array
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

INPUT_SHAPE = ${pyTuple([channels, height, width])}
CLASSES = ${pyLiteral(classes)}
GENOME = ${pyLiteral(options.genome ?? null)}
# The network sees (pixel / 255 - MEAN[c]) / STD[c], or pixel / 255 where MEAN is None.
MEAN = ${normalisation.mean ? pyTuple(normalisation.mean) : 'None'}
STD = ${normalisation.std ? pyTuple(normalisation.std) : 'None'}
# Node ids that are not usable as Python names -> the names used here (state_dict keys follow).
RENAMED = {${renamed.join(', ')}}


class NascentModel(nn.Module):
    def __init__(self):
        super().__init__()
${init.length > 0 ? init.join('\n') : '        pass'}

    def forward(self, ${inputName}):
${forward.join('\n')}
        return ${names.get(architecture.output)}

    def load_weights(self, path):
        """Copies the tensors of a safetensors file into this module; returns the file's metadata."""
        tensors, metadata = read_safetensors(path)
        own = dict(self.named_parameters())
        own.update(self.named_buffers())
        wanted = {name for name, tensor in own.items() if tensor.is_floating_point()}
        with torch.no_grad():
            for name, tensor in tensors.items():
                node, _, part = name.partition(".")
                key = RENAMED.get(node, node) + "." + part
                if key not in own:
                    raise KeyError(f"{path}: tensor {name} belongs to no layer of this model")
                if tuple(own[key].shape) != tuple(tensor.shape):
                    raise ValueError(
                        f"{path}: tensor {name} has shape {tuple(tensor.shape)}, "
                        f"the model needs {tuple(own[key].shape)}"
                    )
                own[key].copy_(tensor)
                wanted.discard(key)
        if wanted:
            raise KeyError(f"{path}: no tensors for {sorted(wanted)}")
        return metadata


def read_safetensors(path):
    """The float32 tensors and the metadata of a safetensors file, with the standard library."""
    with open(path, "rb") as file:
        data = file.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file")
    (length,) = struct.unpack("<Q", data[:8])
    if 8 + length > len(data):
        raise ValueError(f"{path}: truncated or not a safetensors file")
    header = json.loads(data[8 : 8 + length])
    metadata = header.pop("__metadata__", {})
    start = 8 + length
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {entry['dtype']}, expected F32")
        begin, end = entry["data_offsets"]
        if start + end > len(data):
            raise ValueError(f"{path}: truncated: tensor {name} runs past the end of the file")
        values = array.array("f")
        values.frombytes(data[start + begin : start + end])
        if sys.byteorder == "big":
            values.byteswap()
        tensors[name] = torch.frombuffer(values, dtype=torch.float32).clone().reshape(entry["shape"])
    return tensors, metadata


def preprocess(pixels):
    """uint8 pixels [N, C, H, W] (or one image [C, H, W]) -> the input the network expects."""
    x = pixels.to(torch.float32) / 255
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if MEAN is not None:
        x = (x - torch.tensor(MEAN).view(1, -1, 1, 1)) / torch.tensor(STD).view(1, -1, 1, 1)
    return x


def load_model(path=None):
    """The network with its trained weights, in inference mode."""
    model = NascentModel()
    model.load_weights(path or os.path.join(os.path.dirname(os.path.abspath(__file__)), ${JSON.stringify(weightsFile)}))
    return model.eval()


if __name__ == "__main__":
    model = load_model(sys.argv[1] if len(sys.argv) > 1 else None)
    count = sum(p.numel() for p in model.parameters())
    print(f"{count} parameters; input {INPUT_SHAPE}; {len(CLASSES)} classes: {', '.join(CLASSES)}")
`;
}

/** What `writePytorchExport` wrote. */
export interface PytorchExport {
  readonly modelPy: string;
  readonly weights: string;
}

/** Writes `model.py` and `model.safetensors` for a model into `directory` (created if missing). */
export function writePytorchExport(directory: string, model: ModelFile): PytorchExport {
  mkdirSync(directory, { recursive: true });
  const modelPy = join(directory, 'model.py');
  const weights = join(directory, 'model.safetensors');
  writeFileSync(
    modelPy,
    architectureToPytorch(model.architecture, {
      normalisation: model.normalisation,
      ...(model.classes ? { classes: model.classes } : {}),
      ...(model.genome !== undefined ? { genome: model.genome } : {}),
    }),
  );
  writeModelFile(weights, { ...model });
  return { modelPy, weights };
}

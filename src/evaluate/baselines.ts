/**
 * Hand-designed reference networks, written in the IR, that a search's result is compared with
 * under the same protocol and budget:
 * - `resnet18`: ResNet-18 adapted to small images as in the CIFAR literature (3x3 stride-1 stem,
 *   no max pool; four stages of two basic blocks, 64-128-256-512 channels; 1x1 projection
 *   shortcuts with batch norm where the shape changes; global average pooling; one dense layer).
 *   Convolutions have no bias and PyTorch's symmetric padding 1, as in torchvision.
 * - `plain-cnn`: a small VGG-style network (two 32-filter and two 64-filter 3x3 convolutions with
 *   batch norm and ReLU, a 2x2 max pool after each pair, a 128-unit dense layer, dropout 0.25).
 * - `mobilenet-v2-narrow`: MobileNetV2 (Sandler et al. 2018) sized for about 100,000 parameters
 *   on 28x28 images, written in the cnn space ({@link MOBILENET_V2_NARROW}): its stage layout
 *   (expansion 6, ReLU, linear bottlenecks, residual skips) at width 0.25 (channels rounded to
 *   8), a stride-1 stem, the first five stages with three stride-2 reductions, and a 256-channel
 *   head conv instead of 1280 (96,186 parameters for Fashion-MNIST).
 */
import type { CompileTarget } from '../space/space.js';
import type { Architecture, IrNode } from '../space/ir.js';
import { IR_FORMAT } from '../space/ir.js';
import { compileCnn, parseCnn } from '../space/cnn/index.js';

/** The narrow MobileNetV2 as a cnn-space architecture string. */
export const MOBILENET_V2_NARROW =
  'relu|s8|ir8e1k3|ir8e6k3s2x2|ir16e6k3s2x3|ir24e6k3s2x4|ir32e6k3x3|h256';

export const BASELINE_NAMES = ['resnet18', 'plain-cnn', 'mobilenet-v2-narrow'] as const;
export type BaselineName = (typeof BASELINE_NAMES)[number];

class GraphBuilder {
  readonly nodes: IrNode[] = [{ id: 'input', op: 'input', inputs: [] }];

  conv(id: string, from: string, filters: number, kernel: number, stride: number): string {
    this.nodes.push({
      id,
      op: 'conv2d',
      inputs: [from],
      filters,
      kernel,
      stride,
      padding: Math.floor(kernel / 2),
      dilation: 1,
      groups: 1,
      bias: false,
    });
    return id;
  }

  bn(id: string, from: string): string {
    this.nodes.push({ id, op: 'batchnorm', inputs: [from] });
    return id;
  }

  relu(id: string, from: string): string {
    this.nodes.push({ id, op: 'activation', fn: 'relu', inputs: [from] });
    return id;
  }

  add(id: string, a: string, b: string): string {
    this.nodes.push({ id, op: 'add', inputs: [a, b] });
    return id;
  }

  /** conv -> batch norm -> ReLU */
  convBnRelu(id: string, from: string, filters: number, kernel = 3, stride = 1): string {
    return this.relu(
      `${id}_relu`,
      this.bn(`${id}_bn`, this.conv(`${id}_conv`, from, filters, kernel, stride)),
    );
  }
}

function resnet18(target: CompileTarget): Architecture {
  const g = new GraphBuilder();
  let x = g.convBnRelu('stem', 'input', 64);
  let channels = 64;
  const stages = [64, 128, 256, 512];
  stages.forEach((width, s) => {
    for (let b = 0; b < 2; b += 1) {
      const id = `layer${s + 1}_${b}`;
      const stride = s > 0 && b === 0 ? 2 : 1;
      const a = g.convBnRelu(`${id}_a`, x, width, 3, stride);
      const main = g.bn(`${id}_b_bn`, g.conv(`${id}_b_conv`, a, width, 3, 1));
      const shortcut =
        stride !== 1 || channels !== width
          ? g.bn(`${id}_down_bn`, g.conv(`${id}_down_conv`, x, width, 1, stride))
          : x;
      x = g.relu(`${id}_out`, g.add(`${id}_add`, main, shortcut));
      channels = width;
    }
  });
  g.nodes.push({ id: 'pool', op: 'global_avg_pool', inputs: [x] });
  g.nodes.push({ id: 'fc', op: 'dense', units: target.classes, bias: true, inputs: ['pool'] });
  return { format: IR_FORMAT, input: target.input, nodes: g.nodes, output: 'fc' };
}

function plainCnn(target: CompileTarget): Architecture {
  const g = new GraphBuilder();
  let x = g.convBnRelu('conv1', 'input', 32);
  x = g.convBnRelu('conv2', x, 32);
  g.nodes.push({ id: 'pool1', op: 'maxpool2d', kernel: 2, stride: 2, padding: 0, inputs: [x] });
  x = g.convBnRelu('conv3', 'pool1', 64);
  x = g.convBnRelu('conv4', x, 64);
  g.nodes.push(
    { id: 'pool2', op: 'maxpool2d', kernel: 2, stride: 2, padding: 0, inputs: [x] },
    { id: 'flatten', op: 'flatten', inputs: ['pool2'] },
    { id: 'fc1', op: 'dense', units: 128, bias: true, inputs: ['flatten'] },
    { id: 'fc1_relu', op: 'activation', fn: 'relu', inputs: ['fc1'] },
    { id: 'dropout', op: 'dropout', rate: 0.25, inputs: ['fc1_relu'] },
    { id: 'fc2', op: 'dense', units: target.classes, bias: true, inputs: ['dropout'] },
  );
  return { format: IR_FORMAT, input: target.input, nodes: g.nodes, output: 'fc2' };
}

export function isBaselineName(name: string): name is BaselineName {
  return (BASELINE_NAMES as readonly string[]).includes(name);
}

/** The named baseline for the target's input shape and class count. */
export function baselineArchitecture(name: string, target: CompileTarget): Architecture {
  if (!isBaselineName(name))
    throw new Error(
      `unknown baseline ${JSON.stringify(name)}; known baselines: ${BASELINE_NAMES.join(', ')}`,
    );
  if (name === 'mobilenet-v2-narrow') return compileCnn(parseCnn(MOBILENET_V2_NARROW), target);
  return name === 'resnet18' ? resnet18(target) : plainCnn(target);
}

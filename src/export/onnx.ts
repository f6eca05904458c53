/**
 * ONNX export: the IR and its trained weights as an ONNX model that computes what the engine
 * computes in inference mode.
 *
 * The graph takes `input` (float32, [N, C, H, W], N dynamic, pixels normalised as the model file
 * says) and gives `logits` ([N, classes]). Each IR node becomes:
 *
 * - conv2d: Conv with explicit pads [top, left, bottom, right], as `analyzeArchitecture` resolves
 *   them ('same' puts the odd row and column at the bottom and right);
 * - maxpool2d: MaxPool (padding never wins the max); avgpool2d: AveragePool with
 *   count_include_pad 0 (padding is not counted, as the engine's avg_pool2d);
 * - global_avg_pool: GlobalAveragePool then Flatten; flatten: Flatten (axis 1, NCHW order);
 * - batchnorm: BatchNormalization with the running statistics, epsilon 1e-5 (libtorch's);
 * - dropout: Identity; dense: Gemm with transB; add: Sum; concat: Concat on axis 1;
 * - conv2d's groups: the Conv's `group` (a depthwise conv has group = channels);
 * - mul: Mul; a per-channel gate (flat [N, C]) is first Unsqueezed on axes 2 and 3 to [N, C, 1, 1];
 * - activations: Relu, Sigmoid, Tanh, Elu (alpha 1), LeakyRelu (alpha 0.01), swish as
 *   x * Sigmoid(x), gelu exact (erf, as libtorch's default): Gelu from opset 20, before that
 *   0.5 * x * (1 + Erf(x / sqrt 2)).
 *
 * Tensors are named after the IR: initializers as the engine names weights (`conv1.weight`),
 * node outputs by node id (`node:<id>` where an id is `input` or `logits`).
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import type { WeightMap } from '../engine/engine.js';
import { type Architecture, type IrNode, analyzeArchitecture } from '../space/ir.js';
import { MIX_NOT_EXPORTABLE, checkedWeights, refuseMixtures } from './weights.js';

const { onnx } = onnxProto;

/** The default opset: supported by every current runtime. */
export const ONNX_OPSET = 13;
export const ONNX_MIN_OPSET = 13;
export const ONNX_MAX_OPSET = 21;
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'logits';

/** libtorch's batch norm epsilon and momentum (ONNX counts momentum the other way round). */
const BATCHNORM_EPSILON = 1e-5;
const BATCHNORM_MOMENTUM = 0.9;
const LEAKY_RELU_SLOPE = 0.01;

export interface OnnxOptions {
  /** ONNX operator set, 13..21 (default 13). */
  readonly opset?: number;
  /** Stored as the model's metadata_props (e.g. classes, normalisation). */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly producerVersion?: string;
}

/** The IR version that goes with an opset (onnx/docs/Versioning.md). */
function irVersionFor(opset: number): number {
  if (opset <= 13) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

type AttributeValue =
  { readonly int: number } | { readonly ints: readonly number[] } | { readonly float: number };

function attribute(name: string, value: AttributeValue): Onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if ('int' in value) return { name, type: AttributeType.INT, i: value.int };
  if ('ints' in value) return { name, type: AttributeType.INTS, ints: [...value.ints] };
  return { name, type: AttributeType.FLOAT, f: value.float };
}

function floatTensor(name: string, dims: readonly number[], data: Float32Array): Onnx.ITensorProto {
  const raw = Buffer.alloc(data.length * 4);
  data.forEach((value, i) => raw.writeFloatLE(value, 4 * i));
  return { name, dims: [...dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw };
}

function int64Tensor(name: string, values: readonly number[]): Onnx.ITensorProto {
  const raw = Buffer.alloc(values.length * 8);
  values.forEach((value, i) => raw.writeBigInt64LE(BigInt(value), 8 * i));
  return { name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: raw };
}

function valueInfo(name: string, dims: readonly (number | string)[]): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: {
          dim: dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })),
        },
      },
    },
  };
}

/**
 * Encodes an architecture with its trained weights (as `Network.getWeights()` gives them) as an
 * ONNX model (protobuf bytes). Throws when the weights do not fit the architecture.
 */
export function architectureToOnnx(
  architecture: Architecture,
  weights: WeightMap,
  options: OnnxOptions = {},
): Uint8Array {
  const opset = options.opset ?? ONNX_OPSET;
  if (!Number.isInteger(opset) || opset < ONNX_MIN_OPSET || opset > ONNX_MAX_OPSET) {
    throw new Error(`ONNX opset ${opset} is not supported (${ONNX_MIN_OPSET}..${ONNX_MAX_OPSET})`);
  }
  refuseMixtures(architecture);
  const summary = analyzeArchitecture(architecture);
  const ordered = checkedWeights(architecture, weights);
  const initializers = Object.entries(ordered).map(([name, tensor]) =>
    floatTensor(name, tensor.shape, tensor.data),
  );
  const nodes: Onnx.INodeProto[] = [];
  const names = new Map<string, string>();
  const valueOf = (id: string): string => names.get(id) as string;
  const emit = (
    opType: string,
    name: string,
    inputs: readonly string[],
    output: string,
    attributes: Record<string, AttributeValue> = {},
  ): string => {
    nodes.push({
      name,
      opType,
      input: [...inputs],
      output: [output],
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return output;
  };
  const scalars = new Map<number, string>();
  const scalar = (value: number): string => {
    let name = scalars.get(value);
    if (name === undefined) {
      name = `const:${value}`;
      scalars.set(value, name);
      initializers.push(floatTensor(name, [], Float32Array.of(value)));
    }
    return name;
  };

  const activation = (fn: string, id: string, x: string, out: string): void => {
    switch (fn) {
      case 'relu':
        emit('Relu', id, [x], out);
        return;
      case 'sigmoid':
        emit('Sigmoid', id, [x], out);
        return;
      case 'tanh':
        emit('Tanh', id, [x], out);
        return;
      case 'elu':
        emit('Elu', id, [x], out, { alpha: { float: 1 } });
        return;
      case 'leaky_relu':
        emit('LeakyRelu', id, [x], out, { alpha: { float: LEAKY_RELU_SLOPE } });
        return;
      case 'swish': {
        const gate = emit('Sigmoid', `${id}/sigmoid`, [x], `${id}/sigmoid`);
        emit('Mul', id, [x, gate], out);
        return;
      }
      case 'gelu': {
        if (opset >= 20) {
          emit('Gelu', id, [x], out);
          return;
        }
        const scaled = emit('Mul', `${id}/scale`, [x, scalar(Math.SQRT1_2)], `${id}/scale`);
        const erf = emit('Erf', `${id}/erf`, [scaled], `${id}/erf`);
        const onePlus = emit('Add', `${id}/one_plus`, [erf, scalar(1)], `${id}/one_plus`);
        const product = emit('Mul', `${id}/times_x`, [x, onePlus], `${id}/times_x`);
        emit('Mul', id, [product, scalar(0.5)], out);
        return;
      }
      default:
        throw new Error(`activation ${fn} has no ONNX mapping`);
    }
  };

  architecture.nodes.forEach((node: IrNode, index) => {
    const layer = summary.layers[index];
    if (node.op === 'input') {
      names.set(node.id, ONNX_INPUT);
      return;
    }
    const out = node.id === ONNX_INPUT || node.id === ONNX_OUTPUT ? `node:${node.id}` : node.id;
    names.set(node.id, out);
    const inputs = node.inputs.map(valueOf);
    const x = inputs[0] as string;
    const pads = layer?.pads
      ? [layer.pads.top, layer.pads.left, layer.pads.bottom, layer.pads.right]
      : [];
    switch (node.op) {
      case 'conv2d':
        emit(
          'Conv',
          node.id,
          [x, `${node.id}.weight`, ...(node.bias ? [`${node.id}.bias`] : [])],
          out,
          {
            kernel_shape: { ints: [node.kernel, node.kernel] },
            strides: { ints: [node.stride, node.stride] },
            dilations: { ints: [node.dilation, node.dilation] },
            group: { int: node.groups },
            pads: { ints: pads },
          },
        );
        break;
      case 'maxpool2d':
        emit('MaxPool', node.id, [x], out, {
          kernel_shape: { ints: [node.kernel, node.kernel] },
          strides: { ints: [node.stride, node.stride] },
          pads: { ints: pads },
        });
        break;
      case 'avgpool2d':
        emit('AveragePool', node.id, [x], out, {
          kernel_shape: { ints: [node.kernel, node.kernel] },
          strides: { ints: [node.stride, node.stride] },
          pads: { ints: pads },
          count_include_pad: { int: 0 },
        });
        break;
      case 'global_avg_pool': {
        const pooled = emit('GlobalAveragePool', `${node.id}/pool`, [x], `${node.id}/pool`);
        emit('Flatten', node.id, [pooled], out, { axis: { int: 1 } });
        break;
      }
      case 'batchnorm':
        emit(
          'BatchNormalization',
          node.id,
          [x, ...['weight', 'bias', 'running_mean', 'running_var'].map((p) => `${node.id}.${p}`)],
          out,
          { epsilon: { float: BATCHNORM_EPSILON }, momentum: { float: BATCHNORM_MOMENTUM } },
        );
        break;
      case 'dropout':
        emit('Identity', node.id, [x], out);
        break;
      case 'flatten':
        emit('Flatten', node.id, [x], out, { axis: { int: 1 } });
        break;
      case 'dense':
        emit(
          'Gemm',
          node.id,
          [x, `${node.id}.weight`, ...(node.bias ? [`${node.id}.bias`] : [])],
          out,
          { transB: { int: 1 } },
        );
        break;
      case 'activation':
        activation(node.fn, node.id, x, out);
        break;
      case 'add':
        emit('Sum', node.id, inputs, out);
        break;
      case 'mul': {
        const gateShape = layer?.inputShapes[1];
        let gate = inputs[1] as string;
        if (gateShape?.kind === 'flat') {
          const axes = `${node.id}/axes`;
          initializers.push(int64Tensor(axes, [2, 3]));
          gate = emit('Unsqueeze', `${node.id}/unsqueeze`, [gate, axes], `${node.id}/unsqueeze`);
        }
        emit('Mul', node.id, [x, gate], out);
        break;
      }
      case 'concat':
        emit('Concat', node.id, inputs, out, { axis: { int: 1 } });
        break;
      case 'mix':
        throw new Error(MIX_NOT_EXPORTABLE(node.id));
    }
  });
  emit('Identity', 'graph:output', [valueOf(architecture.output)], ONNX_OUTPUT);

  const { channels, height, width } = architecture.input;
  const classes = summary.outputShape.kind === 'flat' ? summary.outputShape.features : 0;
  const model: Onnx.IModelProto = {
    irVersion: irVersionFor(opset),
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'nascent',
    producerVersion: options.producerVersion ?? '',
    graph: {
      name: 'nascent',
      node: nodes,
      initializer: initializers,
      input: [valueInfo(ONNX_INPUT, ['N', channels, height, width])],
      output: [valueInfo(ONNX_OUTPUT, ['N', classes])],
    },
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Compiles a CNN genome (genome.ts) to the IR: every conv without bias and followed by batch
 * norm, symmetric padding K / 2, a residual add wherever a ds or ir block keeps its shape, and a
 * head of global average pooling into one dense layer with no activation on the logits.
 */
import { type Activation, type Architecture, IR_FORMAT, type IrNode } from '../ir.js';
import type { CompileTarget } from '../space.js';
import type { CnnGenome, CnnStage } from './genome.js';

/** Squeeze-and-excitation width: a quarter of the channels, at least 8. */
export function seChannels(channels: number): number {
  return Math.max(8, Math.floor(channels / 4));
}

class Builder {
  readonly nodes: IrNode[] = [{ id: 'input', op: 'input', inputs: [] }];
  constructor(private readonly activationFn: Activation) {}

  conv(
    id: string,
    from: string,
    filters: number,
    kernel: number,
    stride: number,
    groups = 1,
  ): string {
    this.nodes.push({
      id,
      op: 'conv2d',
      inputs: [from],
      filters,
      kernel,
      stride,
      padding: Math.floor(kernel / 2),
      dilation: 1,
      groups,
      bias: false,
    });
    return id;
  }

  bn(id: string, from: string): string {
    this.nodes.push({ id, op: 'batchnorm', inputs: [from] });
    return id;
  }

  act(id: string, from: string, fn: Activation = this.activationFn): string {
    this.nodes.push({ id, op: 'activation', fn, inputs: [from] });
    return id;
  }

  /** conv, batch norm, activation (or none: a linear projection). */
  convBn(
    id: string,
    from: string,
    filters: number,
    kernel: number,
    stride: number,
    options: { groups?: number; activation?: boolean } = {},
  ): string {
    const normed = this.bn(
      `${id}_bn`,
      this.conv(`${id}_conv`, from, filters, kernel, stride, options.groups ?? 1),
    );
    return options.activation === false ? normed : this.act(`${id}_act`, normed);
  }

  squeezeExcite(id: string, from: string, channels: number): string {
    const reduced = seChannels(channels);
    this.nodes.push(
      { id: `${id}_pool`, op: 'global_avg_pool', inputs: [from] },
      { id: `${id}_reduce`, op: 'dense', units: reduced, bias: true, inputs: [`${id}_pool`] },
      { id: `${id}_reduce_act`, op: 'activation', fn: 'relu', inputs: [`${id}_reduce`] },
      {
        id: `${id}_expand`,
        op: 'dense',
        units: channels,
        bias: true,
        inputs: [`${id}_reduce_act`],
      },
      { id: `${id}_gate`, op: 'activation', fn: 'sigmoid', inputs: [`${id}_expand`] },
      { id: `${id}_scale`, op: 'mul', inputs: [from, `${id}_gate`] },
    );
    return `${id}_scale`;
  }

  add(id: string, a: string, b: string): string {
    this.nodes.push({ id, op: 'add', inputs: [a, b] });
    return id;
  }
}

function block(
  g: Builder,
  id: string,
  from: string,
  inChannels: number,
  stage: CnnStage,
  stride: number,
): string {
  const out = stage.channels;
  if (stage.block === 'cn') return g.convBn(id, from, out, stage.kernel, stride);
  let x = from;
  let hidden = inChannels;
  if (stage.block === 'ir' && stage.expansion > 1) {
    hidden = inChannels * stage.expansion;
    x = g.convBn(`${id}_expand`, x, hidden, 1, 1);
  }
  x = g.convBn(`${id}_dw`, x, hidden, stage.kernel, stride, { groups: hidden });
  if (stage.se) x = g.squeezeExcite(`${id}_se`, x, hidden);
  x = g.convBn(`${id}_project`, x, out, 1, 1, { activation: false });
  return stride === 1 && inChannels === out ? g.add(`${id}_add`, x, from) : x;
}

export function compileCnn(genome: CnnGenome, target: CompileTarget): Architecture {
  const g = new Builder(genome.activation);
  let x = g.convBn('stem', 'input', genome.stem, 3, 1);
  let channels = genome.stem;
  genome.stages.forEach((stage, s) => {
    for (let b = 0; b < stage.repeat; b += 1) {
      x = block(g, `b${s + 1}_${b + 1}`, x, channels, stage, b === 0 ? stage.stride : 1);
      channels = stage.channels;
    }
  });
  if (genome.head > 0) x = g.convBn('head', x, genome.head, 1, 1);
  g.nodes.push(
    { id: 'pool', op: 'global_avg_pool', inputs: [x] },
    { id: 'classifier', op: 'dense', units: target.classes, bias: true, inputs: ['pool'] },
  );
  return { format: IR_FORMAT, input: target.input, nodes: g.nodes, output: 'classifier' };
}

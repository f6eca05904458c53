import { analyzeArchitecture, formatShape } from '../space/ir.js';
import { type ArchitectureSource, resolveArchitecture } from './architecture-input.js';
import { formatCompact, formatCount, table } from '../util/format.js';

export interface InspectOptions extends ArchitectureSource {
  dataset: string;
  json?: boolean;
}

export function inspectCommand(options: InspectOptions): string {
  const arch = resolveArchitecture(options, options.dataset);
  if (options.json) return JSON.stringify(arch, null, 2);
  const summary = analyzeArchitecture(arch);
  const rows = summary.layers.map((layer, index) => [
    index,
    layer.id,
    layer.label,
    formatShape(layer.outputShape),
    formatCount(layer.params),
    formatCount(layer.flops),
  ]);
  const { channels, height, width } = arch.input;
  return [
    table(['#', 'node', 'layer', 'output', 'params', 'FLOPs'], rows, [
      'right',
      'left',
      'left',
      'left',
      'right',
      'right',
    ]),
    `input ${channels}x${height}x${width}`,
    `parameters: ${formatCount(summary.params)}`,
    `FLOPs per image (forward): ${formatCount(summary.flops)} (${formatCompact(summary.flops)}), MACs ${formatCount(summary.macs)}`,
  ].join('\n');
}

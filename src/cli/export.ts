/**
 * `nascent export <model file | candidate id> --format onnx|pytorch|genome|json [--out path]`.
 *
 * A model file (from `nascent train --save`) holds the architecture and the trained weights, so
 * every format works. A candidate of a search (`--store runs/x.db`) has an architecture and a
 * genome but no weights: genome and json work; onnx and pytorch say how to get trained weights.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { z } from 'zod';
import { type ModelFile, classNames, readModelFile } from '../export/model-file.js';
import { ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT, architectureToOnnx } from '../export/onnx.js';
import { writePytorchExport } from '../export/pytorch.js';
import { type Architecture, analyzeArchitecture, parseArchitecture } from '../space/ir.js';
import { RunStore } from '../store/run-store.js';
import { formatCount } from '../util/format.js';

export const EXPORT_FORMATS = ['onnx', 'pytorch', 'genome', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportCommandOptions {
  format: string;
  /** Output file (onnx, genome, json) or directory (pytorch). */
  out?: string;
  /** Read the target as a candidate id from this run store instead of as a model file. */
  store?: string;
  /** ONNX opset (default 13). */
  opset?: number;
}

/** What is exported: always an architecture, with weights only from a model file. */
interface ExportSource {
  readonly description: string;
  readonly architecture: Architecture;
  readonly genome?: string;
  readonly model?: ModelFile;
  /** Why there are no weights and how to get them (candidates only). */
  readonly noWeights?: (format: ExportFormat) => string;
}

const runConfigSchema = z.object({
  evaluation: z.object({ protocol: z.string() }).partial().optional(),
});

function candidateSource(storePath: string, id: string): ExportSource {
  const store = RunStore.open(storePath, { readonly: true });
  try {
    const candidate = store.getCandidate(id);
    const run = store.getRun(candidate.runId);
    if (candidate.architecture === null) {
      throw new Error(`candidate ${id} in ${storePath} has no stored architecture`);
    }
    const architecture = parseArchitecture(candidate.architecture);
    const config = runConfigSchema.safeParse(run.config);
    const protocol = config.success ? config.data.evaluation?.protocol : undefined;
    const trainFlags = `--dataset ${run.dataset}${protocol ? ` --protocol ${protocol}` : ''} --save model.safetensors`;
    const noWeights = (format: ExportFormat): string => {
      const train =
        run.space === 'genome'
          ? [`  nascent train --genome "${candidate.genome}" ${trainFlags}`]
          : [
              `  nascent export ${id} --store ${storePath} --format json --out arch.json`,
              `  nascent train --arch arch.json ${trainFlags}`,
            ];
      return [
        `candidate ${id} has no trained weights: a run store keeps architectures and results, not weights.`,
        'Train it, saving a model file, and export that:',
        ...train,
        `  nascent export model.safetensors --format ${format}`,
      ].join('\n');
    };
    return {
      description: `candidate ${id} of run ${run.name ?? run.id}`,
      architecture,
      genome: candidate.genome,
      noWeights,
    };
  } finally {
    store.close();
  }
}

function modelSource(path: string): ExportSource {
  if (!existsSync(path)) {
    throw new Error(
      `no model file ${path} (to export a candidate of a search, give its id with --store, e.g. --store runs/nascent.db)`,
    );
  }
  const model = readModelFile(path);
  return {
    description: `model ${path}`,
    architecture: model.architecture,
    ...(model.genome !== undefined ? { genome: model.genome } : {}),
    model,
  };
}

/** `model.safetensors` -> `model<suffix>` next to it. */
function besideModel(path: string, suffix: string): string {
  const extension = extname(path);
  const stem = basename(path, extension === '.safetensors' ? extension : '');
  return join(dirname(path), `${stem}${suffix}`);
}

function describeNormalisation(model: ModelFile): string {
  const { mean, std } = model.normalisation;
  if (!mean || !std) return 'pixels / 255';
  return `(pixels / 255 - mean) / std with mean [${mean.join(', ')}], std [${std.join(', ')}]`;
}

/** Runs `nascent export`; returns the text to print (the genome or JSON itself without --out). */
export async function exportCommand(
  target: string,
  options: ExportCommandOptions,
): Promise<string> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw new Error(
      `unknown export format "${options.format}" (expected ${EXPORT_FORMATS.join(', ')})`,
    );
  }
  const format = options.format as ExportFormat;
  const source =
    options.store !== undefined ? candidateSource(options.store, target) : modelSource(target);

  if (format === 'genome' || format === 'json') {
    let text: string;
    if (format === 'genome') {
      if (source.genome === undefined) {
        throw new Error(
          `${source.description} has no genome (it was built from an IR graph); export it with --format json`,
        );
      }
      text = source.genome;
    } else {
      text = JSON.stringify(source.architecture, null, 2);
    }
    if (options.out === undefined) return text;
    writeFileSync(options.out, `${text}\n`);
    return `wrote the ${format === 'genome' ? 'genome' : 'architecture (IR JSON)'} of ${source.description} to ${options.out}`;
  }

  const model = source.model;
  if (!model) throw new Error(source.noWeights?.(format) ?? `${source.description} has no weights`);
  const params = formatCount(analyzeArchitecture(model.architecture).params);
  if (format === 'onnx') {
    const out = options.out ?? besideModel(model.path, '.onnx');
    const opset = options.opset ?? ONNX_OPSET;
    const metadata: Record<string, string> = {
      classes: JSON.stringify(classNames(model)),
      normalisation: JSON.stringify(model.normalisation),
      ...(model.genome !== undefined ? { genome: model.genome } : {}),
      ...(model.dataset !== undefined ? { dataset: model.dataset } : {}),
    };
    writeFileSync(out, architectureToOnnx(model.architecture, model.weights, { opset, metadata }));
    const { channels, height, width } = model.architecture.input;
    return [
      `wrote ${out}: ONNX opset ${opset}, ${params} parameters`,
      `  input "${ONNX_INPUT}": float32 [N, ${channels}, ${height}, ${width}], ${describeNormalisation(model)}`,
      `  output "${ONNX_OUTPUT}": float32 [N, ${classNames(model).length}]`,
    ].join('\n');
  }
  const directory = options.out ?? besideModel(model.path, '-pytorch');
  const written = writePytorchExport(directory, model);
  return [
    `wrote ${written.modelPy} and ${written.weights} (${params} parameters)`,
    `  use: cd ${directory} && python3 -c "from model import load_model; print(load_model())"`,
  ].join('\n');
}

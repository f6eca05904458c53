/**
 * Unknown keys in strict zod objects, told with their full dotted path and the nearest known key
 * (`dataset.subest: unknown setting; did you mean subset?`), for the configuration and every
 * space's options.
 */
import { distance } from 'fastest-levenshtein';
import type { z } from 'zod';

/** One problem with a value, at a path inside it. */
export interface DescribedIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * The known key closest to `key` by edit distance, when it is close enough to be a likely typo
 * (at most a third of the longer name's letters changed, and never more than 3); a key that only
 * differs in letter case always counts.
 */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    if (candidate.toLowerCase() === lower) return candidate;
    const edits = distance(lower, candidate.toLowerCase());
    const allowed = Math.min(
      3,
      Math.max(1, Math.floor(Math.max(key.length, candidate.length) / 3)),
    );
    if (edits <= allowed && edits < bestDistance) {
      best = candidate;
      bestDistance = edits;
    }
  }
  return best;
}

/** `dataset.subset`, `objectives.0.metric` (the form `--set` takes). */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  return path.map((part) => String(part)).join('.');
}

interface SchemaInternals {
  readonly _zod?: {
    readonly def: {
      readonly type: string;
      readonly shape?: Record<string, unknown>;
      readonly innerType?: unknown;
      readonly in?: unknown;
      readonly element?: unknown;
      readonly valueType?: unknown;
      readonly options?: readonly unknown[];
      readonly left?: unknown;
      readonly right?: unknown;
      readonly getter?: () => unknown;
    };
  };
}

/** The object schemas a value at this schema may be checked against (through every wrapper). */
function objectShapes(schema: unknown, depth = 0): Record<string, unknown>[] {
  const def = (schema as SchemaInternals | undefined)?._zod?.def;
  if (!def || depth > 32) return [];
  switch (def.type) {
    case 'object':
      return def.shape ? [def.shape] : [];
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      return objectShapes(def.innerType, depth + 1);
    case 'pipe':
      return objectShapes(def.in, depth + 1);
    case 'lazy':
      return def.getter ? objectShapes(def.getter(), depth + 1) : [];
    case 'union':
      return (def.options ?? []).flatMap((option) => objectShapes(option, depth + 1));
    case 'intersection':
      return [...objectShapes(def.left, depth + 1), ...objectShapes(def.right, depth + 1)];
    default:
      return [];
  }
}

/** The schema a value at `path` inside `schema`'s input is checked against (several for unions). */
function schemasAt(schema: unknown, path: readonly PropertyKey[]): unknown[] {
  let current: unknown[] = [schema];
  for (const part of path) {
    const next: unknown[] = [];
    for (const node of current) {
      const def = unwrap(node);
      if (!def) continue;
      if (def.type === 'array' && typeof part === 'number') next.push(def.element);
      else if (def.type === 'record') next.push(def.valueType);
      else
        for (const shape of objectShapes(node))
          if (typeof part === 'string' && part in shape) next.push(shape[part]);
    }
    current = next;
  }
  return current;
}

function unwrap(
  schema: unknown,
  depth = 0,
): NonNullable<SchemaInternals['_zod']>['def'] | undefined {
  const def = (schema as SchemaInternals | undefined)?._zod?.def;
  if (!def || depth > 32) return undefined;
  if (def.innerType !== undefined && def.type !== 'object') return unwrap(def.innerType, depth + 1);
  if (def.type === 'pipe') return unwrap(def.in, depth + 1);
  if (def.type === 'lazy' && def.getter) return unwrap(def.getter(), depth + 1);
  return def;
}

/** The keys the object at `path` inside `schema` knows. */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const keys = new Set<string>();
  for (const node of schemasAt(schema, path))
    for (const shape of objectShapes(node)) for (const key of Object.keys(shape)) keys.add(key);
  return [...keys];
}

/** `unknown setting; did you mean subset?` or `unknown setting; known: a, b, c`. */
export function unknownKeyMessage(key: string, known: readonly string[], noun = 'setting'): string {
  const nearest = nearestKey(key, known);
  if (nearest !== undefined) return `unknown ${noun}; did you mean ${nearest}?`;
  return known.length > 0 ? `unknown ${noun}; known: ${known.join(', ')}` : `unknown ${noun}`;
}

/**
 * The issues of a failed parse with `schema`, an unknown key each its own issue at its own path
 * with the nearest known key.
 */
export function describeSchemaIssues(
  error: z.ZodError,
  schema: z.ZodType,
  noun = 'setting',
): DescribedIssue[] {
  // Unknown keys first: a misspelt key often also leaves a required one missing.
  const unknown = error.issues.flatMap((issue): DescribedIssue[] => {
    if (issue.code !== 'unrecognized_keys') return [];
    const known = knownKeysAt(schema, issue.path);
    return issue.keys.map((key) => ({
      path: [...issue.path, key],
      message: unknownKeyMessage(key, known, noun),
    }));
  });
  const others = error.issues
    .filter((issue) => issue.code !== 'unrecognized_keys')
    .map((issue) => ({ path: issue.path, message: issue.message }));
  return [...unknown, ...others];
}

/** `path: message; path: message`, for one-line errors. */
export function joinIssues(issues: readonly DescribedIssue[], whole = 'options'): string {
  return issues
    .map((issue) => `${formatIssuePath(issue.path) || whole}: ${issue.message}`)
    .join('; ');
}

/**
 * An error in options validated by a schema, keeping each issue's path so an enclosing
 * configuration can tell it at its full path (`space.options.filtres`).
 */
export class OptionsError extends Error {
  constructor(
    readonly subject: string,
    readonly issues: readonly DescribedIssue[],
  ) {
    super(`${subject}: ${joinIssues(issues)}`);
    this.name = 'OptionsError';
  }
}

/** An in-memory image classification dataset of 8-bit pixels. */
export interface ImageDataset {
  /** Human-readable name, e.g. 'fashion-mnist/train' or 'cifar10/train[subset 1000]'. */
  readonly name: string;
  /** count*channels*height*width bytes; each image is CHW, row-major. */
  readonly images: Uint8Array;
  /** count bytes, each in 0..classes.length-1. */
  readonly labels: Uint8Array;
  readonly count: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly classes: readonly string[];
}

export interface Normalisation {
  /** Per-channel mean of pixels scaled to [0, 1]. */
  readonly mean: number[];
  /** Per-channel standard deviation of pixels scaled to [0, 1]. */
  readonly std: number[];
}

export interface DatasetSplits {
  readonly train: ImageDataset;
  readonly test: ImageDataset;
  /** The training split's normalisation, for datasets without built-in constants (folder:, npz:). */
  readonly normalisation?: Normalisation;
  /** Images that could not be read and were left out (folder:), each with its reason. */
  readonly skipped?: ReadonlyArray<{ readonly path: string; readonly reason: string }>;
}

/** Options shared by the dataset loaders. */
export interface LoadOptions {
  /**
   * Where the dataset lives. When given, only this location is searched (and downloads go
   * here); otherwise the loader's default directories are searched.
   */
  readonly dataDir?: string;
  /** Download the files from the official location when they are missing (default false). */
  readonly download?: boolean;
  /** Receives progress messages (downloads, extraction). Silent by default. */
  readonly log?: (message: string) => void;
}

/** A dataset could not be found or read. The message always names the file/dataset and the problem. */
export class DatasetError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DatasetError';
  }
}

/** Bytes in one image of `ds`. */
export function imageSize(ds: Pick<ImageDataset, 'channels' | 'height' | 'width'>): number {
  return ds.channels * ds.height * ds.width;
}

/**
 * glibc malloc settings for training: keep activation buffers in the heap instead of returning
 * them to the OS after every batch, and one arena for all threads. The native engine applies what
 * it can at load (mallopt); the `nascent` launcher (bin/nascent) sets these at process start,
 * where they reach every thread.
 */
export const MALLOC_TUNABLES =
  'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824:glibc.malloc.arena_max=1';

/** `env` with the tuning appended to any GLIBC_TUNABLES already there, as the launcher does. */
export function withMallocTuning(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const own = env.GLIBC_TUNABLES;
  return { ...env, GLIBC_TUNABLES: own ? `${own}:${MALLOC_TUNABLES}` : MALLOC_TUNABLES };
}

/** Typed calls to the dashboard's JSON API. */
import type {
  ApiError,
  CandidateDetail,
  CandidatePage,
  CandidateSortKey,
  CandidateStatus,
  CompareResult,
  DashboardInfo,
  RunOverview,
  RunSummary,
  SizeMetric,
} from '../../src/dashboard/api-types.js';

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(path, init);
  const body = (await response.json().catch(() => null)) as T | ApiError | null;
  if (!response.ok) {
    const message =
      body !== null && typeof body === 'object' && 'error' in body
        ? body.error
        : `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  return body as T;
}

const part = encodeURIComponent;

/**
 * The token a dashboard bound beyond loopback requires for a change: the one in the page's
 * address (`?token=...`, as `nascent serve` prints it), sent with every request that changes state.
 */
const token = new URLSearchParams(window.location.search).get('token');
const tokenHeaders: Record<string, string> = token ? { 'X-Nascent-Token': token } : {};

export interface CandidateFilter {
  offset: number;
  limit: number;
  sort: CandidateSortKey;
  dir: 'asc' | 'desc';
  status?: CandidateStatus | undefined;
  generation?: number | undefined;
}

export const api = {
  info: () => request<DashboardInfo>('/api/info'),
  runs: () => request<RunSummary[]>('/api/runs'),
  overview: (run: string, x: SizeMetric) =>
    request<RunOverview>(`/api/runs/${part(run)}/overview?x=${x}`),
  candidates: (run: string, filter: CandidateFilter) => {
    const query = new URLSearchParams({
      offset: String(filter.offset),
      limit: String(filter.limit),
      sort: filter.sort,
      dir: filter.dir,
    });
    if (filter.status !== undefined) query.set('status', filter.status);
    if (filter.generation !== undefined) query.set('generation', String(filter.generation));
    return request<CandidatePage>(`/api/runs/${part(run)}/candidates?${query}`);
  },
  candidate: (id: string) => request<CandidateDetail>(`/api/candidates/${part(id)}`),
  compare: (runs: readonly string[], x: SizeMetric) =>
    request<CompareResult>(`/api/compare?runs=${runs.map(part).join(',')}&x=${x}`),
  stop: (run: string) =>
    request<{ requested: true }>(`/api/runs/${part(run)}/stop`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...tokenHeaders },
      body: '{}',
    }),
};

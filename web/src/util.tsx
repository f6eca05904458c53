/** Small pieces shared by the pages: links, status badges, loading and error states. */
import type { ComponentChildren } from 'preact';
import type { CandidateStatus, RunStatusName } from '../../src/dashboard/api-types.js';

export function href(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}

export function StatusBadge({ status }: { status: CandidateStatus | RunStatusName }) {
  return <span class={`badge status-${status}`}>{status}</span>;
}

export function Problem({ error }: { error: string }) {
  return (
    <div class="problem" role="alert">
      {error}
    </div>
  );
}

export function Section({
  title,
  children,
  aside,
}: {
  title: string;
  children: ComponentChildren;
  aside?: ComponentChildren;
}) {
  return (
    <section class="panel">
      <header>
        <h2>{title}</h2>
        {aside}
      </header>
      {children}
    </section>
  );
}

/**
 * Tells whoever watches (a test, a person timing it) that a page has drawn its data: sets
 * `data-ready` on <body> and records the time since navigation started.
 */
export function markReady(page: string): void {
  if (document.body.dataset.ready === page) return;
  document.body.dataset.ready = page;
  (window as unknown as { nascentReadyAt: Record<string, number> }).nascentReadyAt ??= {};
  (window as unknown as { nascentReadyAt: Record<string, number> }).nascentReadyAt[page] =
    performance.now();
}

export function clearReady(): void {
  delete document.body.dataset.ready;
}

/** The dashboard's single page: a hash router over the runs list, run, candidate and compare pages. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { CandidatePage } from './pages/candidate.js';
import { ComparePage } from './pages/compare.js';
import { RunPage } from './pages/run.js';
import { RunsPage } from './pages/runs.js';
import { clearReady, href } from './util.js';

interface Route {
  page: 'runs' | 'run' | 'candidate' | 'compare' | 'missing';
  id: string;
  query: URLSearchParams;
}

function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?');
  const parts = path
    .split('/')
    .filter((p) => p.length > 0)
    .map(decodeURIComponent);
  const query = new URLSearchParams(search);
  const [first, second = ''] = parts;
  if (first === undefined) return { page: 'runs', id: '', query };
  if (first === 'runs' && second !== '') return { page: 'run', id: second, query };
  if (first === 'candidates' && second !== '') return { page: 'candidate', id: second, query };
  if (first === 'compare') return { page: 'compare', id: '', query };
  return { page: 'missing', id: path, query };
}

function App() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = (): void => {
      clearReady();
      setHash(location.hash);
      window.scrollTo(0, 0);
    };
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  const [store, setStore] = useState('');
  useEffect(() => {
    api.info().then(
      (info) => setStore(info.store),
      () => setStore(''),
    );
  }, []);
  const route = parseRoute(hash);
  return (
    <>
      <nav class="top">
        <a class="brand" href={href()}>
          Nascent
        </a>
        <a href={href()}>Runs</a>
        <a href="#/compare">Compare</a>
        <span class="store" title="run store">
          {store}
        </span>
      </nav>
      <main>
        {route.page === 'runs' && <RunsPage />}
        {route.page === 'run' && <RunPage key={route.id} runId={route.id} />}
        {route.page === 'candidate' && <CandidatePage key={route.id} candidateId={route.id} />}
        {route.page === 'compare' && <ComparePage query={route.query} />}
        {route.page === 'missing' && <p>No page {route.id}.</p>}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);

/**
 * The history routes (README, "HTTP API"), mounted under /api behind the token:
 * `GET /api/history?limit=N&before=<startedAt>&on=<target>` lists this script's runs, newest
 * first (a fleet run: one entry per host), and `GET /api/history/:runId` answers one of them with
 * its output (a fleet run: once, with every host: fleet-history.ts). Without a history
 * (--no-history, or a database that could not be opened) the list is empty and every run is 404.
 */
import type { Hono } from 'hono';
import type { BlockSplitter } from '../blocks/parser.js';
import type { HistoryRecorder } from '../history/recorder.js';
import type { HistorySummary } from '../history/store.js';
import { fleetRunOf, type HistoryFleetRun } from '../history/fleet-history.js';
import type { TranscriptEntry } from '../history/transcript.js';
import type * as Transcript from '../history/transcript.js';
import type { RunQueue } from '../runs/run-queue.js';
import { queryParams } from './validate.js';
import { notebookText } from '../blocks/ipynb.js';
import type { NotebookFile } from './notebook-file.js';
import type { ScriptFile } from './script-file.js';

/** The Content-Type of each transcript format (Jupyter serves .ipynb as application/x-ipynb+json). */
const CONTENT_TYPES = { html: 'text/html; charset=utf-8', md: 'text/markdown; charset=utf-8', ipynb: 'application/x-ipynb+json; charset=utf-8' } as const;

/** A summary as the API answers it: `thisSession` is true for runs of this cmdrun process. */
export type ApiHistorySummary = HistorySummary & { thisSession: boolean };
/** `GET /api/history/:runId` of a fleet run: the run once, with every host's row. */
export type ApiHistoryFleetRun = HistoryFleetRun & { thisSession: boolean };

/** What the history routes read. */
export interface HistoryRouteDeps {
  /** The run history of the script; undefined when it is off. */
  history: () => HistoryRecorder | undefined;
  runs: RunQueue;
  file: ScriptFile;
  /** The block splitter (loaded on first use). */
  split: () => Promise<BlockSplitter>;
  version: string;
}

/**
 * Each block's last run with its text: this session's (the queue keeps it), else the history's.
 * The entries are the splitter's blocks in document order: where a Markdown runbook's splitter
 * gives the prose between blocks, it goes in each entry's `prose`.
 */
function transcriptEntries(
  deps: HistoryRouteDeps,
  { proseBefore, transcriptRun, historyFleetRun }: typeof Transcript,
  source: string,
  blocks: ReturnType<BlockSplitter>,
): TranscriptEntry[] {
  const live = deps.runs.list().reverse(); // newest first
  const history = deps.history();
  history?.flushAll();
  const earlier = history?.store.list({ script: history.script, limit: 1000 }) ?? [];
  const prose = proseBefore(source, blocks);
  return blocks.map((block, i) => {
    const run = live.find((r) => r.request.code === block.code && r.status !== 'queued');
    if (run) return { block, prose: prose[i], run: transcriptRun(run) };
    const past = earlier.find((r) => r.code === block.code);
    const hosts = past?.fleet !== undefined ? history!.store.hosts(past.runId) : [];
    return { block, prose: prose[i], run: hosts.length ? historyFleetRun(hosts) : past && history!.store.get(past.runId) };
  });
}

/** Adds the history routes to `api` (the /api sub-app, after its token guard). */
export function historyRoutes(api: Hono, deps: HistoryRouteDeps): void {
  const tag = <T extends Pick<HistorySummary, 'session'>>(run: T): T & { thisSession: boolean } => ({ ...run, thisSession: run.session === deps.history()?.session });
  api.get(
    '/history',
    queryParams('list'),
    (c) => {
      const history = deps.history();
      if (!history) return c.json([]);
      const { limit, before, on } = c.req.valid('query');
      history.flushAll(); // a running block's output so far is part of what is asked for
      return c.json(history.store.list({ script: history.script, limit, before, on }).map(tag));
    },
  );
  api.get('/history/:runId', (c) => {
    const history = deps.history();
    history?.flushAll();
    const run = history?.store.get(c.req.param('runId'));
    // Only this script's runs: the token opens one file, not the history of every script.
    if (!history || !run || run.script !== history.script) return c.json({ error: 'no such run in the history of this script' }, 404);
    // A fleet run is one row per host: it is answered once, with every host (a single target's as before).
    const hosts = run.fleet !== undefined ? history.store.hosts(run.runId) : [];
    return c.json(hosts.length ? tag(fleetRunOf(hosts)) : tag(run));
  });
  // The transcript of the notebook's runs, as a download (the page's Export).
  api.get('/transcript', queryParams('transcript'), async (c) => {
    const { format } = c.req.valid('query');
    const { content } = await deps.file.read();
    // Imported on first use, as the splitter is: hono/html and the transcript code wait for an export.
    const transcript = await import('../history/transcript.js');
    const split = await deps.split();
    const blocks = split(content);
    const entries = transcriptEntries(deps, transcript, content, blocks);
    let text: string;
    if (format === 'ipynb' && 'notebookOf' in deps.file) {
      // A notebook exports as it saves: its cells, with this session's outputs.
      text = notebookText((deps.file as NotebookFile).notebookOf(content));
    } else if (format === 'ipynb') {
      const { notebookReport } = await import('../history/notebook-report.js');
      const runs = new Map(entries.flatMap((e) => (e.run ? [[e.block.index, e.run] as const] : [])));
      // A runbook's blocks are fences (the grammar's module, which says so by name, loads lazily).
      text = notebookReport({ kind: blocks.some((b) => b.fence) ? 'markdown' : 'shell', source: content, blocks }, runs, split);
    } else {
      text = await transcript.writeTranscript({ script: deps.file.path, entries, createdAt: Date.now(), version: deps.version }, format);
    }
    const name = `${deps.file.path.split('/').pop()!.replace(/\.[^.]*$/, '')}-transcript.${format}`;
    return c.body(text, 200, {
      'Content-Type': CONTENT_TYPES[format],
      'Content-Disposition': `attachment; filename="${name.replace(/[^\w.-]/g, '_')}"`,
    });
  });
}

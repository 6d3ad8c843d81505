/**
 * The page's side of the run history: after a (re)load, each block shows its last run, from this
 * server (GET /api/runs) or else from an earlier session (GET /api/history), matched by the
 * block's text, then by its position; runs that match no block are listed apart, below the
 * editor. The block menu's History lists a block's earlier runs and shows the one chosen. A fleet
 * run (one history row per host) is one entry, and is shown again as a fleet panel.
 */
import type { Block } from '../src/blocks/split.js';
import { formatDuration, formatTime } from '../src/runs/format.js';
import type { ApiHistoryFleetRun, ApiHistorySummary } from '../src/server/history-routes.js';
import type { RunSummary } from '../src/runs/run.js';
import { fleetLabel } from '../src/session/fleet-spec.js';
import type { Api } from './api.js';
import { FleetPanel } from './fleet-panel.js';
import { openMenu } from './notebook.js';
import type { OutputView } from './output-view.js';
import type { PageRun } from './runs.js';

export type { ApiHistorySummary };

/** A run as the page lists the history: a fleet run once, at its newest host row, with every host's row. */
export type HistoryEntry = ApiHistorySummary & { hostRows?: ApiHistorySummary[] };

/**
 * Folds the host rows of each fleet run (GET /api/history lists one per host; a fleet run's rows
 * share its run id and session) into one entry, in the place of its newest row.
 */
export function foldFleets(rows: readonly ApiHistorySummary[]): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  const fleets = new Map<string, ApiHistorySummary[]>();
  for (const row of rows) {
    if (row.fleet === undefined) {
      entries.push(row);
      continue;
    }
    const key = `${row.session}\0${row.runId}`;
    const hosts = fleets.get(key);
    if (hosts) hosts.push(row);
    else fleets.set(key, [row]), entries.push({ ...row, hostRows: fleets.get(key)! });
  }
  return entries;
}

/** What a run is known by when it is placed: its id, the code it ran, and where it ran. */
export interface Placeable {
  runId: string;
  code: string;
  lineStart?: number;
  lineEnd?: number;
}

/** Where a run's panel goes: under a block, under lines lineStart..lineEnd, or apart (undefined). */
export type Placement = { block: Block } | { lineStart: number; lineEnd: number } | undefined;

/**
 * The block with the run's text (the nearest to where it ran), else, when the run says where it
 * ran and the document still has those lines, those lines (its output is then stale), else apart.
 */
export function placeRun(blocks: readonly Block[], docLines: number, run: Placeable): Placement {
  const nearest = run.lineStart ?? 1;
  const same = blocks.filter((b) => b.code === run.code).sort((x, y) => Math.abs(x.lineStart - nearest) - Math.abs(y.lineStart - nearest))[0];
  if (same) return { block: same };
  if (run.lineStart === undefined || run.lineStart > docLines) return undefined;
  return { lineStart: run.lineStart, lineEnd: Math.max(run.lineStart, Math.min(run.lineEnd ?? run.lineStart, docLines)) };
}

/**
 * Picks each block's last run from the history (newest first in `history`), for the blocks in
 * `blocks` that `taken` does not already hold (by index): first runs with the block's text, then
 * runs that ran at its position. Returns the chosen runs by block index, and the runs that match
 * no block (the newest of each code, at most `maxApart`).
 */
export function pickEarlierRuns<T extends Placeable>(
  blocks: readonly Block[],
  history: readonly T[],
  taken: ReadonlySet<number>,
  maxApart = 20,
): { byBlock: Map<number, T>; apart: T[] } {
  const byBlock = new Map<number, T>();
  const free = (b: Block) => !taken.has(b.index) && !byBlock.has(b.index);
  for (const run of history) {
    const block = blocks.find((b) => b.code === run.code && free(b));
    if (block) byBlock.set(block.index, run);
  }
  const codes = new Set(blocks.map((b) => b.code));
  const apart: T[] = [];
  const apartCodes = new Set<string>();
  for (const run of history) {
    if (codes.has(run.code)) continue;
    const line = run.lineStart;
    const block = line === undefined ? undefined : blocks.find((b) => line >= (b.markerLine ?? b.lineStart) && line <= b.lineEnd);
    if (block) {
      if (free(block)) byBlock.set(block.index, run);
    } else if (!apartCodes.has(run.code) && apart.length < maxApart) {
      apartCodes.add(run.code);
      apart.push(run);
    }
  }
  return { byBlock, apart };
}

/** The label of a history run's panel: "earlier session · <date time>". */
export function historyLabel(run: ApiHistorySummary, why = run.thisSession ? 'from the history' : 'earlier session'): string {
  return `${why} · ${formatTime(run.startedAt)}`;
}

/**
 * Fills `view` with a history run's output and end (GET /api/history/:runId); a fleet run's panel
 * becomes a fleet panel: its hosts, their outputs and how each ended.
 */
export async function showHistoryRun(api: Api, view: OutputView, run: ApiHistorySummary, label = historyLabel(run)): Promise<void> {
  view.fromHistory(label, !run.finished && !run.error);
  // Where it ran, as its panel said then (a local run says nothing; a fleet: its fleet).
  const on = run.fleet ?? run.target;
  if (on !== undefined && on !== 'local') view.setTarget(on);
  const full = await api.json<(ApiHistorySummary & { output: string }) | ApiHistoryFleetRun>('GET', `/api/history/${encodeURIComponent(run.runId)}`);
  if ('hosts' in full) {
    view.fromHistory(label, !full.finished && !full.error); // the fleet's own state, not one host's
    FleetPanel.fromHistory(view, full);
  } else if (full.output) view.write(full.output);
  if (full.error) view.failed(full.error);
  else if (full.finished) {
    view.ended({ exitCode: full.exitCode!, durationMs: full.durationMs!, interrupted: full.interrupted ?? false, sessionRestarted: ('sessionRestarted' in full && full.sessionRestarted) || false });
  }
}

/** This script's runs in the history, newest first, a fleet run once ([] when it is off or cannot be read). */
export async function loadHistory(api: Api, limit = 1000): Promise<HistoryEntry[]> {
  try {
    return foldFleets(await api.json<ApiHistorySummary[]>('GET', `/api/history?limit=${limit}`));
  } catch {
    return [];
  }
}

/**
 * Runs that match no block of the document (posted through the API, or of a block since
 * deleted): listed below the editor, folded, each with its code and its output panel.
 */
export class OtherRuns {
  private readonly list: HTMLElement;
  private readonly summary: HTMLElement;
  private count = 0;

  constructor(private readonly box: HTMLDetailsElement) {
    this.summary = box.querySelector('summary')!;
    this.list = box.querySelector('.other-runs-list')!;
  }

  /** Adds a run's code and its panel. */
  add(code: string, view: OutputView): void {
    const item = document.createElement('div');
    item.className = 'other-run';
    const pre = document.createElement('pre');
    pre.className = 'other-run-code';
    pre.textContent = code;
    item.append(pre, view.dom);
    this.list.append(item);
    this.count++;
    this.summary.textContent = `${this.count} ${this.count === 1 ? 'run that matches' : 'runs that match'} no block of this script`;
    this.box.hidden = false;
  }
}

/** What {@link restoreRuns} needs of the page. */
export interface RestoreDeps {
  api: Api;
  blocks: readonly Block[];
  docLines: number;
  /** The block that holds (or follows) 1-based line `line`. */
  blockOfLine(line: number): Block | undefined;
  /** The server's runs (GET /api/runs) and this script's history, newest first. */
  live: readonly RunSummary[];
  earlier: readonly ApiHistorySummary[];
  /** Runs the user cleared (Clear outputs), and when (epoch ms): not shown again, nor older runs. */
  cleared: ReadonlySet<string>;
  clearedAt: number;
  /** Makes the panel of a run at a placement (apart when undefined). */
  showAt(runId: string, code: string, where: Placement): PageRun;
  /** Follows a live run's events into its panel. */
  follow(run: PageRun): void;
}

/**
 * Shows runs again after a (re)load: each of the server's runs under the block it ran (by text,
 * then position), then, for blocks without one, their last run of an earlier session, and apart
 * the runs that match no block. One run that cannot be shown never keeps the others from being
 * shown. Returns how many earlier runs are shown, and what failed ("2 earlier outputs: …"; '' when
 * everything was shown).
 */
export async function restoreRuns(deps: RestoreDeps): Promise<{ earlier: number; failed: string }> {
  const { blocks, cleared } = deps;
  const taken = new Set<number>();
  const shown: Array<Promise<void>> = [];
  for (const summary of deps.live) {
    if (summary.status === 'done' && (cleared.has(summary.runId) || (summary.startedAt ?? 0) <= deps.clearedAt)) continue;
    try {
      const where = placeRun(blocks, deps.docLines, summary);
      const block = where && ('block' in where ? where.block : deps.blockOfLine(where.lineEnd));
      if (block) taken.add(block.index);
      deps.follow(deps.showAt(summary.runId, summary.code, where));
    } catch (err) {
      shown.push(Promise.reject(err as Error));
    }
  }
  const liveIds = new Set(deps.live.map((r) => r.runId));
  const { byBlock, apart } = pickEarlierRuns(blocks, deps.earlier.filter((r) => !liveIds.has(r.runId) && !cleared.has(r.runId) && r.startedAt > deps.clearedAt), taken);
  const show = async (run: ApiHistorySummary, where: Placement) => showHistoryRun(deps.api, deps.showAt(run.runId, run.code, where).view, run);
  shown.push(...[...byBlock].map(([index, run]) => show(run, { block: blocks[index] })), ...apart.map((run) => show(run, undefined)));
  const failed = (await Promise.allSettled(shown)).filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  const why = failed.length ? `${failed.length} earlier output${failed.length === 1 ? '' : 's'}: ${(failed[0].reason as Error).message}` : '';
  return { earlier: byBlock.size + apart.length, failed: why };
}

/**
 * A history run as a menu entry: when, then exit status and duration; a fleet run's: the fleet,
 * how many hosts ended ok and failed (unreachable and interrupted count as failed), and its duration.
 */
export function historyEntry(run: HistoryEntry): { label: string; detail: string } {
  const rows = run.hostRows ?? [run];
  const startedAt = Math.min(...rows.map((r) => r.startedAt));
  const label = `${formatTime(startedAt)}${run.thisSession ? '' : ' (earlier session)'}`;
  const duration = formatDuration(Math.max(...rows.map((r) => r.startedAt + (r.durationMs ?? 0))) - startedAt);
  const unfinished = rows.some((r) => !r.finished);
  if (!run.hostRows) return { label, detail: run.error ? 'error' : unfinished ? 'unfinished' : `exit ${run.exitCode} · ${duration}` };
  const failed = rows.filter((r) => r.finished && (r.exitCode !== 0 || r.interrupted || r.unreachable)).length;
  const ok = rows.filter((r) => r.finished).length - failed;
  const counts = [ok && `${ok} ok`, failed && `${failed} failed`].filter(Boolean).join(', ');
  const end = rows.some((r) => r.error) ? 'error' : unfinished ? 'unfinished' : `${counts} · ${duration}`;
  return { label, detail: `${fleetLabel(run.fleet!, rows.length)} · ${end}` };
}

/**
 * The block's History menu: its runs across sessions (those with its text; this session's are
 * recorded too), newest first, at most 50 (a fleet run once); `show` gets the one chosen, undefined when closed.
 */
export async function openHistoryMenu(api: Api, anchor: HTMLElement, block: Block, show: (run: ApiHistorySummary | undefined) => void): Promise<void> {
  const runs = (await loadHistory(api)).filter((run) => run.code === block.code);
  const items = runs.slice(0, 50).map((run) => ({ value: run, ...historyEntry(run) }));
  const name = block.title ? `“${block.title}”` : `block ${block.index + 1}`;
  openMenu(anchor, 'History', items, show, { heading: `Runs of ${name}, newest first`, empty: 'No runs of this block in the history yet' });
}

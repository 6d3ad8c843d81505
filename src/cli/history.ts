/**
 * `cmdrun history`: list, search, show and clear the run history (README, "History"), and the
 * history options `cmdrun FILE` and `cmdrun run FILE` share.
 */
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import stripAnsi from 'strip-ansi';
import { historyPath } from '../history/paths.js';
import { HistoryStore, type HistorySummary } from '../history/store.js';
import { blockLabel, formatDuration, formatTime } from '../runs/format.js';
import { UsageError } from './checks.js';

/** Whether output to this stream keeps its colours (a terminal, and NO_COLOR unset: no-color.org). */
const colours = (stream: NodeJS.WriteStream) => Boolean(stream.isTTY) && !process.env.NO_COLOR;

/** Opens the history to read it; undefined (after saying so) when there is none yet. */
function openForReading(flag: string | boolean | undefined): HistoryStore | undefined {
  const path = historyPath(flag);
  if (path === undefined) throw new UsageError('--no-history: there is no history to read');
  if (!existsSync(path)) {
    process.stderr.write(`cmdrun: no history yet (${path})\n`);
    return undefined;
  }
  try {
    return HistoryStore.open(path);
  } catch (err) {
    // One line (a failed better-sqlite3 load lists every path it tried).
    throw new Error(`cannot open the history ${path}: ${String((err as Error).message).split('\n')[0]}`);
  }
}

/** How a run ended, in a word or two. */
function outcome(run: HistorySummary): string {
  if (run.error) return 'error';
  if (!run.finished) return 'unfinished';
  return run.unreachable ? `${run.exitCode} unreachable` : run.interrupted ? `${run.exitCode} interrupted` : String(run.exitCode);
}

/** A script's path as the list shows it: relative to the current folder when inside it. */
function shortPath(script: string): string {
  const rel = relative(process.cwd(), script);
  return rel && !rel.startsWith('..') ? rel : script;
}

/** Prints runs as an aligned table, newest first. */
function printTable(runs: HistorySummary[]): void {
  const rows = runs.map((run) => [
    formatTime(run.startedAt),
    shortPath(run.script),
    blockLabel(run),
    run.target ?? '',
    outcome(run),
    run.durationMs === undefined ? '' : formatDuration(run.durationMs),
    run.runId,
  ]);
  const head = ['TIME', 'SCRIPT', 'BLOCK', 'TARGET', 'EXIT', 'DURATION', 'RUN ID'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [head, ...rows]) process.stdout.write(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')}\n`);
}

/**
 * `cmdrun history show <runId>`: the run's facts on stderr-free stdout, its code, then its output;
 * a fleet run's code once, then each host's facts and output.
 */
export function show(runId: string, flags: { history?: string | boolean }): void {
  const store = openForReading(flags.history);
  const run = store?.get(runId);
  const hosts = run?.fleet !== undefined ? store!.hosts(runId) : [];
  store?.close();
  if (!run) throw new UsageError(`no run ${runId} in the history`);
  const colour = colours(process.stdout);
  const dim = (text: string) => (colour ? `\x1b[2m${text}\x1b[0m` : text);
  if (hosts.length) {
    const head = [`run ${run.runId}`, `${run.script}${run.lineStart ? `:${run.lineStart}` : ''}${run.title ? ` (${run.title})` : ''}`, `on ${run.fleet}: ${hosts.length} host${hosts.length === 1 ? '' : 's'}`];
    process.stdout.write(`${head.map((f) => dim(`# ${f}`)).join('\n')}\n${run.code}\n`);
    for (const host of hosts) {
      process.stdout.write(`${dim(`# ${host.target}: ${ending(host)}`)}\n`);
      writeOutput(host.output, colour);
    }
    return;
  }
  const facts = [
    `run ${run.runId}`,
    `${run.script}${run.lineStart ? `:${run.lineStart}` : ''}${run.title ? ` (${run.title})` : ''}`,
    `started ${formatTime(run.startedAt)} by ${run.user}@${run.host} in ${run.shell}${run.target && run.target !== 'local' ? ` on ${run.target}` : ''}`,
    ending(run),
  ];
  process.stdout.write(`${facts.map((f) => dim(`# ${f}`)).join('\n')}\n${run.code}\n${dim('# output:')}\n`);
  writeOutput(run.output, colour);
}

/** How a run ended, as `history show` says it. */
function ending(run: HistorySummary): string {
  if (run.finished) return `exit ${run.exitCode} after ${formatDuration(run.durationMs ?? 0)}${run.unreachable ? ', unreachable' : run.interrupted ? ', interrupted' : ''}${run.cwd ? `; cwd ${run.cwd}` : ''}`;
  return run.error ? `error: ${run.error}` : 'unfinished (no exit status: still running, or cmdrun was stopped during it)';
}

/** A run's output on stdout (escape sequences removed unless colours are on), ending with a line break. */
function writeOutput(text: string, colour: boolean): void {
  const output = colour ? text : stripAnsi(text);
  process.stdout.write(output.endsWith('\n') || !output ? output : `${output}\n`);
}

/** `cmdrun history [file]`: the runs of every script, or of one, newest first. */
export function list(file: string | undefined, flags: { search?: string; limit: number; json: boolean; history?: string; on?: string }): void {
  const store = openForReading(flags.history);
  if (!store) return;
  const runs = store.list({ script: file === undefined ? undefined : resolve(file), search: flags.search, limit: flags.limit, on: flags.on });
  store.close();
  if (flags.json) for (const run of runs) process.stdout.write(`${JSON.stringify(run)}\n`);
  else if (runs.length === 0) process.stderr.write('cmdrun: no runs found\n');
  else printTable(runs);
}

/** `cmdrun history clear [file]`: deletes the runs of one script, or all. */
export function clear(file: string | undefined, flags: { history?: string | boolean }): void {
  const store = openForReading(flags.history);
  if (!store) return;
  const deleted = store.clear(file === undefined ? undefined : resolve(file));
  store.close();
  process.stdout.write(`cmdrun: deleted ${deleted} run${deleted === 1 ? '' : 's'}${file === undefined ? '' : ` of ${resolve(file)}`}\n`);
}

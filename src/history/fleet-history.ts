/**
 * A fleet run as the history gives it back (README "History", "HTTP API"): its hosts' rows
 * (HistoryStore.hosts, one row per host, in fleet order) folded into one run, with the fleet's
 * own outcome computed as the run's own `end` had it. `GET /api/history/:runId`, transcripts and
 * the page's restored fleet panel read it. No SQL and no HTTP here.
 */
import { groupOutputs } from '../runs/group-outputs.js';
import { lastLineOf } from '../runs/fleet-run.js';
import { hostName } from '../session/fleet-spec.js';
import type { HistoryRun } from './rows.js';

/** One host of a fleet run of the history. */
export interface HistoryHost {
  /** Its target (`ssh://web01`). */
  target: string;
  /** Epoch ms its block started (took a fork slot); a host interrupted before it started: when it was. */
  startedAt: number;
  /** False while its row has no exit status (its cmdrun was killed during the block). */
  finished: boolean;
  exitCode?: number;
  durationMs?: number;
  interrupted?: boolean;
  /** It could not connect: exit status 255, ssh's message in its output. */
  unreachable: boolean;
  sessionRestarted?: boolean;
  cwd?: string;
  /** A server-side failure of the run, when it ended with one. */
  error?: string;
  /** Its last line of output that is not blank, escape sequences removed. */
  lastLine: string;
  output: string;
  outputBytes: number;
  omittedBytes: number;
}

/**
 * A fleet run of the history: the facts its rows share (code, script, who ran it), the fleet's
 * outcome, and every host. `output` is each distinct output once under its hosts
 * ({@link fleetOutput}); `exitCode` 0 when every host exited 0, else the first failing host's in
 * fleet order; `durationMs` from the first host's start to the last host's end.
 */
export interface HistoryFleetRun extends Omit<HistoryRun, 'target' | 'cwd' | 'sessionRestarted' | 'unreachable' | 'fleet'> {
  fleet: string;
  hosts: HistoryHost[];
}

/**
 * Whether a host row says its host was unreachable: its own flag, or for a row written before the
 * flag was kept, status 255 with cmdrun's "could not start" line (what an unreachable host prints).
 */
function unreachableRow(row: HistoryRun): boolean {
  return row.unreachable ?? (row.exitCode === 255 && /(^|\n)cmdrun: could not start \S+ on \S+: /.test(row.output));
}

/**
 * A fleet run's outputs as one text: each distinct output once, under a bold line of the hosts
 * that printed it and their outcome (`web[01-03] (3 hosts): ok`), failing groups first
 * (group-outputs.ts). Transcripts show it, and `GET /api/history/:runId` answers it as `output`.
 */
export function fleetOutput(hosts: ReadonlyArray<Pick<HistoryHost, 'target' | 'output' | 'interrupted'> & { exitCode?: number | null; unreachable?: boolean }>): string {
  const groups = groupOutputs(hosts.map((h) => ({ host: hostName(h.target), output: h.output, exitCode: h.exitCode ?? null, unreachable: h.unreachable, interrupted: h.interrupted })));
  return groups.map((g) => `\x1b[1m${g.label}: ${g.outcome}\x1b[0m\n${g.output}${g.output && !g.output.endsWith('\n') ? '\n' : ''}`).join('');
}

/**
 * Folds the host rows of one fleet run (HistoryStore.hosts: not empty, in fleet order) into the run.
 * The run's `id` is its first host's row's. It is `finished` once every host is (or it has an error).
 */
export function fleetRunOf(rows: readonly HistoryRun[]): HistoryFleetRun {
  const hosts: HistoryHost[] = rows.map((r) => ({
    target: r.target ?? '',
    startedAt: r.startedAt,
    finished: r.finished,
    ...(r.finished ? { exitCode: r.exitCode, durationMs: r.durationMs, interrupted: r.interrupted, sessionRestarted: r.sessionRestarted } : {}),
    unreachable: unreachableRow(r),
    ...(r.cwd ? { cwd: r.cwd } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
    lastLine: lastLineOf(r.output),
    output: r.output,
    outputBytes: r.outputBytes,
    omittedBytes: r.omittedBytes,
  }));
  const first = rows[0];
  const { target: _t, cwd: _c, sessionRestarted: _s, unreachable: _u, exitCode: _e, durationMs: _d, interrupted: _i, error: _r, output: _o, ...shared } = first;
  const error = rows.find((r) => r.error !== undefined)?.error;
  const finished = rows.every((r) => r.finished);
  const failed = rows.find((r) => r.finished && (r.exitCode !== 0 || r.interrupted));
  const startedAt = Math.min(...rows.map((r) => r.startedAt));
  const endedAt = Math.max(...rows.map((r) => r.startedAt + (r.durationMs ?? 0)));
  return {
    ...shared,
    fleet: first.fleet ?? '',
    startedAt,
    finished,
    ...(finished ? { exitCode: failed ? failed.exitCode! : 0, durationMs: endedAt - startedAt, interrupted: rows.some((r) => r.interrupted) } : {}),
    ...(error !== undefined ? { error } : {}),
    outputBytes: rows.reduce((sum, r) => sum + r.outputBytes, 0),
    omittedBytes: rows.reduce((sum, r) => sum + r.omittedBytes, 0),
    output: fleetOutput(hosts),
    hosts,
  };
}

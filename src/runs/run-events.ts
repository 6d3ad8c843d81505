/**
 * What a run says and is asked: its SSE events' shapes (shared/notes/api.md, README "HTTP API"),
 * the request that starts it (POST /api/runs) and its summary (GET /api/runs).
 */
import type { Interpreter } from '../session/session.js';
import type { PromptMode } from '../blocks/params.js';

/** `queued {runId, position}`: waits behind `position` other runs (1 = next). */
export interface QueuedData { runId: string; position: number }
/**
 * `start {runId, startedAt, on}`: epoch ms; the block runs in the session of target `on` (`local`,
 * `ssh://db1`). In a fleet run, the run's own start has neither `on` nor `target`, and each host's
 * `start {runId, target, startedAt, connecting}` says it took a fork slot (`connecting`: its
 * session must connect first).
 */
export interface StartData { runId: string; startedAt: number; on?: string; target?: string; connecting?: boolean }
/**
 * `output {runId, text}`: terminal output, UTF-8 (invalid bytes as U+FFFD), `\n` line ends; chunks
 * are coalesced. `bytes`, in-process only and only in a run made with {@link RunOptions.keepBytes}
 * (`cmdrun run`), are the bytes the terminal gave, of which `text` is the decoding; never sent
 * over SSE, nor written to the history.
 */
export interface OutputData { runId: string; text: string; bytes?: Buffer; target?: string }
/** `waiting {runId}`: the block waits for terminal input (POST /api/runs/:runId/input); in a fleet run, `target`'s block. */
export interface WaitingData { runId: string; target?: string }
/**
 * `end {...}`: the block's exit status; `cancelled` when interrupted before it started. In a fleet
 * run, one per host with its `target`, and `unreachable` when its session could not connect.
 */
export interface EndData {
  runId: string;
  exitCode: number;
  durationMs: number;
  cwd: string;
  interrupted: boolean;
  sessionRestarted: boolean;
  cancelled?: boolean;
  target?: string;
  unreachable?: boolean;
}
/** One host's outcome in a fleet run's own `end` (FleetEndData.hosts). */
export interface FleetHostResult {
  target: string;
  exitCode: number;
  durationMs: number;
  interrupted: boolean;
  unreachable: boolean;
  /** Its last line of output that is not blank, escape sequences removed ('' for none). */
  lastLine: string;
}
/**
 * A fleet run's own last `end {runId, exitCode, durationMs, interrupted, hosts}`: exitCode 0 when
 * every host exited 0, else the first failing host's in fleet order; interrupted when any host was.
 */
export interface FleetEndData {
  runId: string;
  exitCode: number;
  durationMs: number;
  interrupted: boolean;
  hosts: FleetHostResult[];
  cancelled?: boolean;
}
/**
 * `fleet {runId, on, label, targets}`: the run is a fleet run, sent once before any host starts:
 * `on` as written, `label` what the page shows (`@web: 12 hosts`), `targets` in fleet order.
 */
export interface FleetData { runId: string; on: string; label: string; targets: string[] }
/** `error {runId, message}`: a server-side failure (not a failing command, which is an `end`). */
export interface ErrorData { runId: string; message: string }

/** `params {runId, params}`: the run waits for these values (POST /api/runs/:runId/params); a secret's default is never sent. */
export interface ParamsData { runId: string; params: Array<{ name: string; message?: string; default?: string; secret: boolean }> }
/** `confirm {runId, question}`: the run waits for a person's yes (POST /api/runs/:runId/confirm). */
export interface ConfirmData { runId: string; question: string; title?: string; on?: string }

/** One event of a run's log; `id` is the run's own sequence number, from 1. */
export type RunEvent =
  | { id: number; event: 'queued'; data: QueuedData }
  | { id: number; event: 'start'; data: StartData }
  | { id: number; event: 'output'; data: OutputData }
  | { id: number; event: 'waiting'; data: WaitingData }
  | { id: number; event: 'end'; data: EndData | FleetEndData }
  | { id: number; event: 'fleet'; data: FleetData }
  | { id: number; event: 'error'; data: ErrorData }
  | { id: number; event: 'params'; data: ParamsData }
  | { id: number; event: 'confirm'; data: ConfirmData };

export type EventInit = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'id'> : never) : never;

/** What a client posts to start a run (POST /api/runs). */
export interface RunRequest {
  code: string;
  /** Client-chosen id; posting an existing id attaches to that run instead of running twice. */
  runId?: string;
  /** 1-based first and last line of the block in the script, for line numbers and the page. */
  lineStart?: number;
  lineEnd?: number;
  /** Terminal width for the block, in character cells (the page's output width). */
  cols?: number;
  /**
   * Runs posted together ("Run all", "Run below"): when one of them fails (non-zero exit status,
   * interrupted, or an error), the runs of the same batch still queued are cancelled, as Jupyter
   * stops its queue at a failing cell.
   */
  batch?: string;
  /** Run this program on the code instead of the shell (a Markdown fence's language); see RunOptions. */
  interpreter?: Interpreter;
  /** The block's title (its `# %%` header), for the history. */
  title?: string;
  /** Where the block runs: a target (target.ts), `local` or `ssh://[user@]host[:port]`; default: the notebook's. */
  on?: string;
  /**
   * Ask for the block's parameters (its `export` lines, params.ts) in this mode before it runs
   * (the block's `promptEnv`). Absent: the code runs as written, as before parameters existed.
   */
  promptEnv?: PromptMode;
  /** Names the block declares secret (`secret="A,B"`), besides those named like secrets. */
  secret?: string[];
  /** Ask this question and run only on a yes (`confirm=`). */
  confirm?: string;
  /** A fleet run: at most this many hosts connect or run at once (default: the queue's, 20). */
  forks?: number;
}

/** A run's summary, as GET /api/runs lists it. */
export interface RunSummary {
  runId: string;
  status: 'queued' | 'running' | 'done';
  code: string;
  lineStart?: number;
  lineEnd?: number;
  exitCode?: number;
  startedAt?: number;
  durationMs?: number;
  interrupted?: boolean;
  /** The target it runs on, as asked (RunRequest.on; absent: the notebook's default). */
  on?: string;
}

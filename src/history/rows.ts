/**
 * What the history holds: its tables (one schema for either SQLite driver) and the shapes of its
 * runs as the store writes and reads them (store.ts).
 */

/** What a run was: recorded at its start. */
export interface RunMeta {
  /** The queue's run id (client-chosen ids may repeat across sessions; lookups take the newest). */
  runId: string;
  /** Absolute path of the script the run belongs to. */
  script: string;
  code: string;
  title?: string;
  lineStart?: number;
  lineEnd?: number;
  /** Login name and host name of who ran it. */
  user: string;
  host: string;
  shell: string;
  /** Random id of the cmdrun process that ran it (tells this session's runs from earlier ones). */
  session: string;
  /** Epoch ms. */
  startedAt: number;
  /** Where it ran: its session's target (`local`, `ssh://db1`); a fleet run's row: its host's. */
  target?: string;
  /** For a host's row of a fleet run: the fleet as written (`@web`, `ssh://a,ssh://b`); its rows share the run id. */
  fleet?: string;
  /**
   * For a host's row of a fleet run: the host's place in fleet order (0-based), which its rows are
   * read back in (hosts start in their own order). Kept, never listed.
   */
  fleetIndex?: number;
}

/** How a run ended. */
export interface RunOutcome {
  exitCode: number;
  durationMs: number;
  interrupted: boolean;
  sessionRestarted: boolean;
  /** The session's working directory after the block. */
  cwd: string;
  /** A fleet host's only: its session could not connect (ssh's status 255 and message as its output). */
  unreachable?: boolean;
}

/**
 * One run as the history lists it; `exitCode` etc. are absent while it is unfinished.
 * `unreachable` is a fleet host's row's only (absent on rows written before it was kept).
 */
export interface HistorySummary extends Omit<RunMeta, 'fleetIndex'>, Partial<RunOutcome> {
  /** The history's own id of the run (unique in the database). */
  id: number;
  /** False while the run has no exit status: still running, or its cmdrun was killed. */
  finished: boolean;
  /** A server-side failure, when the run ended with one. */
  error?: string;
  /** UTF-8 bytes of output kept, and dropped between head and tail. */
  outputBytes: number;
  omittedBytes: number;
}

/** One run with its output (head, an omitted mark when output was dropped, tail). */
export interface HistoryRun extends HistorySummary {
  output: string;
}

/** A query of the history; every field optional. */
export interface HistoryQuery {
  /** Only this script's runs (absolute path). */
  script?: string;
  /** At most this many (default 50). */
  limit?: number;
  /** Only runs started before this epoch ms (paging: the last startedAt seen). */
  before?: number;
  /** Only runs whose code, title or output contains this text (case-insensitive for ASCII). */
  search?: string;
  /** Only runs on this target (`ssh://db1`, `local`), or the host rows of fleet runs written so (`@web`). */
  on?: string;
}

/** A row of `output` as it is written: text, or its UTF-8 bytes (stored as text all the same). */
export interface OutputRow {
  head: boolean;
  text: string | Buffer;
}

/** The tables and indexes (created when absent). */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL,
  script TEXT NOT NULL,
  code TEXT NOT NULL,
  title TEXT,
  line_start INTEGER,
  line_end INTEGER,
  user TEXT NOT NULL,
  host TEXT NOT NULL,
  shell TEXT NOT NULL,
  session TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  duration_ms INTEGER,
  exit_code INTEGER,
  interrupted INTEGER,
  session_restarted INTEGER,
  cwd TEXT,
  error TEXT,
  output_bytes INTEGER NOT NULL DEFAULT 0,
  omitted_bytes INTEGER NOT NULL DEFAULT 0,
  target TEXT,
  fleet TEXT,
  fleet_index INTEGER,
  unreachable INTEGER
);
CREATE INDEX IF NOT EXISTS runs_by_script ON runs (script, started_at);
CREATE INDEX IF NOT EXISTS runs_by_time ON runs (started_at);
CREATE INDEX IF NOT EXISTS runs_by_run_id ON runs (run_id);
CREATE TABLE IF NOT EXISTS output (
  id INTEGER PRIMARY KEY,
  run INTEGER NOT NULL,
  head INTEGER NOT NULL,
  text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS output_by_run ON output (run, id);
`;


/** A row of `runs` as SQLite gives it. */
export interface RunRow {
  id: number;
  run_id: string;
  script: string;
  code: string;
  title: string | null;
  line_start: number | null;
  line_end: number | null;
  user: string;
  host: string;
  shell: string;
  session: string;
  started_at: number;
  duration_ms: number | null;
  exit_code: number | null;
  interrupted: number | null;
  session_restarted: number | null;
  cwd: string | null;
  error: string | null;
  output_bytes: number;
  omitted_bytes: number;
  target: string | null;
  fleet: string | null;
  fleet_index: number | null;
  unreachable: number | null;
}

/** Columns added since the first schema, added to an older database when it is opened (name, SQL type). */
export const ADDED_COLUMNS: ReadonlyArray<[string, string]> = [
  ['target', 'TEXT'],
  ['fleet', 'TEXT'],
  ['fleet_index', 'INTEGER'],
  ['unreachable', 'INTEGER'],
];

/** A `runs` row as the history lists it. */
export function summaryOf(row: RunRow): HistorySummary {
  const s: HistorySummary = {
    id: row.id,
    runId: row.run_id,
    script: row.script,
    code: row.code,
    user: row.user,
    host: row.host,
    shell: row.shell,
    session: row.session,
    startedAt: row.started_at,
    finished: row.exit_code !== null,
    outputBytes: row.output_bytes,
    omittedBytes: row.omitted_bytes,
  };
  if (row.title !== null) s.title = row.title;
  if (row.line_start !== null) s.lineStart = row.line_start;
  if (row.line_end !== null) s.lineEnd = row.line_end;
  if (row.exit_code !== null) {
    s.exitCode = row.exit_code;
    s.durationMs = row.duration_ms ?? 0;
    s.interrupted = Boolean(row.interrupted);
    s.sessionRestarted = Boolean(row.session_restarted);
  }
  if (row.cwd !== null) s.cwd = row.cwd;
  if (row.target !== null) s.target = row.target;
  if (row.fleet !== null) s.fleet = row.fleet;
  if (row.unreachable !== null) s.unreachable = Boolean(row.unreachable);
  if (row.error !== null) s.error = row.error;
  return s;
}

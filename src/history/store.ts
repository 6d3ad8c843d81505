/**
 * The run history: one SQLite database (better-sqlite3, synchronous) shared by every cmdrun
 * process of the user. WAL journal mode lets readers and one writer at a time work at once, and a
 * busy timeout makes a second writer wait instead of failing (sqlite.org/wal.html,
 * sqlite.org/pragma.html#pragma_busy_timeout). `synchronous = NORMAL` in WAL mode loses no committed
 * transaction when the process is killed (only on power loss), so a `kill -9` loses only the output
 * not yet flushed.
 *
 * Tables: `runs` (one row a run: what ran, where, by whom, how it ended; NULL exit status while
 * unfinished) and `output` (a run's kept output in order: rows of its head, then rows of its tail;
 * `runs.omitted_bytes` counts the output dropped between them). No HTTP here: routes and the CLI
 * read through {@link HistoryStore}.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { omittedMark } from '../runs/run.js';

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
}

/** How a run ended. */
export interface RunOutcome {
  exitCode: number;
  durationMs: number;
  interrupted: boolean;
  sessionRestarted: boolean;
  /** The session's working directory after the block. */
  cwd: string;
}

/** One run as the history lists it; `exitCode` etc. are absent while it is unfinished. */
export interface HistorySummary extends RunMeta, Partial<RunOutcome> {
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
}

/** A row of `output` as it is written: text, or its UTF-8 bytes (stored as text all the same). */
export interface OutputRow {
  head: boolean;
  text: string | Buffer;
}

const SCHEMA = `
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
  omitted_bytes INTEGER NOT NULL DEFAULT 0
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

/** How long a writer waits for another process's write to finish (ms). */
const BUSY_TIMEOUT_MS = 5000;

interface RunRow {
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
}

function summaryOf(row: RunRow): HistorySummary {
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
  if (row.error !== null) s.error = row.error;
  return s;
}

/** `text` as a LIKE pattern matching it anywhere (%, _ and \ escaped; ESCAPE '\'). */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The history database. Every method is synchronous and may throw better-sqlite3's SqliteError. */
export class HistoryStore {
  /** One transaction function for all (better-sqlite3 prepares BEGIN, COMMIT, SAVEPOINT… for each). */
  private readonly transaction: (fn: () => unknown) => unknown;

  private constructor(
    private readonly db: Database.Database,
    /** The database file. */
    readonly path: string,
  ) {
    this.transaction = db.transaction((fn: () => unknown) => fn());
  }

  /**
   * Opens (creating when absent, unless `readOnly`) the database at `path`: its folder is created
   * with mode 0700 and the file with 0600 (SQLite gives the -wal and -shm files the database
   * file's mode), since outputs can hold secrets.
   * @throws Error when the folder or file cannot be created or opened, or is not a database
   *   (SqliteError SQLITE_NOTADB), or, with `readOnly`, does not exist.
   */
  static open(path: string, options: { readOnly?: boolean } = {}): HistoryStore {
    if (!options.readOnly) {
      makeDirs(dirname(path), 0o700);
      closeSync(openSync(path, 'a', 0o600));
      try {
        chmodSync(path, 0o600);
      } catch {
        // another user's file we may still write to: leave its mode alone
      }
    }
    const db = new Database(path, { readonly: options.readOnly ?? false, fileMustExist: options.readOnly ?? false, timeout: BUSY_TIMEOUT_MS });
    try {
      if (!options.readOnly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        // A long block rewrites its kept tail (4 MiB) every flush: checkpoint every ~40 MB of WAL
        // rather than SQLite's default 4 MB, and truncate the WAL back to 64 MiB afterwards.
        db.pragma('wal_autocheckpoint = 10000');
        db.pragma('journal_size_limit = 67108864');
        // A small page cache (SQLite's default is 2 MB): a 4 MiB write held ~10 MiB more at the peak
        // of a 200 MB run; the history's reads scan a few rows and the OS caches the file anyway.
        db.pragma('cache_size = -512');
        db.exec(SCHEMA);
      } else {
        db.pragma('schema_version'); // reads the header: fails now on a file that is not a database
      }
    } catch (err) {
      db.close();
      throw err;
    }
    return new HistoryStore(db, path);
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** The prepared statement of `text` (prepared once: a block's writes cost ~20 µs less each). */
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  /** Runs `fn` in one transaction (a savepoint inside another one), and returns what it returns. */
  atomically<T>(fn: () => T): T {
    return this.transaction(fn) as T;
  }


  /** Records a run's start; returns its history id. */
  begin(meta: RunMeta): number {
    const info = this
      .sql(
        `INSERT INTO runs (run_id, script, code, title, line_start, line_end, user, host, shell, session, started_at)
         VALUES (@runId, @script, @code, @title, @lineStart, @lineEnd, @user, @host, @shell, @session, @startedAt)`,
      )
      .run({ title: null, lineStart: null, lineEnd: null, ...meta });
    return Number(info.lastInsertRowid);
  }

  /**
   * Appends output rows to run `id` and deletes the rows `drop` (output tail rows that fell out of
   * the kept tail), in one transaction; `omittedBytes` is the run's new total of dropped bytes.
   * @returns the ids of the inserted rows, in order.
   */
  writeOutput(id: number, rows: OutputRow[], drop: number[], outputBytes: number, omittedBytes: number): number[] {
    // Bytes are bound as a BLOB: CAST keeps the column text (LIKE, and what reads give back).
    const insert = this.sql('INSERT INTO output (run, head, text) VALUES (?, ?, CAST(? AS TEXT))');
    const remove = this.sql('DELETE FROM output WHERE id = ?');
    const update = this.sql('UPDATE runs SET output_bytes = ?, omitted_bytes = ? WHERE id = ?');
    return this.atomically(() => {
      const ids = rows.map((row) => Number(insert.run(id, row.head ? 1 : 0, row.text).lastInsertRowid));
      for (const rowId of drop) remove.run(rowId);
      update.run(outputBytes, omittedBytes, id);
      return ids;
    });
  }

  /** Records how run `id` ended: its exit status, or a server-side `error`. */
  finish(id: number, outcome: RunOutcome | { error: string; durationMs: number }): void {
    if ('error' in outcome) {
      this.sql('UPDATE runs SET error = ?, duration_ms = ? WHERE id = ?').run(outcome.error, outcome.durationMs, id);
      return;
    }
    this
      .sql('UPDATE runs SET exit_code = ?, duration_ms = ?, interrupted = ?, session_restarted = ?, cwd = ? WHERE id = ?')
      .run(outcome.exitCode, outcome.durationMs, outcome.interrupted ? 1 : 0, outcome.sessionRestarted ? 1 : 0, outcome.cwd, id);
  }

  /** Runs matching `query`, newest first. */
  list(query: HistoryQuery = {}): HistorySummary[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.script !== undefined) where.push('script = ?'), params.push(query.script);
    if (query.before !== undefined) where.push('started_at < ?'), params.push(query.before);
    if (query.search) {
      const like = containing(query.search);
      where.push(
        `(code LIKE ? ESCAPE '\\' OR title LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM output o WHERE o.run = runs.id AND o.text LIKE ? ESCAPE '\\'))`,
      );
      params.push(like, like, like);
    }
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id DESC LIMIT ?`;
    return (this.sql(sql).all(...params, query.limit ?? 50) as RunRow[]).map(summaryOf);
  }

  /** The newest run with this run id, with its output; undefined when there is none. */
  get(runId: string): HistoryRun | undefined {
    const row = this.sql('SELECT * FROM runs WHERE run_id = ? ORDER BY started_at DESC, id DESC LIMIT 1').get(runId) as RunRow | undefined;
    if (!row) return undefined;
    const rows = this.sql('SELECT head, text FROM output WHERE run = ? ORDER BY id').all(row.id) as Array<{ head: number; text: string }>;
    const head = rows.filter((r) => r.head).map((r) => r.text);
    const tail = rows.filter((r) => !r.head).map((r) => r.text);
    const gap = row.omitted_bytes > 0 ? omittedMark(row.omitted_bytes) : '';
    return { ...summaryOf(row), output: head.join('') + gap + tail.join('') };
  }

  /** The kept size of a script's history: code (characters) and output (bytes). */
  size(script: string): number {
    const row = this.sql('SELECT coalesce(sum(length(code) + output_bytes), 0) AS size FROM runs WHERE script = ?').get(script) as { size: number };
    return row.size;
  }

  /**
   * Deletes a script's oldest runs (but not those in `keep`) until its history is at most
   * `maxChars` (code characters and output bytes). Returns the size left.
   */
  prune(script: string, maxChars: number, keep: ReadonlySet<number> = new Set()): number {
    let size = this.size(script);
    if (size <= maxChars) return size;
    const oldest = this.sql('SELECT id, length(code) + output_bytes AS size FROM runs WHERE script = ? ORDER BY started_at, id').iterate(script) as Iterable<{ id: number; size: number }>;
    const doomed: number[] = [];
    for (const run of oldest) {
      if (size <= maxChars) break;
      if (keep.has(run.id)) continue;
      doomed.push(run.id);
      size -= run.size;
    }
    this.delete(doomed);
    return size;
  }

  /** Deletes the history of one script, or all of it; returns how many runs were deleted. */
  clear(script?: string): number {
    const ids = (
      script === undefined ? this.sql('SELECT id FROM runs').all() : this.sql('SELECT id FROM runs WHERE script = ?').all(script)
    ) as Array<{ id: number }>;
    this.delete(ids.map((r) => r.id));
    return ids.length;
  }

  private delete(ids: number[]): void {
    const output = this.sql('DELETE FROM output WHERE run = ?');
    const run = this.sql('DELETE FROM runs WHERE id = ?');
    this.atomically(() => {
      for (const id of ids) output.run(id), run.run(id);
    });
  }

  /** Closes the database (the WAL is checkpointed into it). */
  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * `mkdir -p` one level at a time. Node 20's `mkdirSync(dir, { recursive: true })` never returns for
 * a folder that cannot be made under /proc (`--history /proc/x/h.db` held cmdrun at 100% CPU).
 * @throws the fs error of the first level that cannot be made (ENOENT, ENOTDIR, EACCES...).
 */
function makeDirs(dir: string, mode: number): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d) && dirname(d) !== d; d = dirname(d)) missing.unshift(d);
  for (const d of missing) {
    try {
      mkdirSync(d, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * Opens the history for a command, or returns undefined (no history) after printing one warning
 * on stderr when it cannot be opened: cmdrun then runs without history (issue 14: a broken
 * database never stops the notebook).
 */
export function openHistory(path: string | undefined, warn: (message: string) => void = (m) => process.stderr.write(`${m}\n`)): HistoryStore | undefined {
  if (path === undefined) return undefined;
  try {
    return HistoryStore.open(path);
  } catch (err) {
    warn(`cmdrun: warning: history is off: cannot open ${path}: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * The run history: one SQLite database (through node:sqlite or better-sqlite3: sqlite.ts;
 * synchronous) shared by every cmdrun process of the user. WAL journal mode lets readers and one
 * writer at a time work at once, and a busy timeout makes a second writer wait instead of failing (sqlite.org/wal.html,
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
import { omittedMark } from '../runs/run.js';
import { ADDED_COLUMNS, SCHEMA, summaryOf, type HistoryQuery, type HistoryRun, type HistorySummary, type OutputRow, type RunMeta, type RunOutcome, type RunRow } from './rows.js';
import { NoSqliteError, openDatabase, type SqlDatabase, type SqlStatement, type SqlValue } from './sqlite.js';

export type { HistoryQuery, HistoryRun, HistorySummary, OutputRow, RunMeta, RunOutcome } from './rows.js';

/** How long a writer waits for another process's write to finish (ms). */
const BUSY_TIMEOUT_MS = 5000;
/**
 * What the history of one script takes on disk at most (database file and WAL, bytes) once its
 * runs were pruned to `maxChars` (--history-max) and `runs` are kept: a quarter more for pages'
 * free room, ~0.5 KB a run for its facts (ids, paths, times; ~370 bytes measured), 256 KiB for
 * the tables' own pages. The README's History section states it.
 */
export const HISTORY_DISK_BOUND = (maxChars: number, runs = 0) => Math.ceil(maxChars * 1.25) + 512 * runs + 256 * 1024;
/** SQLite's page size (its default: the history never sets another). */
const PAGE_BYTES = 4096;
/** WAL pages between checkpoints: SQLite's default, and the history's (see HistoryStore.limitWal). */
const MIN_WAL_PAGES = 1000;
const MAX_WAL_PAGES = 10_000;
/** `PRAGMA auto_vacuum`'s value for incremental auto-vacuum. */
const INCREMENTAL = 2;

/** `text` as a LIKE pattern matching it anywhere (%, _ and \ escaped; ESCAPE '\'). */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The history database. Every method is synchronous and may throw the SQLite driver's error. */
export class HistoryStore {
  /** Transactions open: the outermost is BEGIN … COMMIT, those inside it savepoints. */
  private depth = 0;

  private constructor(
    private readonly db: SqlDatabase,
    /** The database file. */
    readonly path: string,
  ) {}

  /**
   * Opens (creating when absent, unless `readOnly`) the database at `path`: its folder is created
   * with mode 0700 and the file with 0600 (SQLite gives the -wal and -shm files the database
   * file's mode), since outputs can hold secrets. A new database is made with incremental
   * auto-vacuum, and one made before it is vacuumed once to switch (sqlite.org/pragma.html
   * #pragma_auto_vacuum: "auto-vacuuming must be turned on before any tables are created", or a
   * VACUUM changes it), so pruning gives the space back ({@link HistoryStore.prune}).
   * @throws NoSqliteError (one line) when no SQLite driver loads (see sqlite.ts); Error when the
   *   folder or file cannot be created or opened, or is not a database (SQLITE_NOTADB), or, with
   *   `readOnly`, does not exist.
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
    const db = openDatabase(path, { readOnly: options.readOnly });
    const store = new HistoryStore(db, path);
    try {
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      if (!options.readOnly) {
        // 0 none, 1 full, 2 incremental. A database without tables takes the setting at once.
        const vacuum = store.pragma('auto_vacuum');
        const fresh = (store.sql('SELECT count(*) AS n FROM sqlite_schema').get() as { n: number }).n === 0;
        if (vacuum !== INCREMENTAL && fresh) db.exec('PRAGMA auto_vacuum = INCREMENTAL');
        db.exec('PRAGMA journal_mode = WAL');
        db.exec('PRAGMA synchronous = NORMAL');
        store.limitWal(MAX_WAL_PAGES * PAGE_BYTES);
        // A small page cache (SQLite's default is 2 MB): a 4 MiB write held ~10 MiB more at the peak
        // of a 200 MB run; the history's reads scan a few rows and the OS caches the file anyway.
        db.exec('PRAGMA cache_size = -512');
        db.exec(SCHEMA);
        store.addColumns();
        if (vacuum !== INCREMENTAL && !fresh) store.switchToIncrementalVacuum();
      } else {
        store.pragma('schema_version'); // reads the header: fails now on a file that is not a database
      }
    } catch (err) {
      db.close();
      throw err;
    }
    return store;
  }

  /**
   * How large the WAL grows between checkpoints (bytes, about): SQLite's default is 1,000 pages
   * (4 MB); a long block rewrites its kept tail (4 MiB) every flush, so by default the history
   * checkpoints every 10,000 pages (~40 MB) instead. A recorder whose --history-max is smaller
   * asks for less, down to SQLite's default, so that the WAL stays near the history's size; the
   * file is truncated back to this size after a checkpoint (`journal_size_limit`), and pruning
   * empties it (see {@link HistoryStore.prune}).
   */
  limitWal(bytes: number): void {
    const pages = Math.max(MIN_WAL_PAGES, Math.min(MAX_WAL_PAGES, Math.ceil(bytes / PAGE_BYTES)));
    this.db.exec(`PRAGMA wal_autocheckpoint = ${pages}`);
    this.db.exec(`PRAGMA journal_size_limit = ${pages * PAGE_BYTES}`);
  }

  /** The value of a PRAGMA that reads one. */
  private pragma(name: string): unknown {
    return Object.values(this.sql(`PRAGMA ${name}`).get() as object)[0];
  }

  /** Adds the columns an older database lacks (rows.ts ADDED_COLUMNS); their old rows hold NULL. */
  private addColumns(): void {
    const have = new Set((this.sql('PRAGMA table_info(runs)').all() as Array<{ name: string }>).map((c) => c.name));
    for (const [name, type] of ADDED_COLUMNS) if (!have.has(name)) this.db.exec(`ALTER TABLE runs ADD COLUMN ${name} ${type}`);
  }

  /**
   * A database made by cmdrun 0.4 or earlier has no auto-vacuum: VACUUM rewrites it with
   * incremental auto-vacuum (once; it needs the write lock, so while another process writes it
   * waits the busy timeout, and on failure the next open tries again).
   */
  private switchToIncrementalVacuum(): void {
    try {
      this.db.exec('PRAGMA auto_vacuum = INCREMENTAL');
      this.db.exec('VACUUM');
    } catch {
      // busy, or no room for the copy VACUUM makes: the history works as before
    }
  }

  private readonly statements = new Map<string, SqlStatement>();

  /** The prepared statement of `text` (prepared once: a block's writes cost ~20 µs less each). */
  private sql(text: string): SqlStatement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  /**
   * Runs `fn` in one transaction (a savepoint inside another one), and returns what it returns;
   * when `fn` throws, what it wrote is rolled back and the error thrown on. The outermost is
   * `BEGIN IMMEDIATE`: it takes the write lock first (waiting up to the busy timeout for another
   * process's), so it never fails half way for a lock (sqlite.org/lang_transaction.html).
   */
  atomically<T>(fn: () => T): T {
    const savepoint = `t${this.depth}`;
    this.sql(this.depth ? `SAVEPOINT ${savepoint}` : 'BEGIN IMMEDIATE').run();
    this.depth++;
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.depth--;
      try {
        if (this.depth) this.sql(`ROLLBACK TO ${savepoint}`).run(), this.sql(`RELEASE ${savepoint}`).run();
        else this.sql('ROLLBACK').run();
      } catch {
        // SQLite rolled it back already (a full disk or I/O error ends the transaction)
      }
      throw err;
    }
    this.depth--;
    try {
      this.sql(this.depth ? `RELEASE ${savepoint}` : 'COMMIT').run();
    } catch (err) {
      try {
        if (!this.depth) this.sql('ROLLBACK').run();
      } catch {
        // no transaction left to roll back
      }
      throw err;
    }
    return result;
  }

  /** Records a run's start; returns its history id. */
  begin(meta: RunMeta): number {
    const info = this
      .sql(
        `INSERT INTO runs (run_id, script, code, title, line_start, line_end, user, host, shell, session, started_at, target, fleet, fleet_index)
         VALUES (@runId, @script, @code, @title, @lineStart, @lineEnd, @user, @host, @shell, @session, @startedAt, @target, @fleet, @fleetIndex)`,
      )
      .run({
        runId: meta.runId,
        script: meta.script,
        code: meta.code,
        title: meta.title ?? null,
        lineStart: meta.lineStart ?? null,
        lineEnd: meta.lineEnd ?? null,
        user: meta.user,
        host: meta.host,
        shell: meta.shell,
        session: meta.session,
        startedAt: meta.startedAt,
        target: meta.target ?? null,
        fleet: meta.fleet ?? null,
        fleetIndex: meta.fleetIndex ?? null,
      });
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

  /** Records how run `id` ended: its exit status (and for a fleet host whether it was reachable), or a server-side `error`. */
  finish(id: number, outcome: RunOutcome | { error: string; durationMs: number }): void {
    if ('error' in outcome) {
      this.sql('UPDATE runs SET error = ?, duration_ms = ? WHERE id = ?').run(outcome.error, outcome.durationMs, id);
      return;
    }
    this
      .sql('UPDATE runs SET exit_code = ?, duration_ms = ?, interrupted = ?, session_restarted = ?, cwd = ?, unreachable = ? WHERE id = ?')
      .run(outcome.exitCode, outcome.durationMs, outcome.interrupted ? 1 : 0, outcome.sessionRestarted ? 1 : 0, outcome.cwd, outcome.unreachable === undefined ? null : outcome.unreachable ? 1 : 0, id);
  }

  /** Runs matching `query`, newest first. */
  list(query: HistoryQuery = {}): HistorySummary[] {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (query.script !== undefined) where.push('script = ?'), params.push(query.script);
    if (query.before !== undefined) where.push('started_at < ?'), params.push(query.before);
    if (query.on !== undefined) where.push('(target = ? OR fleet = ?)'), params.push(query.on, query.on);
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

  /** The newest run with this run id (of a fleet run: its host that started last), with its output; undefined when there is none. */
  get(runId: string): HistoryRun | undefined {
    const row = this.sql('SELECT id FROM runs WHERE run_id = ? ORDER BY started_at DESC, id DESC LIMIT 1').get(runId) as { id: number } | undefined;
    return row && this.byId(row.id);
  }

  /** The run of history id `id`, with its output. */
  private byId(id: number): HistoryRun | undefined {
    const row = this.sql('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!row) return undefined;
    const rows = this.sql('SELECT head, text FROM output WHERE run = ? ORDER BY id').all(row.id) as Array<{ head: number; text: string }>;
    const head = rows.filter((r) => r.head).map((r) => r.text);
    const tail = rows.filter((r) => !r.head).map((r) => r.text);
    const gap = row.omitted_bytes > 0 ? omittedMark(row.omitted_bytes) : '';
    return { ...summaryOf(row), output: head.join('') + gap + tail.join('') };
  }

  /**
   * Every host's row of the fleet run `runId` (of the session that ran it last), with its output,
   * in fleet order (rows written before it was kept: in the order the hosts started); [] when it
   * is no fleet run.
   */
  hosts(runId: string): HistoryRun[] {
    const newest = this.get(runId);
    if (!newest?.fleet) return [];
    const ids = this.sql('SELECT id FROM runs WHERE run_id = ? AND session = ? AND fleet IS NOT NULL ORDER BY fleet_index IS NULL, fleet_index, started_at, id').all(runId, newest.session) as Array<{ id: number }>;
    return ids.map((r) => this.byId(r.id)!);
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
    if (ids.length && !this.depth) this.giveBack();
  }

  /**
   * Gives the pages that deleted runs left free back to the file system: incremental auto-vacuum
   * moves the last pages into them and truncates the file, then a checkpoint writes that into the
   * database file and empties the WAL. The checkpoint does not wait: while another process writes
   * or reads an older state it does what it can, and the next pruning finishes it (a TRUNCATE
   * checkpoint would otherwise wait out the busy timeout, holding up this process). A database
   * without auto-vacuum (its switch failed) only has its WAL emptied.
   */
  private giveBack(): void {
    this.db.exec('PRAGMA incremental_vacuum');
    this.db.exec('PRAGMA busy_timeout = 0');
    try {
      this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    } catch {
      // SQLITE_BUSY: another process checkpoints or writes; the WAL is emptied another time
    } finally {
      this.db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  /** Closes the database (the WAL is checkpointed into it). */
  close(): void {
    this.db.close();
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
    warn(historyOffWarning(path, err));
    return undefined;
  }
}

/**
 * The one line that says history is off and why: that no SQLite driver loaded, or why `path`
 * cannot be opened (the first line of the error: the README promises one line).
 */
export function historyOffWarning(path: string, err: unknown): string {
  const why = String((err as Error)?.message ?? err).split('\n')[0];
  return err instanceof NoSqliteError ? `cmdrun: warning: history is off: ${why}` : `cmdrun: warning: history is off: cannot open ${path}: ${why}`;
}

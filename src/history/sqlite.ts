/**
 * The SQLite driver under the history: Node's own `node:sqlite` where it is there without a flag
 * (Node ≥ 22.13: nothing to compile at install), else better-sqlite3, an optional dependency of
 * cmdrun built at install (Node 20.19+). Both are the same SQLite library with its file format, so
 * either reads and writes the same database file; the store (store.ts) sees only
 * {@link SqlDatabase}, the few calls both drivers share.
 *
 * `CMDRUN_SQLITE=better-sqlite3` (or `node:sqlite`) picks one driver (tests and troubleshooting);
 * by default node:sqlite is tried first.
 */
import { createRequire } from 'node:module';

/** Values bound to a statement's parameters (`?` in order, or one object for `@name`s). */
export type SqlValue = null | number | bigint | string | Uint8Array;
export type SqlParams = SqlValue[] | [Record<string, SqlValue>];

/** A prepared statement: what better-sqlite3's `Statement` and node:sqlite's `StatementSync` share. */
export interface SqlStatement {
  /** Runs it; `lastInsertRowid` is the rowid of the last INSERT (a number or a bigint). */
  run(...params: SqlParams): { changes: number | bigint; lastInsertRowid: number | bigint };
  /** Its first row, or undefined. */
  get(...params: SqlParams): unknown;
  all(...params: SqlParams): unknown[];
  iterate(...params: SqlParams): Iterable<unknown>;
}

/** An open database. Every call is synchronous and throws the driver's error (a message, a `code`). */
export interface SqlDatabase {
  /** Which driver opened it. */
  readonly driver: SqlDriver;
  /** Runs SQL text of one or more statements, without results. */
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  /** Closes it (the last connection checkpoints the WAL into the file and deletes it). */
  close(): void;
}

/** The drivers, as `CMDRUN_SQLITE` names them. */
export type SqlDriver = 'node:sqlite' | 'better-sqlite3';

/** The SQLite driver could not be loaded: history is off. `message` is one line. */
export class NoSqliteError extends Error {}

/** The part of node:sqlite's `DatabaseSync` used here (Node 22.13+; @types/node 20 has none). */
interface NodeSqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  close(): void;
}
interface NodeSqlite {
  DatabaseSync: new (path: string, options?: { readOnly?: boolean; open?: boolean }) => NodeSqliteDatabase;
}
/** The part of better-sqlite3's `Database` used here. */
interface BetterSqliteDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): SqlStatement;
  close(): unknown;
  readonly open: boolean;
}
type BetterSqlite = new (path: string, options?: { readonly?: boolean; fileMustExist?: boolean }) => BetterSqliteDatabase;

/** node:sqlite, or undefined when this Node has none (before 22.13 it needs --experimental-sqlite). */
function loadNodeSqlite(): NodeSqlite | undefined {
  // Node 22 and 24 print an ExperimentalWarning when the module first loads: one line on stderr of
  // every command, about nothing the user can act on. Only that warning is kept back.
  const emit = process.emitWarning;
  process.emitWarning = function (this: unknown, ...args: Parameters<typeof process.emitWarning>) {
    const [warning, options] = args;
    const type = typeof options === 'string' ? options : (options as { type?: string } | undefined)?.type ?? (warning as Error).name;
    if (type === 'ExperimentalWarning' && /SQLite/i.test(String((warning as Error).message ?? warning))) return;
    return emit.apply(process, args);
  } as typeof process.emitWarning;
  try {
    return process.getBuiltinModule?.('node:sqlite') as NodeSqlite | undefined;
  } catch {
    return undefined;
  } finally {
    process.emitWarning = emit;
  }
}

/** better-sqlite3, or the first line of why it cannot load (not installed, not built for this Node). */
function loadBetterSqlite(): BetterSqlite | string {
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3') as BetterSqlite;
    // Its compiled part loads with the first database: fails here when it was never built (npm 12
    // runs no install script the installing project did not allow) or built for another Node.
    new Database(':memory:').close();
    return Database;
  } catch (err) {
    // A missing build lists every bindings path it tried (15 lines): the first line says it.
    return String((err as Error).message).split('\n')[0];
  }
}

let driver: { name: SqlDriver; open: (path: string, readOnly: boolean) => SqlDatabase } | undefined;

/**
 * The driver this process uses (loaded on first call).
 * @throws NoSqliteError (one line) when neither node:sqlite nor a built better-sqlite3 is there.
 */
function sqlite(): NonNullable<typeof driver> {
  if (driver) return driver;
  const wanted = process.env.CMDRUN_SQLITE;
  const native = wanted === 'better-sqlite3' ? undefined : loadNodeSqlite();
  if (native) {
    return (driver = {
      name: 'node:sqlite',
      open(path, readOnly) {
        const db = new native.DatabaseSync(path, { readOnly });
        let open = true;
        return {
          driver: 'node:sqlite',
          exec: (sql) => db.exec(sql),
          prepare: (sql) => db.prepare(sql),
          close() {
            if (open) db.close();
            open = false;
          },
        };
      },
    });
  }
  const better = wanted === 'node:sqlite' ? 'not tried: CMDRUN_SQLITE=node:sqlite' : loadBetterSqlite();
  if (typeof better === 'string') {
    const native = wanted === 'better-sqlite3' ? 'node:sqlite not tried (CMDRUN_SQLITE=better-sqlite3)' : `Node ${process.versions.node} has no node:sqlite (22.13+ has)`;
    throw new NoSqliteError(`${native} and better-sqlite3 did not load (${better}): use Node 22.13 or later, or build it (npm rebuild better-sqlite3)`);
  }
  return (driver = {
    name: 'better-sqlite3',
    open(path, readOnly) {
      const db = new better(path, { readonly: readOnly, fileMustExist: readOnly });
      return {
        driver: 'better-sqlite3',
        exec: (sql) => void db.exec(sql),
        prepare: (sql) => db.prepare(sql),
        close() {
          if (db.open) db.close();
        },
      };
    },
  });
}

/**
 * Opens the SQLite database at `path` (created when absent unless `readOnly`; read-only needs an
 * existing file).
 * @throws NoSqliteError when no driver loads; the driver's error when the file cannot be opened.
 */
export function openDatabase(path: string, options: { readOnly?: boolean } = {}): SqlDatabase {
  return sqlite().open(path, options.readOnly ?? false);
}

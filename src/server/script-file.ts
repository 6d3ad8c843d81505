/**
 * The one file the CLI opened: read it, save it atomically without losing anyone's edits, and tell
 * changes made by other programs from the server's own (the state it last read or wrote).
 * No request ever names a path; the server only knows this file.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The file's content and modification time (ms since the epoch; null while it does not exist). */
export interface FileSnapshot {
  path: string;
  content: string;
  mtimeMs: number | null;
}

/** Thrown by {@link ScriptFile.save} when the file changed on disk since the caller loaded it. */
export class FileConflictError extends Error {
  constructor(readonly currentMtimeMs: number | null) {
    super('the file changed on disk since it was loaded');
  }
}

/** What identifies a version of the file on disk: mtime (ms since the epoch) and size (bytes). */
export interface DiskState {
  mtimeMs: number;
  size: number;
}

/** The file's state; null while it does not exist. */
export type FileState = DiskState | null;

const sameState = (a: FileState, b: FileState): boolean =>
  a === b || (a !== null && b !== null && a.mtimeMs === b.mtimeMs && a.size === b.size);

const absentOnEnoent = (err: unknown): null => {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
  throw err;
};

/**
 * The opened script. It remembers the state it last read or wrote, so that a state seen later that
 * differs is another program's change ({@link onExternalChange}).
 */
export class ScriptFile {
  /** The state this server last read or wrote; undefined until the first look. */
  private known: FileState | undefined;
  /** Reads, saves and checks run one at a time, each against the state the one before left. */
  private tail: Promise<unknown> = Promise.resolve();

  /**
   * Called when a read or {@link check} finds the file in a state this server did not write
   * (another program changed, replaced, deleted or created it). Never called for {@link save}.
   */
  onExternalChange: ((state: FileState) => void) | undefined;

  constructor(readonly path: string) {}

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Records a state seen on disk; one that differs from the known state is an external change. */
  private observe(state: FileState): void {
    const before = this.known;
    this.known = state;
    if (before !== undefined && !sameState(before, state)) this.onExternalChange?.(state);
  }

  /**
   * Stats the file and reports an external change if its state is not the known one. The first
   * check (or read) only records the state.
   */
  check(): Promise<void> {
    return this.exclusive(async () => {
      const info = await stat(this.path).catch(absentOnEnoent);
      this.observe(info && { mtimeMs: info.mtimeMs, size: info.size });
    });
  }

  /**
   * Reads the file; a file that does not exist yet reads as empty with mtimeMs null. Content and
   * mtime come from one open file, so a replaced file never pairs new content with an old mtime.
   */
  read(): Promise<FileSnapshot> {
    return this.exclusive(async () => {
      const handle = await open(this.path, 'r').catch(absentOnEnoent);
      if (!handle) {
        this.observe(null);
        return { path: this.path, content: '', mtimeMs: null };
      }
      try {
        const info = await handle.stat();
        const content = await handle.readFile('utf8');
        this.observe({ mtimeMs: info.mtimeMs, size: info.size });
        return { path: this.path, content, mtimeMs: info.mtimeMs };
      } finally {
        await handle.close();
      }
    });
  }

  /** The file's mtime and permission bits; a file that does not exist yet gets mode 0644. */
  private async currentMtime(): Promise<{ mtimeMs: number | null; mode: number }> {
    const info = await stat(this.path).catch(absentOnEnoent);
    return info ? { mtimeMs: info.mtimeMs, mode: info.mode & 0o7777 } : { mtimeMs: null, mode: 0o644 };
  }

  /**
   * Saves `content` if the file is still as the caller loaded it (`baseMtimeMs`, null = did not
   * exist). Writes a temp file in the same folder, fsyncs it, gives it the file's mode and renames
   * it over the file (rename(2) is atomic), so a failed save leaves the file as it was.
   *
   * The new state (mtime and size) is taken from the temp file before the rename, which keeps
   * them, so it is the state of this content even if another program writes the file right after
   * the rename: that write then differs from the known state and is reported by the next check.
   * Saves are not reported as external changes. Not seen: a write by another program between the
   * mtime check and the rename (the rename replaces it, as with any check-then-rename save), and one
   * of the same size within the same mtime tick as ours (a few ms on Linux; 1-2 s on FAT, HFS+).
   * @returns the new mtimeMs
   * @throws FileConflictError when the file's mtime is not `baseMtimeMs`; fs errors otherwise.
   */
  save(content: string, baseMtimeMs: number | null): Promise<number> {
    return this.exclusive(() => this.saveNow(content, baseMtimeMs));
  }

  private async saveNow(content: string, baseMtimeMs: number | null): Promise<number> {
    const { mtimeMs, mode } = await this.currentMtime();
    if (mtimeMs !== baseMtimeMs) throw new FileConflictError(mtimeMs);
    const temp = join(dirname(this.path), `.${basename(this.path)}.${randomBytes(6).toString('hex')}.tmp`);
    let written: DiskState;
    try {
      const handle = await open(temp, 'wx', mode);
      try {
        await handle.writeFile(content, 'utf8');
        await handle.chmod(mode); // open's mode is reduced by the umask
        await handle.sync();
        const info = await handle.stat();
        written = { mtimeMs: info.mtimeMs, size: info.size };
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    this.known = written;
    return written.mtimeMs;
  }
}

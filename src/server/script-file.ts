/**
 * The one file the CLI opened: read it, and save it atomically without losing anyone's edits.
 * No request ever names a path; the server only knows this file.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
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

export class ScriptFile {
  constructor(readonly path: string) {}

  /** Reads the file; a file that does not exist yet reads as empty with mtimeMs null. */
  async read(): Promise<FileSnapshot> {
    try {
      const [content, info] = await Promise.all([readFile(this.path, 'utf8'), stat(this.path)]);
      return { path: this.path, content, mtimeMs: info.mtimeMs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { path: this.path, content: '', mtimeMs: null };
      throw err;
    }
  }

  private async currentMtime(): Promise<{ mtimeMs: number | null; mode: number }> {
    try {
      const info = await stat(this.path);
      return { mtimeMs: info.mtimeMs, mode: info.mode & 0o7777 };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { mtimeMs: null, mode: 0o644 };
      throw err;
    }
  }

  /**
   * Saves `content` if the file is still as the caller loaded it (`baseMtimeMs`, null = did not
   * exist). Writes a temp file in the same folder, fsyncs it, gives it the file's mode and renames
   * it over the file (rename(2) is atomic), so a failed save leaves the file as it was.
   * @returns the new mtimeMs
   * @throws FileConflictError when the file's mtime is not `baseMtimeMs`; fs errors otherwise.
   */
  async save(content: string, baseMtimeMs: number | null): Promise<number> {
    const { mtimeMs, mode } = await this.currentMtime();
    if (mtimeMs !== baseMtimeMs) throw new FileConflictError(mtimeMs);
    const temp = join(dirname(this.path), `.${basename(this.path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const handle = await open(temp, 'wx', mode);
      try {
        await handle.writeFile(content, 'utf8');
        await handle.chmod(mode); // open's mode is reduced by the umask
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    return (await stat(this.path)).mtimeMs;
  }
}

/**
 * A file the session rewrites for every block (the block itself, the check's copy), kept open:
 * opening with O_TRUNC for every block cost ~0.2 ms each on a file system that discards freed
 * blocks (ext4 `-o discard`). The new text is written over the old from offset 0, then the file is
 * cut to its length, so a small file keeps its one block.
 */
import { closeSync, constants, ftruncateSync, openSync, writeSync } from 'node:fs';

export class BlockFile {
  private fd: number | undefined;

  /** @param path the file, created with mode 0600 on the first write. */
  constructor(readonly path: string) {}

  /**
   * Replaces the file's content with `text` (UTF-8).
   * @throws the fs error (ENOSPC, EACCES, ...) when the file cannot be written.
   */
  write(text: string): void {
    this.fd ??= openSync(this.path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    const data = Buffer.from(text, 'utf8');
    for (let at = 0; at < data.length; ) at += writeSync(this.fd, data, at, data.length - at, at);
    ftruncateSync(this.fd, data.length);
  }

  /** Closes the file (it stays on disk). Idempotent. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

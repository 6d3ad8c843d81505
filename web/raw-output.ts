/**
 * Raw terminal output kept as it arrived, bounded to its last `limit` characters: what Copy all
 * falls back to once the terminal dropped lines, and a fleet host's output on the page (a run of the
 * history has every host's; a live run's is on the server, GET /api/runs/:runId/output).
 */
import { plainText } from '../src/runs/format.js';

export class RawOutput {
  private chunks: string[] = [];
  private length = 0;
  /** Characters dropped from the start (UTF-16 code units). */
  dropped = 0;

  /** @param limit characters kept (UTF-16 code units), the last ones */
  constructor(private readonly limit: number) {}

  /** Appends a chunk; drops the oldest characters past the limit (a line's start at the earliest). */
  push(text: string): void {
    this.chunks.push(text);
    this.length += text.length;
    while (this.length > this.limit) {
      const excess = this.length - this.limit;
      const first = this.chunks[0];
      if (first.length <= excess) {
        this.chunks.shift();
        this.length -= first.length;
        this.dropped += first.length;
        continue;
      }
      // Cut inside the oldest chunk after a line end, so no line starts in the middle.
      const nl = first.indexOf('\n', excess - 1);
      const cut = nl >= 0 ? nl + 1 : this.chunks.length > 1 ? first.length : excess;
      this.chunks[0] = first.slice(cut);
      this.length -= cut;
      this.dropped += cut;
      if (!this.chunks[0]) this.chunks.shift();
    }
  }

  /** Everything kept, as one string (the chunks are joined once and kept joined). */
  raw(): string {
    if (this.chunks.length > 1) this.chunks = [this.chunks.join('')];
    return this.chunks[0] ?? '';
  }

  /** The kept output as plain text, after a note when its start was dropped. */
  plain(): string {
    const note = this.dropped ? `[… the first ${this.dropped} characters of output were not kept …]\n` : '';
    return note + plainText(this.raw());
  }
}

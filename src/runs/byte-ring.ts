/**
 * A reused buffer of UTF-8 text slots, freed oldest first: a run's output past its head
 * (run.ts), and the history's pending tail of a running block (src/history/recorder.ts).
 */

/** Where one output event's text lies in a {@link ByteRing}: UTF-8 bytes [at, at + bytes). */
export interface Slot {
  at: number;
  bytes: number;
}

/**
 * Output past a run's head, as UTF-8 in one buffer reused as the tail moves: slots are freed oldest
 * first, and each slot is contiguous (one that does not fit before the end starts again at 0).
 * Kept as strings, every chunk of a long run lived long enough to reach V8's old space, and a 200 MB
 * run left ~60 MB of dropped output there between collections.
 */
export class ByteRing {
  /** Allocated at the first push: most runs never print past their head. */
  private buf = Buffer.alloc(0);
  /** Live slots, oldest first. */
  private readonly slots: Slot[] = [];

  /** Stores `text` (or bytes) after the newest slot, growing the buffer when it does not fit. */
  push(text: string | Uint8Array): Slot {
    const bytes = typeof text === 'string' ? Buffer.byteLength(text) : text.length;
    let at = this.place(bytes);
    if (at < 0) {
      this.resize(Math.max(2 * this.buf.length, this.used() + bytes, 256 * 1024));
      at = this.place(bytes);
    }
    if (typeof text === 'string') this.buf.write(text, at, 'utf8');
    else this.buf.set(text, at);
    const slot = { at, bytes };
    this.slots.push(slot);
    return slot;
  }

  read(slot: Slot): string {
    return this.buf.toString('utf8', slot.at, slot.at + slot.bytes);
  }

  /** The slot's bytes, as a view of the buffer: valid until the next push. */
  view(slot: Slot): Buffer {
    return this.buf.subarray(slot.at, slot.at + slot.bytes);
  }

  /** Frees the oldest slot. */
  shift(): void {
    this.slots.shift();
  }

  /** Shrinks the buffer to the live bytes (the run has ended: nothing more is pushed). */
  compact(): void {
    this.resize(this.used());
  }

  /** Where `bytes` fit after the newest slot, or -1. */
  private place(bytes: number): number {
    if (this.slots.length === 0) return bytes <= this.buf.length ? 0 : -1;
    const start = this.slots[0].at;
    const newest = this.slots[this.slots.length - 1];
    const end = newest.at + newest.bytes;
    if (newest.at < start) return start - end >= bytes ? end : -1; // wrapped: free space is between
    if (this.buf.length - end >= bytes) return end;
    return start >= bytes ? 0 : -1;
  }

  private used(): number {
    return this.slots.reduce((sum, slot) => sum + slot.bytes, 0);
  }

  /** Copies the live slots, oldest first, to the start of a new buffer of `size` bytes. */
  private resize(size: number): void {
    const next = Buffer.allocUnsafe(size);
    let at = 0;
    for (const slot of this.slots) {
      this.buf.copy(next, at, slot.at, slot.at + slot.bytes);
      slot.at = at;
      at += slot.bytes;
    }
    this.buf = next;
  }
}

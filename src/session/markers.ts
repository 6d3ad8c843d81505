/**
 * In-band markers the shell hooks write to the terminal, and the scanner that separates them from
 * the block's own output.
 *
 * A marker is an OSC escape sequence (ECMA-48 §8.3.89 "operating system command"):
 * `ESC ] 6973 ; KIND ; FIELD ; FIELD ... BEL`. Terminals ignore OSC numbers they do not know, so a
 * marker that leaks never shows. The hooks write markers to /dev/tty, so they survive `exec >file`.
 */

/** The OSC prefix of every marker. */
export const MARKER_PREFIX = '\x1b]6973;';
const TERMINATOR = '\x07';

/**
 * What a marker announces. `r`: the shell is ready (with its pid); `s`: a block starts; `e`: a
 * block ended; `q`: the shell has ended (written by the session leader, with the shell's status);
 * `w`: on a remote machine, whether the block (its id) waits for terminal input; `h`: on a remote
 * machine, the shell hung for good and its input watcher killed it; `c`: on a remote machine, the
 * start times of the shell's commands running in the foreground (all three remote.ts).
 */
export type MarkerKind = 'r' | 's' | 'e' | 'q' | 'w' | 'h' | 'c';

/** One marker: its kind and its `;`-separated fields (the last field keeps any further `;`). */
export interface Marker {
  kind: MarkerKind;
  /** The per-start or per-block random id the marker carries. */
  id: string;
  /** For `e`: the exit status as text, then the shell's working directory; for `r`: the shell's
   * pid; for `q`: the shell's exit status (128 + N when signal N ended it); for `h`: the shell's
   * pid there; for `c`: the block's id, the time there and the start times (clock ticks since
   * boot, space-separated). */
  rest: string[];
}

/** A piece of the terminal stream: plain output, or a marker. */
export type Piece = { text: string } | { marker: Marker };

const FIELDS_OF: Record<MarkerKind, number> = { r: 2, s: 1, e: 3, q: 2, w: 3, h: 2, c: 4 };

function parseMarker(body: string): Marker | undefined {
  const kind = body[0] as MarkerKind;
  if (!(kind in FIELDS_OF) || body[1] !== ';') return undefined;
  const want = FIELDS_OF[kind];
  const parts = body.slice(2).split(';');
  if (parts.length < want) return undefined;
  const fields = [...parts.slice(0, want - 1), parts.slice(want - 1).join(';')];
  const [id, ...rest] = fields;
  if (!/^[A-Za-z0-9_-]+$/.test(id)) return undefined;
  return { kind, id, rest };
}

/**
 * Splits a stream of terminal text into output and markers. Chunks may end inside a marker or
 * inside its prefix: that tail is held back until the next chunk completes or refutes it.
 * Text that looks like a marker but is malformed passes through as output.
 */
export class MarkerScanner {
  private held = '';

  /** Feeds one chunk; returns the pieces that are complete so far, in stream order. */
  feed(chunk: string): Piece[] {
    let data = this.held + chunk;
    this.held = '';
    const pieces: Piece[] = [];
    let from = 0;
    for (;;) {
      const at = data.indexOf(MARKER_PREFIX, from);
      if (at < 0) {
        // Hold back a tail that could be the start of a prefix.
        const keep = partialPrefixLength(data);
        if (data.length - keep > from) pieces.push({ text: data.slice(from, data.length - keep) });
        this.held = data.slice(data.length - keep);
        return pieces;
      }
      const end = data.indexOf(TERMINATOR, at + MARKER_PREFIX.length);
      if (end < 0) {
        if (at > from) pieces.push({ text: data.slice(from, at) });
        this.held = data.slice(at);
        // A runaway "marker" (no BEL for 4 KiB) is output, not a marker.
        if (this.held.length > 4096) {
          pieces.push({ text: this.held });
          this.held = '';
        }
        return pieces;
      }
      const marker = parseMarker(data.slice(at + MARKER_PREFIX.length, end));
      if (marker) {
        if (at > from) pieces.push({ text: data.slice(from, at) });
        pieces.push({ marker });
        from = end + 1;
      } else {
        pieces.push({ text: data.slice(from, end + 1) });
        from = end + 1;
      }
      if (from === data.length) return pieces;
      data = data.slice(from);
      from = 0;
    }
  }

  /** Returns and clears whatever is held back (at the end of the stream). */
  flush(): string {
    const held = this.held;
    this.held = '';
    return held;
  }
}

function partialPrefixLength(data: string): number {
  const max = Math.min(MARKER_PREFIX.length - 1, data.length);
  for (let n = max; n > 0; n--) {
    if (MARKER_PREFIX.startsWith(data.slice(data.length - n))) return n;
  }
  return 0;
}

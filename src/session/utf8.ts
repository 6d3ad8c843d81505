/**
 * Terminal output as bytes, cut into chunks that each decode on their own: a chunk never ends
 * inside a UTF-8 sequence that the next bytes could complete, so `chunk.toString('utf8')` of each
 * chunk, joined, is the decoding of the whole stream (invalid bytes as U+FFFD, WHATWG Encoding
 * §4.1 "UTF-8 decode", as Node's decoder does), and the bytes themselves stay exact.
 */

/** How many bytes a sequence starting with lead byte `b` has (1 for ASCII, a stray or invalid byte). */
function sequenceLength(b: number): number {
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 1;
}

/**
 * The length of the longest prefix of `bytes` that does not end in an unfinished UTF-8 sequence:
 * all of it, unless its last lead byte (within its last 3 bytes) announces more bytes than follow.
 * Holding back an unfinished sequence that later proves invalid changes nothing: it decodes to
 * the same U+FFFDs with the bytes after it as without them.
 */
export function completeLength(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let i = n - 1; i >= Math.max(0, n - 3); i--) {
    const b = bytes[i];
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    return sequenceLength(b) > n - i ? i : n;
  }
  return n;
}

/** Cuts a byte stream into chunks that end on UTF-8 character boundaries (see {@link completeLength}). */
export class Utf8Chunker {
  private held: Buffer = Buffer.alloc(0);

  /** The bytes held back so far and `bytes`, up to the last complete character; the rest is held. */
  take(bytes: Buffer): Buffer {
    const all = this.held.length ? Buffer.concat([this.held, bytes]) : bytes;
    const end = completeLength(all);
    this.held = all.subarray(end);
    return all.subarray(0, end);
  }

  /** Returns and clears what is held back (an unfinished character before a marker or at the end). */
  flush(): Buffer {
    const held = this.held;
    this.held = Buffer.alloc(0);
    return held;
  }
}

/**
 * The drawn lines of an output panel's terminal, grouped in chunks of CHUNK_LINES logical lines.
 * Each chunk is a block of its own (style.css `.output-chunk`): adding or removing a line lays out
 * its chunk only, and the browser skips the chunks off screen (CSS `content-visibility: auto`,
 * sized by their rows until first drawn). A burst of thousands of lines then costs the lines on
 * screen, not all of them: the page keeps its frames short while 50 fleet hosts stream at once.
 */

/** Logical lines per chunk. */
export const CHUNK_LINES = 50;

/** A chunk: its element, and the lines and buffer rows in it. */
interface Chunk {
  el: HTMLElement;
  lines: number;
  rows: number;
}

/** A drawn logical line: its element, how many buffer rows it spans, its chunk. */
interface Line {
  el: ChildNode;
  rows: number;
  chunk: Chunk;
}

/** Tells the chunk's size while it is skipped: its rows, one line-height each (style.css). */
function sizeChunk(chunk: Chunk): void {
  chunk.el.style.setProperty('--rows', String(chunk.rows));
}

/** A new, empty chunk element. */
function newChunk(): HTMLElement {
  const el = document.createElement('span');
  el.className = 'output-chunk';
  return el;
}

/** The drawn lines of one output panel, in chunks (see the module's comment). */
export class DrawnLines {
  private lines: Line[] = [];
  private chunks: Chunk[] = [];
  /** Buffer rows of all drawn lines. */
  rows = 0;

  /** @param body the element the chunks go in */
  constructor(private readonly body: HTMLElement) {}

  /** How many logical lines are drawn. */
  get length(): number {
    return this.lines.length;
  }

  /** Removes every line. */
  clear(): void {
    this.body.replaceChildren();
    this.lines = [];
    this.chunks = [];
    this.rows = 0;
  }

  /** Removes the last line and returns its rows (0 when there is none). */
  pop(): number {
    const line = this.lines.pop();
    return line ? this.remove(line, () => this.chunks.pop()) : 0;
  }

  /**
   * Removes the first lines while more than `rows` rows are drawn, leaving one line at least;
   * returns the rows removed. A chunk whose lines all go is removed whole.
   */
  dropFirst(rows: number): number {
    let dropped = 0;
    let count = 0;
    let whole = 0;
    for (const chunk of this.chunks) {
      if (this.rows - dropped - chunk.rows < rows || count + chunk.lines >= this.lines.length) break;
      chunk.el.remove();
      dropped += chunk.rows;
      count += chunk.lines;
      whole++;
    }
    this.chunks.splice(0, whole);
    this.lines.splice(0, count);
    this.rows -= dropped;
    while (this.rows > rows && this.lines.length > 1) {
      const line = this.lines.shift()!;
      dropped += this.remove(line, () => this.chunks.shift());
    }
    return dropped;
  }

  /** Appends `added` (each a line's element and its rows) after the last line, filling the last chunk first. */
  append(added: readonly { el: ChildNode; rows: number }[]): void {
    const touched = new Set<Chunk>();
    const fresh: HTMLElement[] = [];
    for (const { el, rows } of added) {
      let chunk = this.chunks.at(-1);
      if (!chunk || chunk.lines >= CHUNK_LINES) {
        chunk = { el: newChunk(), lines: 0, rows: 0 };
        this.chunks.push(chunk);
        fresh.push(chunk.el);
      }
      chunk.el.append(el);
      chunk.lines++;
      chunk.rows += rows;
      this.rows += rows;
      touched.add(chunk);
      this.lines.push({ el, rows, chunk });
    }
    for (const chunk of touched) sizeChunk(chunk);
    this.body.append(...fresh);
  }

  /**
   * Inserts `added` (each a line's element and its rows, in order) before the first line, filling
   * the first chunk first: the rows above a burst's first screenful, drawn later (TerminalView).
   */
  prepend(added: readonly { el: ChildNode; rows: number }[]): void {
    const touched = new Set<Chunk>();
    const fresh: HTMLElement[] = [];
    const lines: Line[] = [];
    for (let i = added.length - 1; i >= 0; i--) {
      const { el, rows } = added[i];
      let chunk = this.chunks[0];
      if (!chunk || chunk.lines >= CHUNK_LINES) {
        chunk = { el: newChunk(), lines: 0, rows: 0 };
        this.chunks.unshift(chunk);
        fresh.unshift(chunk.el);
      }
      chunk.el.prepend(el);
      chunk.lines++;
      chunk.rows += rows;
      this.rows += rows;
      touched.add(chunk);
      lines.push({ el, rows, chunk });
    }
    this.lines = lines.reverse().concat(this.lines);
    for (const chunk of touched) sizeChunk(chunk);
    this.body.prepend(...fresh);
  }

  /** Takes `line` out of its chunk, and the chunk out of the body once empty (`drop` removes it from the list). */
  private remove(line: Line, drop: () => void): number {
    line.el.remove();
    const { chunk } = line;
    chunk.lines--;
    chunk.rows -= line.rows;
    this.rows -= line.rows;
    if (chunk.lines === 0) {
      chunk.el.remove();
      drop();
    } else {
      sizeChunk(chunk);
    }
    return line.rows;
  }
}

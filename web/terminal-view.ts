/**
 * An output panel's terminal: a headless xterm.js terminal interprets the output (colours, `\r`
 * progress lines, cursor movement, erase-line) and this view draws its buffer as styled text,
 * redrawing only the lines that can have changed since the last frame. At most SHOWN_LINES lines
 * are drawn until the user asks for all of them; a bar above the text says how many are not. A
 * burst of more rows than a screenful is drawn from its end, the rows above it in later idle
 * callbacks (backfill): no frame draws thousands of lines while 50 fleet hosts stream.
 */
import type { IBuffer, IMarker, Terminal as TerminalType } from '@xterm/headless';
import { RawOutput } from './raw-output.js';
import { DrawnLines } from './drawn-lines.js';
import { bufferText, drawLogicalLine, lastContentRow } from './terminal-render.js';

let xterm: Promise<typeof import('@xterm/headless')> | undefined;
/** Loads xterm.js, a chunk of its own: the editor does not wait for it. Call early to prefetch. */
export function loadTerminal(): Promise<typeof import('@xterm/headless')> {
  return (xterm ??= import('@xterm/headless'));
}

/** Lines shown until the user expands the panel (the last ones). */
export const SHOWN_LINES = 2000;
/** Lines the terminal keeps (and an expanded panel shows); older ones only remain in Copy all. */
const SCROLLBACK = 10_000;
/** The shortest time between two draws while output streams (ms): what a stream costs the page in layout and paint. */
const DRAW_INTERVAL_MS = 50;
/**
 * The most rows a streaming draw makes (more than a panel shows: 60vh). A burst of more is drawn
 * from its last BURST_ROWS rows, and the rows above them are filled in later (backfill), at most
 * FILL_ROWS at a time in idle callbacks: a burst costs a frame what one screenful costs.
 */
const BURST_ROWS = 250;
/** Rows one backfill step draws (each in an idle callback of its own). */
const FILL_ROWS = 250;
/** The longest a backfill step waits for the page to be idle (ms). */
const FILL_WAIT_MS = 100;
/** The longest write handed to xterm.js at once (UTF-16 code units). */
const WRITE_PIECE = 16 * 1024;
/** Raw output kept for Copy all once the terminal dropped lines (UTF-16 code units, the last ones). */
const RAW_LIMIT = 8 * 1024 * 1024;

/** A small button of an output panel. */
export function button(label: string, title: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'output-action';
  b.textContent = label;
  b.title = title;
  return b;
}

/** The terminal of one output panel: `more` (the bar of lines not shown) and `body` (the text) go in the panel. */
export class TerminalView {
  /** The bar that says how many lines are not drawn, with Show all. */
  readonly more: HTMLElement;
  /** The drawn output. */
  readonly body: HTMLElement;
  private readonly moreText: HTMLElement;
  private readonly expandButton: HTMLButtonElement;
  /** Set once xterm.js has loaded; `ready` resolves then (output written before waits for it). */
  private term!: TerminalType;
  private newTerminal!: () => TerminalType;
  private readonly ready: Promise<void>;
  private drawScheduled = false;
  /** performance.now() of the last draw. */
  private drawnAt = -Infinity;
  private written = false;
  private expanded = false;
  /** Drawn lines, in order; the first starts at buffer row `start.line`. */
  private readonly drawn: DrawnLines;
  private start?: IMarker;
  /** The viewport's top row at the last draw: rows above it cannot have changed since. */
  private dirty?: IMarker;
  /** The buffer's first row, to learn when the terminal dropped lines from its scrollback. */
  private origin?: IMarker;
  private drawnBuffer?: IBuffer;
  private raw = new RawOutput(RAW_LIMIT);
  /** A backfill step is scheduled. */
  private fillScheduled = false;
  /** Called once the backfill is done (settle() waits for it). */
  private filled: (() => void)[] = [];
  /** The last draw left rows after its last line for later draws (the user had scrolled up). */
  private behind = false;

  /**
   * @param cols terminal width in character cells
   * @param drawnNow called after each draw (the panel's height may have changed), with whether any output was written
   */
  constructor(
    cols: number,
    private readonly drawnNow: (hasOutput: boolean) => void,
  ) {
    this.more = document.createElement('div');
    this.more.className = 'output-more';
    this.more.hidden = true;
    this.moreText = document.createElement('span');
    this.expandButton = button('Show all', 'Show every line the panel keeps');
    this.expandButton.onclick = () => this.setExpanded(!this.expanded);
    this.more.append(this.moreText, this.expandButton);
    this.body = document.createElement('pre');
    this.body.className = 'output-body empty';
    this.drawn = new DrawnLines(this.body);
    this.ready = loadTerminal().then((module) => {
      // A CommonJS module: its exports arrive as `default` of the chunk's namespace.
      const { Terminal } = (module as unknown as { default?: typeof module }).default ?? module;
      this.newTerminal = () => new Terminal({ cols, rows: 30, convertEol: true, scrollback: SCROLLBACK, allowProposedApi: true });
      this.term = this.newTerminal();
    });
  }

  /** Starts over with an empty terminal (a fleet panel shows another host's output next). */
  clear(): void {
    this.raw = new RawOutput(RAW_LIMIT);
    this.written = false;
    void this.ready.then(() => {
      this.term.dispose();
      for (const marker of [this.start, this.dirty, this.origin]) marker?.dispose();
      this.start = this.dirty = this.origin = this.drawnBuffer = undefined;
      this.term = this.newTerminal();
      this.draw();
    });
  }

  /** Appends terminal output; the view redraws at the next frame, at most 20 times a second (scheduleDraw). */
  write(text: string): void {
    this.written = true;
    this.raw.push(text);
    void this.ready.then(() => {
      // xterm.js takes in its writes a few at a time between frames (12 ms a slice), but each
      // write whole: a long one (a host's whole output, when the user chooses it) is cut in pieces.
      for (let at = 0; at < text.length; at += WRITE_PIECE) {
        const piece = text.slice(at, at + WRITE_PIECE);
        if (at + WRITE_PIECE >= text.length) this.term.write(piece, () => this.scheduleDraw());
        else this.term.write(piece);
      }
    });
  }

  /** Resolves once the terminal has taken in every output written so far, and it is drawn. */
  settle(): Promise<void> {
    return this.ready.then(() => new Promise<void>((resolve) => this.term.write('', () => this.drawAll(resolve))));
  }

  /** Draws (a frame at a time while draws leave rows for later), then calls `done` once the backfill is done too. */
  private drawAll(done: () => void): void {
    this.draw();
    if (this.behind) requestAnimationFrame(() => this.drawAll(done));
    else this.whenFilled(done);
  }

  /** text() once the terminal has taken in every output written so far. */
  settledText(): Promise<string> {
    return this.ready.then(() => new Promise<string>((resolve) => this.term.write('', () => resolve(this.text()))));
  }

  /** The output as plain text: the terminal's lines, or the raw output once lines were dropped. */
  text(): string {
    if (this.term && !this.origin?.isDisposed && this.term.buffer.active.type === 'normal') return bufferText(this.term.buffer.active);
    return this.raw.plain();
  }

  /** Frees the terminal. */
  dispose(): void {
    void this.ready.then(() => this.term.dispose());
  }

  private setExpanded(expanded: boolean): void {
    this.expanded = expanded;
    this.start?.dispose();
    this.start = undefined; // a full draw, all at once: the user asked for these lines
    this.draw(false);
  }

  /**
   * Draws at the next frame, but not sooner than DRAW_INTERVAL_MS after the last draw: output
   * after a pause (an echo, a prompt) shows at once, a stream is drawn 20 times a second.
   */
  private scheduleDraw(): void {
    if (this.drawScheduled) return;
    this.drawScheduled = true;
    const frame = () =>
      requestAnimationFrame(() => {
        this.drawScheduled = false;
        this.draw();
      });
    const wait = this.drawnAt + DRAW_INTERVAL_MS - performance.now();
    if (wait > 0) setTimeout(frame, wait);
    else frame();
  }

  /** A marker on buffer row `row` (markers follow their row when the scrollback drops lines). */
  private markRow(row: number): IMarker | undefined {
    const buffer = this.term.buffer.active;
    return this.term.registerMarker(row - (buffer.baseY + buffer.cursorY));
  }

  /**
   * Draws what changed: rows above the viewport top of the last draw are scrollback and never
   * change, so only the lines from there on are drawn again (a full draw after the buffer was
   * cleared, switched or trimmed past them). At most SHOWN_LINES rows stay drawn unless expanded.
   * When `bounded`, a draw makes about BURST_ROWS rows at most: while the view follows the end,
   * a bigger burst is drawn afresh from its last BURST_ROWS rows, the rows above them by backfill;
   * while the user has scrolled up, from its first ones, the next BURST_ROWS at each later draw.
   */
  private draw(bounded = true): void {
    this.drawnAt = performance.now();
    const buffer = this.term.buffer.active;
    const atBottom = this.body.scrollHeight - this.body.scrollTop - this.body.clientHeight < 4;
    const last = lastContentRow(buffer);
    const limit = this.limit;

    // A burst of more rows than are shown since the last draw, or of more than BURST_ROWS while
    // the view follows the end: drawn afresh, from the last ones.
    const continues = buffer === this.drawnBuffer && buffer.type === 'normal' && !!this.start && !this.start.isDisposed && !!this.dirty && !this.dirty.isDisposed;
    const burst = continues ? last - this.dirty!.line : Infinity;
    const incremental = burst < limit && !(bounded && atBottom && burst >= BURST_ROWS);
    let from: number;
    let to = last; // the last row drawn now
    if (incremental) {
      // Drop the drawn lines that reach the first row that may have changed, and always the last
      // drawn one (its closing "\n" depends on what follows it); draw again from there.
      const dirtyRow = this.dirty!.line;
      let row = this.start!.line + this.drawn.rows;
      while (this.drawn.length > 0) {
        row -= this.drawn.pop();
        if (row <= dirtyRow) break;
      }
      from = row;
      if (bounded && !atBottom && last + 1 - from > BURST_ROWS) to = from + BURST_ROWS - 1;
    } else {
      this.drawn.clear();
      const rows = bounded && buffer.type === 'normal' ? Math.min(limit, BURST_ROWS) : limit;
      from = Math.max(0, last + 1 - Math.min(rows, buffer.length));
      while (from > 0 && buffer.getLine(from)?.isWrapped) from--; // a logical line's first row
      this.drawnBuffer = buffer;
      if (!this.origin && buffer.type === 'normal') this.origin = this.markRow(0);
    }
    let first = this.drawn.length > 0 ? this.start!.line : from;

    const added = drawRows(buffer, from, to, to);
    this.drawn.append(added);
    first += this.drawn.dropFirst(limit);
    if (buffer.type === 'normal') {
      if (!this.start || this.start.isDisposed || this.start.line !== first) {
        this.start?.dispose();
        this.start = this.markRow(first);
      }
      this.dirty?.dispose();
      this.dirty = this.markRow(Math.min(buffer.baseY, to));
    }
    this.behind = to < last;
    if (this.behind) this.scheduleDraw();
    this.showMore(first);
    this.body.classList.toggle('empty', this.drawn.length === 0 && !this.written);
    if (atBottom) this.body.scrollTop = this.body.scrollHeight;
    if (this.fillRange()) this.scheduleFill();
    this.drawnNow(this.written);
  }

  /**
   * The buffer rows [from, to) the next backfill step draws: the logical lines right above the
   * first drawn one that still fit in the SHOWN_LINES rows (all of them when expanded), at most
   * FILL_ROWS rows but a whole line; undefined when there are none (or the terminal moved on).
   */
  private fillRange(): { from: number; to: number } | undefined {
    const buffer = this.term?.buffer.active;
    if (!buffer || buffer !== this.drawnBuffer || buffer.type !== 'normal' || !this.start || this.start.isDisposed) return undefined;
    const to = this.start.line;
    const room = this.limit - this.drawn.rows;
    let lineStart = to - 1;
    while (lineStart > 0 && buffer.getLine(lineStart)?.isWrapped) lineStart--;
    if (to <= 0 || to - lineStart > room) return undefined; // the line above does not fit
    let from = Math.min(lineStart, to - Math.min(room, FILL_ROWS));
    while (from > 0 && buffer.getLine(from)?.isWrapped) from--;
    return { from, to };
  }

  /** Backfills in an idle callback (a timer where there is none), if not scheduled yet. */
  private scheduleFill(): void {
    if (this.fillScheduled) return;
    this.fillScheduled = true;
    const step = () => ((this.fillScheduled = false), this.fill());
    if (typeof requestIdleCallback === 'function') requestIdleCallback(step, { timeout: FILL_WAIT_MS });
    else setTimeout(step, 16);
  }

  /**
   * One backfill step: draws the lines of fillRange() above the drawn ones, keeping the view where
   * it was (at the end when it followed it, else on the same lines: its distance from the end).
   */
  private fill(): void {
    const range = this.fillRange();
    if (range) {
      const fromEnd = this.body.scrollHeight - this.body.scrollTop;
      const atBottom = fromEnd - this.body.clientHeight < 4;
      // While the view follows a stream's end, the rows above it wait for a pause: the next draw
      // of a burst would drop them again.
      if (atBottom && this.drawScheduled) return this.scheduleFill();
      // Every line ends with "\n": the drawn lines follow them.
      this.drawn.prepend(drawRows(this.term.buffer.active, range.from, range.to - 1, range.to));
      const first = range.from + this.drawn.dropFirst(this.limit);
      this.start!.dispose();
      this.start = this.markRow(first);
      this.body.scrollTop = atBottom ? this.body.scrollHeight : this.body.scrollHeight - fromEnd;
      this.showMore(first);
    }
    if (this.fillRange()) this.scheduleFill();
    else for (const done of this.filled.splice(0)) done();
  }

  /** Calls `done` once the backfill is done (now when there is none). */
  private whenFilled(done: () => void): void {
    if (!this.fillRange()) return done();
    this.filled.push(done);
    this.scheduleFill();
  }

  /** The most rows kept drawn: SHOWN_LINES, or all of them when expanded. */
  private get limit(): number {
    return this.expanded ? Infinity : SHOWN_LINES;
  }

  /**
   * Updates the bar above the text: the lines not shown (while a backfill runs, those it will not
   * draw), and the lines the terminal dropped. `first` is the first drawn row.
   */
  private showMore(first: number): void {
    const hidden = this.fillRange() ? Math.max(0, first + this.drawn.rows - this.limit) : first;
    const dropped = this.origin?.isDisposed === true;
    this.more.hidden = hidden === 0 && !dropped && !this.expanded;
    const older = dropped ? `older lines are only in Copy (the panel keeps the last ${SCROLLBACK.toLocaleString('en')})` : '';
    this.moreText.textContent = hidden > 0 ? `… ${hidden.toLocaleString('en')} earlier lines not shown${older ? `; ${older}` : ''}` : older && `… ${older}`;
    this.expandButton.hidden = hidden === 0 && !this.expanded;
    this.expandButton.textContent = this.expanded ? `Show last ${SHOWN_LINES}` : 'Show all';
  }
}

/**
 * Draws the logical lines that start at rows `from` to `end` of `buffer` (drawLogicalLine: every
 * line but the one ending at `lastRow` ends with "\n").
 */
function drawRows(buffer: IBuffer, from: number, end: number, lastRow: number): { el: ChildNode; rows: number }[] {
  const added: { el: ChildNode; rows: number }[] = [];
  for (let row = from; row <= end; ) {
    const line = drawLogicalLine(buffer, row, lastRow);
    added.push(line);
    row += line.rows;
  }
  return added;
}

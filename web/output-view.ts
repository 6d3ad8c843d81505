/**
 * The output panel under a block: a header with the run's state, exit status and duration, and the
 * block's terminal output. A headless xterm.js terminal interprets the output (colours, `\r`
 * progress lines, cursor movement, erase-line) and this view draws its buffer as styled text.
 */
import xtermHeadless from '@xterm/headless';
import type { IBufferCell, IBufferLine, Terminal as TerminalType } from '@xterm/headless';

const { Terminal } = xtermHeadless;

/** Terminal width in character cells when the page cannot measure one. */
export const DEFAULT_COLS = 120;
/** At most this many lines are drawn (the last ones); the rest is counted in a note. */
const MAX_DRAWN_LINES = 2000;

/** Formats a duration: ms under a second, then seconds, then m:ss. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** xterm's 256-colour palette entries 16-255 (6x6x6 cube, then 24 greys) as CSS colours. */
function palette256(n: number): string {
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const level = (k: number) => (k === 0 ? 0 : 55 + k * 40);
  return `rgb(${level(Math.floor(i / 36))},${level(Math.floor(i / 6) % 6)},${level(i % 6)})`;
}

const rgb = (c: number) => `rgb(${(c >> 16) & 255},${(c >> 8) & 255},${c & 255})`;

interface Style {
  fg?: string;
  bg?: string;
  classes: string[];
}

function cellStyle(cell: IBufferCell): Style {
  const classes: string[] = [];
  let fg: string | undefined;
  let bg: string | undefined;
  if (cell.isFgPalette()) {
    const n = cell.getFgColor();
    if (n < 16) classes.push(`fg-${n}`);
    else fg = palette256(n);
  } else if (cell.isFgRGB()) fg = rgb(cell.getFgColor());
  if (cell.isBgPalette()) {
    const n = cell.getBgColor();
    if (n < 16) classes.push(`bg-${n}`);
    else bg = palette256(n);
  } else if (cell.isBgRGB()) bg = rgb(cell.getBgColor());
  if (cell.isBold()) classes.push('bold');
  if (cell.isDim()) classes.push('dim');
  if (cell.isItalic()) classes.push('italic');
  if (cell.isUnderline()) classes.push('underline');
  if (cell.isStrikethrough()) classes.push('strike');
  if (cell.isInverse()) classes.push('inverse');
  if (cell.isInvisible()) classes.push('invisible');
  return { fg, bg, classes };
}

const sameStyle = (a: Style, b: Style) => a.fg === b.fg && a.bg === b.bg && a.classes.join() === b.classes.join();

/** Appends one buffer line's cells to `out` as text nodes and styled spans. */
function drawLine(line: IBufferLine, out: Node[], cell: IBufferCell, trimRight: boolean): void {
  const length = trimRight ? line.translateToString(true).length : line.length;
  let text = '';
  let style: Style = { classes: [] };
  const push = () => {
    if (!text) return;
    if (!style.fg && !style.bg && style.classes.length === 0) {
      out.push(document.createTextNode(text));
    } else {
      const span = document.createElement('span');
      span.textContent = text;
      if (style.classes.length) span.className = style.classes.join(' ');
      if (style.fg) span.style.color = style.fg;
      if (style.bg) span.style.backgroundColor = style.bg;
      out.push(span);
    }
    text = '';
  };
  for (let x = 0, col = 0; x < line.length && col < length; x++) {
    line.getCell(x, cell);
    if (cell.getWidth() === 0) continue; // the right half of a wide character
    const next = cellStyle(cell);
    if (!sameStyle(style, next)) {
      push();
      style = next;
    }
    text += cell.getChars() || ' ';
    col += Math.max(1, cell.getWidth());
  }
  push();
}

/** One run's output panel. `dom` is what the editor shows under the block. */
export class OutputView {
  readonly dom: HTMLElement;
  private readonly status: HTMLElement;
  private readonly body: HTMLElement;
  private readonly stdin: HTMLInputElement;
  private readonly term: TerminalType;
  private drawScheduled = false;
  private hasOutput = false;

  /**
   * @param code the code the run ran
   * @param cols terminal width in character cells; the block's PTY gets the same (COLUMNS)
   * @param onResize called after the panel's height may have changed (the editor re-measures)
   */
  constructor(
    readonly runId: string,
    /** The code the run ran (to tell when its block was edited since). */
    readonly code: string,
    readonly cols: number,
    private readonly onResize: () => void,
  ) {
    // The outer element has padding, never margins: CodeMirror measures block widgets without them.
    this.dom = document.createElement('div');
    this.dom.className = 'output running';
    this.dom.dataset.testid = 'output';
    this.dom.dataset.runId = runId;
    this.dom.dataset.cols = String(cols);
    const panel = document.createElement('div');
    panel.className = 'output-panel';
    this.status = document.createElement('div');
    this.status.className = 'output-status';
    this.status.setAttribute('role', 'status');
    this.body = document.createElement('pre');
    this.body.className = 'output-body';
    this.stdin = document.createElement('input');
    this.stdin.className = 'output-stdin';
    this.stdin.dataset.testid = 'stdin';
    this.stdin.type = 'text';
    this.stdin.autocomplete = 'off';
    this.stdin.spellcheck = false;
    this.stdin.placeholder = 'input to the running block: Enter sends a line, Ctrl+D end of input, Ctrl+C interrupts';
    this.stdin.setAttribute('aria-label', 'Input to the running block');
    this.stdin.hidden = true;
    panel.append(this.status, this.body, this.stdin);
    this.dom.append(panel);
    this.setStatus('queued', '');
    this.term = new Terminal({ cols, rows: 30, convertEol: true, scrollback: 10_000, allowProposedApi: true });
  }

  private setStatus(state: string, text: string): void {
    this.dom.dataset.state = state;
    this.status.textContent = text || state;
  }

  /**
   * The run started: show the input line. `send` types text into the block's terminal; `interrupt`
   * is Ctrl+C.
   */
  started(send: (data: string) => void, interrupt: () => void): void {
    this.setStatus('running', 'running…');
    this.stdin.hidden = false;
    this.stdin.onkeydown = (event) => {
      if (event.key === 'Enter') {
        send(`${this.stdin.value}\r`);
        this.stdin.value = '';
      } else if (event.ctrlKey && event.key === 'd') {
        send(`${this.stdin.value}\x04`);
        this.stdin.value = '';
      } else if (event.ctrlKey && event.key === 'c' && this.stdin.selectionStart === this.stdin.selectionEnd) {
        interrupt();
      } else {
        return;
      }
      event.preventDefault();
      this.dom.classList.remove('waiting');
    };
    this.onResize();
  }

  /** Dims the output while its block's text differs from the code that ran. */
  setStale(stale: boolean): void {
    this.dom.classList.toggle('stale', stale);
    this.dom.title = stale ? 'The block changed since this output was produced' : '';
  }

  /** The block waits for terminal input: mark the input line and put the cursor in it. */
  waiting(): void {
    this.dom.classList.add('waiting');
    this.setStatus('running', 'waiting for input…');
    this.stdin.focus({ preventScroll: false });
  }

  /** The run waits behind `position` others. */
  queued(position?: number): void {
    this.setStatus('queued', position ? `queued (${position} ahead)` : 'queued');
  }

  /** Appends terminal output; the view redraws once per animation frame at most. */
  write(text: string): void {
    this.hasOutput = true;
    this.term.write(text, () => this.scheduleDraw());
  }

  /** The run ended: show exit status and duration; the panel gets `data-exit-code`. */
  ended(end: { exitCode: number; durationMs: number; interrupted: boolean; sessionRestarted: boolean; cancelled?: boolean }): void {
    this.closeInput();
    this.term.write('', () => {
      this.draw();
      this.dom.classList.remove('running');
      this.dom.dataset.exitCode = String(end.exitCode);
      const state = end.interrupted ? 'interrupted' : end.exitCode === 0 ? 'ok' : 'failed';
      const parts = [end.cancelled ? 'cancelled' : `exit ${end.exitCode}`];
      if (!end.cancelled) parts.push(formatDuration(end.durationMs));
      if (end.interrupted && !end.cancelled) parts.push('interrupted');
      if (end.sessionRestarted) parts.push('shell restarted: state was reset');
      this.setStatus(state, parts.join(' · '));
      if (!this.hasOutput) this.body.classList.add('empty');
      this.onResize();
    });
  }

  /** A server-side failure (not a failing command). */
  failed(message: string): void {
    this.closeInput();
    this.dom.classList.remove('running');
    this.setStatus('error', `error: ${message}`);
    this.onResize();
  }

  private closeInput(): void {
    const hadFocus = document.activeElement === this.stdin;
    this.stdin.hidden = true;
    this.stdin.onkeydown = null;
    this.dom.classList.remove('waiting');
    if (hadFocus) this.onInputClosed();
  }

  /** Called when the input line closes while it had the focus (the page gives it back to the editor). */
  onInputClosed: () => void = () => {};

  private scheduleDraw(): void {
    if (this.drawScheduled) return;
    this.drawScheduled = true;
    requestAnimationFrame(() => {
      this.drawScheduled = false;
      this.draw();
    });
  }

  /** Draws the terminal buffer: logical lines (wrapped rows joined), trailing blank rows dropped. */
  private draw(): void {
    const buffer = this.term.buffer.active;
    let last = buffer.length - 1;
    while (last >= 0 && buffer.getLine(last)!.translateToString(true) === '') last--;
    const first = Math.max(0, last + 1 - MAX_DRAWN_LINES);
    const nodes: Node[] = [];
    if (first > 0) {
      const note = document.createElement('span');
      note.className = 'omitted';
      note.textContent = `… ${first} earlier lines not shown\n`;
      nodes.push(note);
    }
    const cell = buffer.getNullCell();
    for (let y = first; y <= last; y++) {
      const line = buffer.getLine(y)!;
      const nextWrapped = y < last && buffer.getLine(y + 1)!.isWrapped;
      drawLine(line, nodes, cell, !nextWrapped);
      if (!nextWrapped && y < last) nodes.push(document.createTextNode('\n'));
    }
    this.body.replaceChildren(...nodes);
    this.onResize();
  }
}

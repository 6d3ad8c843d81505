/**
 * The output panel under a block: a header with the run's execution count, state, exit status
 * and duration, and the block's terminal output. A headless xterm.js terminal interprets the
 * output (colours, `\r` progress lines, cursor movement, erase-line) and this view draws its
 * buffer as styled text, redrawing only the lines that can have changed since the last frame.
 */
import type { IBuffer, IMarker, Terminal as TerminalType } from '@xterm/headless';
import { formatDuration } from '../src/runs/format.js';
import { InputLine } from './input-line.js';
import { RawOutput } from './raw-output.js';
import { bufferText, drawLogicalLine, lastContentRow, type Link } from './terminal-render.js';

let xterm: Promise<typeof import('@xterm/headless')> | undefined;
/** Loads xterm.js, a chunk of its own: the editor does not wait for it. Call early to prefetch. */
export function loadTerminal(): Promise<typeof import('@xterm/headless')> {
  return (xterm ??= import('@xterm/headless'));
}

/** Terminal width in character cells when the page cannot measure one. */
export const DEFAULT_COLS = 120;
/** Lines shown until the user expands the panel (the last ones). */
export const SHOWN_LINES = 2000;
/** Lines the terminal keeps (and an expanded panel shows); older ones only remain in Copy all. */
const SCROLLBACK = 10_000;
/** Raw output kept for Copy all once the terminal dropped lines (UTF-16 code units, the last ones). */
const RAW_LIMIT = 8 * 1024 * 1024;


/** What an output panel asks of the page. */
export interface OutputHost {
  /** The panel's height may have changed: the editor re-measures. */
  resized(): void;
  /** A `file:line` link was clicked. */
  openLink(link: Extract<Link, { kind: 'file' }>): void;
  /** Says something in the status bar. */
  say(message: string): void;
  /** The input line closed while it had the focus (the page gives it back to the editor). */
  inputClosed(): void;
}

/** A small button of an output panel's header. */
export function button(label: string, title: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'output-action';
  b.textContent = label;
  b.title = title;
  return b;
}

/** A drawn logical line: its element and how many buffer rows it spans. */
interface DrawnLine {
  el: HTMLElement;
  rows: number;
}

/** One run's output panel. `dom` is what the editor shows under the block. */
export class OutputView {
  readonly dom: HTMLElement;
  private readonly count: HTMLElement;
  private readonly status: HTMLElement;
  private readonly note: HTMLElement;
  private readonly target: HTMLElement;
  private readonly more: HTMLElement;
  private readonly moreText: HTMLElement;
  private readonly expandButton: HTMLButtonElement;
  private readonly body: HTMLElement;
  private readonly header: HTMLElement;
  private readonly input: InputLine;
  /** Set once xterm.js has loaded; `ready` resolves then (output written before waits for it). */
  private term!: TerminalType;
  private newTerminal!: () => TerminalType;
  private readonly ready: Promise<void>;
  /** The run's execution count (`[n]`), once it started. */
  private executionCount?: number;
  private drawScheduled = false;
  private hasOutput = false;
  private expanded = false;
  /** Drawn lines, in order; the first starts at buffer row `start.line`. */
  private drawn: DrawnLine[] = [];
  private drawnRows = 0;
  private start?: IMarker;
  /** The viewport's top row at the last draw: rows above it cannot have changed since. */
  private dirty?: IMarker;
  /** The buffer's first row, to learn when the terminal dropped lines from its scrollback. */
  private origin?: IMarker;
  private drawnBuffer?: IBuffer;
  private raw = new RawOutput(RAW_LIMIT);

  /**
   * @param code the code the run ran
   * @param cols terminal width in character cells; the block's PTY gets the same (COLUMNS)
   */
  constructor(
    readonly runId: string,
    /** The code the run ran (to tell when its block was edited since). */
    readonly code: string,
    readonly cols: number,
    private readonly host: OutputHost,
  ) {
    // The outer element has padding, never margins: CodeMirror measures block widgets without them.
    this.dom = document.createElement('div');
    this.dom.className = 'output running';
    this.dom.dataset.testid = 'output';
    this.dom.dataset.runId = runId;
    this.dom.dataset.cols = String(cols);
    const panel = document.createElement('div');
    panel.className = 'output-panel';
    const header = (this.header = document.createElement('div'));
    header.className = 'output-header';
    this.count = document.createElement('span');
    this.count.className = 'output-count';
    this.status = document.createElement('span');
    this.status.className = 'output-status';
    this.status.setAttribute('role', 'status');
    this.note = document.createElement('span');
    this.note.className = 'output-note';
    this.target = document.createElement('span');
    this.target.className = 'output-target';
    this.target.dataset.testid = 'target';
    this.target.hidden = true;
    const copy = button('Copy', 'Copy all of this output as plain text');
    copy.classList.add('output-copy');
    copy.setAttribute('aria-label', 'Copy all output');
    copy.onclick = () => void this.copyAll();
    header.append(this.count, this.status, this.target, this.note, copy);
    this.more = document.createElement('div');
    this.more.className = 'output-more';
    this.more.hidden = true;
    this.moreText = document.createElement('span');
    this.expandButton = button('Show all', 'Show every line the panel keeps');
    this.expandButton.onclick = () => this.setExpanded(!this.expanded);
    this.more.append(this.moreText, this.expandButton);
    this.body = document.createElement('pre');
    this.body.className = 'output-body empty';
    this.body.addEventListener('click', (event) => this.clicked(event));
    this.input = new InputLine(this.dom, () => this.host.inputClosed());
    panel.append(header, this.more, this.body, this.input.dom);
    this.dom.append(panel);
    this.setStatus('queued', 'queued');
    this.ready = loadTerminal().then((module) => {
      // A CommonJS module: its exports arrive as `default` of the chunk's namespace.
      const { Terminal } = (module as unknown as { default?: typeof module }).default ?? module;
      this.newTerminal = () => new Terminal({ cols, rows: 30, convertEol: true, scrollback: SCROLLBACK, allowProposedApi: true });
      this.term = this.newTerminal();
    });
  }

  private setStatus(state: string, text: string): void {
    this.dom.dataset.state = state;
    this.status.textContent = text;
    if (state === 'queued' || state === 'running') this.count.textContent = '[*]';
  }

  /**
   * The run started as the `count`th run of the session: show the input line. `send` types text
   * into the block's terminal; `interrupt` is Ctrl+C. `on` is the target of the session it runs in
   * (the start event's): a remote one is shown in the header, as is any target the block named.
   * `remote`: the input line cannot tell when the block waits (a fleet says for its hosts).
   */
  started(count: number, send: (data: string) => void, interrupt: () => void, on?: string, remote = on !== undefined && on !== 'local'): void {
    this.setStatus('running', 'running…');
    this.dom.dataset.count = String(count);
    this.executionCount = count;
    if (on && (remote || !this.target.hidden)) this.setTarget(on);
    this.input.open(send, interrupt, remote);
    this.host.resized();
  }

  /** Shows where the run runs (`on local`, `on ssh://db1`, `on docker://web`) in the header; undefined hides it. */
  setTarget(on: string | undefined): void {
    this.target.hidden = on === undefined;
    this.target.textContent = on === undefined ? '' : `on ${on}`;
    this.target.title = on === undefined ? '' : `Runs in the session on ${on}`;
    if (on === undefined) delete this.dom.dataset.on;
    else this.dom.dataset.on = on;
  }

  /** True while the run is queued or running. */
  get active(): boolean {
    return this.dom.dataset.state === 'queued' || this.dom.dataset.state === 'running';
  }

  /** Dims the output while its block's text differs from the code that ran. */
  setStale(stale: boolean): void {
    this.dom.classList.toggle('stale', stale);
    this.dom.title = stale ? 'The block changed since this output was produced' : '';
  }

  /** The block waits for terminal input: mark the input line and put the cursor in it. */
  waiting(): void {
    this.setStatus('running', 'waiting for input…');
    this.input.waiting();
  }

  /** The run waits behind `position` others. */
  queued(position?: number): void {
    this.setStatus('queued', position ? `queued (${position} ahead)` : 'queued');
  }

  /** Puts `el` under the header (a fleet's host strip). */
  insertBelowHeader(el: HTMLElement): void {
    this.header.after(el);
  }

  /** Names where the input line sends (a fleet's chosen host); undefined: the run. */
  setInputTarget(name: string | undefined): void {
    this.input.setTarget(name);
  }

  /** Marks the input line as waited on (and gives it the cursor), or no longer. */
  markWaiting(waiting: boolean): void {
    if (waiting) this.input.waiting();
    else this.dom.classList.remove('waiting');
  }

  /** Starts over with an empty terminal: a fleet panel shows another host's output next. */
  clearOutput(): void {
    this.raw = new RawOutput(RAW_LIMIT);
    this.hasOutput = false;
    void this.ready.then(() => {
      this.term.dispose();
      for (const marker of [this.start, this.dirty, this.origin]) marker?.dispose();
      this.start = this.dirty = this.origin = this.drawnBuffer = undefined;
      this.term = this.newTerminal();
      this.draw();
    });
  }

  /** Appends terminal output; the view redraws once per animation frame at most. */
  write(text: string): void {
    this.hasOutput = true;
    this.raw.push(text);
    void this.ready.then(() => this.term.write(text, () => this.scheduleDraw()));
  }

  /** The run ended: show exit status and duration; the panel gets `data-exit-code`. */
  ended(end: { exitCode: number; durationMs: number; interrupted: boolean; sessionRestarted: boolean; cancelled?: boolean }): void {
    this.closeInput();
    void this.ready.then(() => this.term.write('', () => {
      this.draw();
      this.dom.classList.remove('running');
      this.dom.dataset.exitCode = String(end.exitCode);
      const state = end.cancelled ? 'cancelled' : end.interrupted ? 'interrupted' : end.exitCode === 0 ? 'ok' : 'failed';
      const parts = [end.cancelled ? 'cancelled' : `exit ${end.exitCode}`];
      if (!end.cancelled) parts.push(formatDuration(end.durationMs));
      if (end.interrupted && !end.cancelled) parts.push('interrupted');
      if (end.sessionRestarted) parts.push('shell restarted: state was reset');
      this.setStatus(state, parts.join(' · '));
      this.count.textContent = this.executionCount ? `[${this.executionCount}]` : '[ ]';
      this.host.resized();
    }));
  }

  /**
   * The panel shows a run from the history, not one of this session: `label` says which (say,
   * "earlier session · 2026-12-01 09:20:11"). Its output and end follow (write, ended); a run
   * without an end is `unfinished`.
   */
  fromHistory(label: string, unfinished: boolean): void {
    this.dom.classList.add('from-history');
    this.dom.classList.remove('running');
    this.note.textContent = label;
    this.count.textContent = '[ ]';
    this.setStatus(unfinished ? 'unfinished' : 'past', unfinished ? 'unfinished: no exit status (its cmdrun stopped during the run, or it still runs in another)' : '');
  }

  /** A server-side failure (not a failing command). */
  failed(message: string): void {
    this.closeInput();
    this.dom.classList.remove('running');
    this.setStatus('error', `error: ${message}`);
    this.count.textContent = '[!]';
    this.host.resized();
  }

  /** Frees the terminal; the panel is gone for good. */
  dispose(): void {
    this.closeInput();
    void this.ready.then(() => this.term.dispose());
  }

  private closeInput(): void {
    this.input.close();
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

  private async copyAll(): Promise<void> {
    try {
      await navigator.clipboard.writeText(this.text());
      this.host.say('output copied');
    } catch (err) {
      this.host.say(`could not copy: ${(err as Error).message}`);
    }
  }

  private clicked(event: MouseEvent): void {
    const a = (event.target as Element).closest?.('a.output-link') as HTMLAnchorElement | null;
    if (!a?.dataset.path) return; // web links open by themselves (new tab)
    event.preventDefault();
    this.host.openLink({ kind: 'file', path: a.dataset.path, line: Number(a.dataset.line), column: a.dataset.column ? Number(a.dataset.column) : undefined });
  }

  private setExpanded(expanded: boolean): void {
    this.expanded = expanded;
    this.start?.dispose();
    this.start = undefined; // a full draw
    this.draw();
  }

  private scheduleDraw(): void {
    if (this.drawScheduled) return;
    this.drawScheduled = true;
    requestAnimationFrame(() => {
      this.drawScheduled = false;
      this.draw();
    });
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
   */
  private draw(): void {
    const buffer = this.term.buffer.active;
    const atBottom = this.body.scrollHeight - this.body.scrollTop - this.body.clientHeight < 4;
    const last = lastContentRow(buffer);
    const limit = this.expanded ? Infinity : SHOWN_LINES;

    const incremental = buffer === this.drawnBuffer && buffer.type === 'normal' && !!this.start && !this.start.isDisposed && !!this.dirty && !this.dirty.isDisposed;
    let from: number;
    if (incremental) {
      // Drop the drawn lines that reach the first row that may have changed, and always the last
      // drawn one (its closing "\n" depends on what follows it); draw again from there.
      const dirtyRow = this.dirty!.line;
      let row = this.start!.line + this.drawnRows;
      while (this.drawn.length > 0) {
        const line = this.drawn.pop()!;
        line.el.remove();
        row -= line.rows;
        this.drawnRows -= line.rows;
        if (row <= dirtyRow) break;
      }
      from = row;
    } else {
      this.body.replaceChildren();
      this.drawn = [];
      this.drawnRows = 0;
      from = Math.max(0, last + 1 - Math.min(limit, buffer.length));
      while (from > 0 && buffer.getLine(from)?.isWrapped) from--; // a logical line's first row
      this.drawnBuffer = buffer;
      if (!this.origin && buffer.type === 'normal') this.origin = this.markRow(0);
    }
    let first = this.drawn.length > 0 ? this.start!.line : from;

    const added: HTMLElement[] = [];
    for (let row = from; row <= last; ) {
      const line = drawLogicalLine(buffer, row, last);
      this.drawn.push(line);
      this.drawnRows += line.rows;
      added.push(line.el);
      row += line.rows;
    }
    this.body.append(...added);
    while (this.drawnRows > limit && this.drawn.length > 1) {
      const line = this.drawn.shift()!;
      line.el.remove();
      this.drawnRows -= line.rows;
      first += line.rows;
    }
    if (buffer.type === 'normal') {
      if (!this.start || this.start.isDisposed || this.start.line !== first) {
        this.start?.dispose();
        this.start = this.markRow(first);
      }
      this.dirty?.dispose();
      this.dirty = this.markRow(buffer.baseY);
    }

    const hidden = first;
    const dropped = this.origin?.isDisposed === true;
    this.more.hidden = hidden === 0 && !dropped && !this.expanded;
    const older = dropped ? `older lines are only in Copy (the panel keeps the last ${SCROLLBACK.toLocaleString('en')})` : '';
    this.moreText.textContent = hidden > 0 ? `… ${hidden.toLocaleString('en')} earlier lines not shown${older ? `; ${older}` : ''}` : older && `… ${older}`;
    this.expandButton.hidden = hidden === 0 && !this.expanded;
    this.expandButton.textContent = this.expanded ? `Show last ${SHOWN_LINES}` : 'Show all';
    this.body.classList.toggle('empty', this.drawn.length === 0 && !this.hasOutput);
    this.dom.classList.toggle('has-output', this.hasOutput);
    if (atBottom) this.body.scrollTop = this.body.scrollHeight;
    this.host.resized();
  }
}

/**
 * The output panel under a block: a header with the run's execution count, state, exit status
 * and duration, the block's terminal output (terminal-view.ts), and the input line.
 */
import { formatDuration } from '../src/runs/format.js';
import { InputLine } from './input-line.js';
import type { Link } from './terminal-render.js';
import { TerminalView, button } from './terminal-view.js';

/** Terminal width in character cells when the page cannot measure one. */
export const DEFAULT_COLS = 120;

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

/** One run's output panel. `dom` is what the editor shows under the block. */
export class OutputView {
  readonly dom: HTMLElement;
  private readonly count: HTMLElement;
  private readonly status: HTMLElement;
  private readonly note: HTMLElement;
  private readonly target: HTMLElement;
  private readonly header: HTMLElement;
  private readonly input: InputLine;
  private readonly terminal: TerminalView;
  /** The run's execution count (`[n]`), once it started. */
  private executionCount?: number;

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
    this.terminal = new TerminalView(cols, (hasOutput) => {
      this.dom.classList.toggle('has-output', hasOutput);
      this.host.resized();
    });
    this.terminal.body.addEventListener('click', (event) => this.clicked(event));
    this.input = new InputLine(this.dom, () => this.host.inputClosed());
    panel.append(header, this.terminal.more, this.terminal.body, this.input.dom);
    this.dom.append(panel);
    this.setStatus('queued', 'queued');
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
    this.terminal.clear();
  }

  /** Appends terminal output; the view redraws once per animation frame at most. */
  write(text: string): void {
    this.terminal.write(text);
  }

  /** The run ended: show exit status and duration; the panel gets `data-exit-code`. */
  ended(end: { exitCode: number; durationMs: number; interrupted: boolean; sessionRestarted: boolean; cancelled?: boolean }): void {
    this.closeInput();
    void this.terminal.settle().then(() => {
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
    });
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
    this.terminal.dispose();
  }

  private closeInput(): void {
    this.input.close();
  }

  /** text() once the terminal has taken in every output written so far. */
  settledText(): Promise<string> {
    return this.terminal.settledText();
  }

  /** The output as plain text: the terminal's lines, or the raw output once lines were dropped. */
  text(): string {
    return this.terminal.text();
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
}

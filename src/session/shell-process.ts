/**
 * One shell process in a PTY, driven block by block through in-band markers.
 * The session (session.ts) owns one of these at a time and replaces it when it dies.
 */
import { randomBytes } from 'node:crypto';
import pty from '@lydell/node-pty';
import { MarkerScanner, type Marker } from './markers.js';
import { Utf8Chunker } from './utf8.js';
import { readsTerminal, readStat, sessionMembers, signalSession, waitsForTerminalInput } from './processes.js';
import type { Keeper } from './container.js';
import { carrier, encodeBlockLines, type RemoteOptions } from './remote.js';
import type { RunStep, SessionLayout, ShellProfile } from './shells.js';
import { launchShell } from './transport.js';
import { ShellStartError, type BlockEnd, type ChildrenReport, type OutputReceiver, type SpawnOptions } from './shell-process-types.js';

export * from './shell-process-types.js';

interface ActiveBlock {
  id: string;
  started: boolean;
  /** Called when text arrives before the start marker (the echo that paces a long block's typing). */
  onEarly?: () => void;
  /** The run line as the terminal echoes it, dropped from what arrives before the start marker. */
  echo: string;
  /** An empty line went before the run line (ShellProfile.emptyLineAfterCtrlC): its echo goes too. */
  lead: boolean;
  /** What arrived after the line was typed and before the start marker, as bytes (latin1: one character a byte). */
  early: string;
  onOutput: OutputReceiver;
  onStart: () => void;
  resolve: (end: BlockEnd) => void;
}

/** How much of a remote block is typed ahead of its echo (characters; the encoding is ASCII). */
const TYPE_CHUNK = 16 * 1024;
/** The next piece goes after this long even with no echo (ms). */
const TYPE_PACE_MS = 250;

/** A random marker id: 12 bytes, base64url (never contains `;`). */
export const newMarkerId = (): string => randomBytes(12).toString('base64url');

/**
 * A shell in a PTY that has read its startup file and waits for blocks. The PTY's own process is
 * the session leader (see shells.ts): it outlives the shell, so the terminal is not hung up (and
 * unread output discarded) when the shell ends.
 */
export class ShellProcess {
  /** Finds the markers in the terminal's bytes, read as latin1 (one character a byte). */
  private readonly scanner = new MarkerScanner();
  private readonly chunker = new Utf8Chunker();
  private active: ActiveBlock | undefined;
  /** A remote shell's new size ("COLS ROWS"), set on its terminal there before the next block (__cmdrun_get). */
  private sizeToSend?: string;
  private exitCode: number | undefined;
  private readonly exitWaiters: Array<() => void> = [];
  /** The interactive shell's pid (the leader's child), from the ready marker. */
  private shellPid = 0;
  /** See {@link hung}. */
  private hungShell = false;
  /** A remote shell's block that its input watcher (remote.ts) last saw waiting for input. */
  private remoteWaits: string | undefined;
  /** Receives output printed while no block runs (background jobs); see {@link onBackground}. */
  private background: OutputReceiver = () => {};
  /** See {@link mayTrapInterrupt}. */
  private traps = false;
  /** Ctrl-C was typed since the last block line (see ShellProfile.emptyLineAfterCtrlC). */
  private ctrlCTyped = false;
  /**
   * The id of the last block that ended: dash's prompt repeats its end marker until the next
   * block starts (PS1 runs the end hook in a subshell, which cannot clear the id), and a repeat
   * is dropped, not passed on as output.
   */
  private endedId: string | undefined;
  /** See {@link onChildrenReport}. */
  private childrenReport: ((report: ChildrenReport) => void) | undefined;

  private constructor(
    private readonly term: pty.IPty,
    private readonly profile: ShellProfile,
    private readonly leaderId: string,
    /** Where this shell's files are (a remote shell gets a fresh folder on every start). */
    readonly layout: SessionLayout,
    /** A container shell's keeper (container.ts), released once the PTY's program has ended. */
    private readonly keeper?: Keeper,
  ) {
    this.wire();
  }

  /**
   * True once a remote shell's input watcher (remote.ts) found the shell hung for good (single-
   * threaded, blocked in a private futex wait: a lock its own signal handler left taken) and
   * killed it.
   */
  get hung(): boolean {
    return this.hungShell;
  }

  /**
   * True once a block run in this shell may have set an INT trap of its own (RunStep.traps): a
   * command started after a Ctrl-C may then be one the user's trap let run (ctrl-c.ts).
   */
  get mayTrapInterrupt(): boolean {
    return this.traps;
  }

  /**
   * Sets (or, with undefined, clears) the receiver of a remote shell's children reports: its input
   * watcher (remote.ts) reports the start times of the shell's commands in the foreground whenever
   * they change during a block; only those of the running block are passed on.
   */
  onChildrenReport(receiver: ((report: ChildrenReport) => void) | undefined): void {
    this.childrenReport = receiver;
  }

  /** The interactive shell's pid. */
  get pid(): number {
    return this.shellPid;
  }

  /** The terminal session's id: the session leader's pid; every process the shell starts is in it. */
  get sid(): number {
    return this.term.pid;
  }

  /** True once the shell has exited. */
  get exited(): boolean {
    return this.exitCode !== undefined;
  }

  /**
   * Starts the shell under its session leader and waits for its ready marker.
   * @throws Error when the shell cannot start, exits first, or is not ready within the timeout.
   */
  static async spawn(opts: SpawnOptions): Promise<ShellProcess> {
    const readyId = newMarkerId();
    const { layout, remote } = opts;
    const { file, args, cwd, env, keeper } = launchShell({ ...opts, readyId });
    let term: pty.IPty;
    try {
      // encoding null: the output as the bytes the terminal gave (Buffers), decoded here (wire()).
      term = pty.spawn(file, args, { name: 'xterm-256color', cols: opts.cols, rows: opts.rows, cwd, env, encoding: null });
    } catch (err) {
      keeper?.release();
      throw new ShellStartError(`cannot start ${opts.shell}: ${(err as Error).message}`);
    }
    const proc = new ShellProcess(term, opts.profile, readyId, layout, keeper);
    opts.onSpawned?.(proc);
    // A remote shell's init line waits for the bootstrap's marker: typed earlier, it would be echoed
    // by the local terminal before ssh makes it raw, or read by ssh's own prompts.
    const typeInit = () => opts.profile.initLine && term.write(`${opts.profile.initLine}\n`);
    if (!remote) typeInit();
    let early = '';
    let booted = false;
    const readyTimeoutMs = opts.readyTimeoutMs ?? (remote ? 120_000 : 10_000);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new ShellStartError(`${opts.shell} was not ready after ${readyTimeoutMs} ms: ${early.slice(-500)}`));
      }, readyTimeoutMs);
      proc.onReady = (id, pid) => {
        if (remote && id === `${readyId}-boot`) {
          booted = true; // what follows is the remote shell's start, not ssh's: no longer forwarded
          typeInit();
          return true;
        }
        if (id !== readyId) return false;
        clearTimeout(timer);
        proc.shellPid = pid;
        resolve();
        return true;
      };
      proc.background = (text, bytes) => {
        early += text;
        if (!booted) opts.onEarly?.(text, bytes);
      };
      proc.whenExited().then(() => {
        clearTimeout(timer);
        proc.kill('SIGKILL');
        const what = remote ? `${carrier(remote)} exited before ${opts.shell} was ready` : `${opts.shell} exited before it was ready`;
        reject(new ShellStartError(`${what} (status ${proc.exitCode}): ${early.slice(-500)}`, proc.exitCode));
      });
    });
    proc.onReady = () => false;
    proc.background = () => {};
    return proc;
  }

  /** Called for a ready marker; returns true when it was the expected one. */
  private onReady: (id: string, pid: number) => boolean = () => false;

  /** Sets the receiver of output printed while no block runs (a background job's). */
  onBackground(receiver: OutputReceiver): void {
    this.background = receiver;
  }

  private wire(): void {
    // Spawned with encoding null, node-pty hands over Buffers (its typings say string).
    this.term.onData((data) => this.receive(data as unknown as Buffer));
    this.term.onExit(({ exitCode, signal }) => {
      // node-pty emits exit only after the PTY's socket closed (node-pty#72), so all output is in.
      for (const piece of this.scanner.feed(this.scanner.flush())) this.deliver(piece);
      this.route(this.chunker.flush());
      this.keeper?.release();
      this.ended(signal ? 128 + signal : exitCode, true);
    });
  }

  /**
   * The shell has ended with `status`: the running block ends with it. `hungUp`: the terminal
   * closed without the leader's word (see BlockEnd). Idempotent.
   */
  private ended(status: number, hungUp = false): void {
    if (this.exited) return;
    this.exitCode = status;
    const block = this.active;
    this.active = undefined;
    if (block && !block.started) this.flushEarly(block);
    block?.resolve({ exitCode: status, shellExited: true, ...(hungUp ? { hungUp } : {}) });
    for (const waiter of this.exitWaiters.splice(0)) waiter();
  }

  /**
   * The terminal's bytes go through the marker scanner as latin1 text (a byte a character: markers
   * are ASCII), so a marker split across reads is found as before, and the output between markers
   * comes out as the exact bytes, cut on character boundaries (utf8.ts).
   */
  private receive(data: Buffer): void {
    for (const piece of this.scanner.feed(data.toString('latin1'))) this.deliver(piece);
  }

  /** Output bytes, to the running block, to its early text before it starts, or to the background. */
  private route(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const block = this.active;
    if (block && !block.started) {
      block.early += bytes.toString('latin1');
      block.onEarly?.();
      return;
    }
    const text = bytes.toString('utf8');
    if (block) block.onOutput(text, bytes);
    else this.background(text, bytes);
  }

  /** Output of a block that has not started: its echoed run line is dropped, the rest is background. */
  private flushEarly(block: ActiveBlock): void {
    const { early, echo } = block;
    const at = early.indexOf(echo);
    let rest = early;
    if (at >= 0) {
      // The empty line's echo (a newline) is the last one before the run line's.
      const lead = block.lead && at > 0 ? early.lastIndexOf('\n', at - 1) : -1;
      rest = lead >= 0 ? early.slice(0, lead) + early.slice(lead + 1, at) : early.slice(0, at);
      rest += early.slice(at + echo.length);
    }
    block.early = '';
    block.echo = '';
    if (!rest) return;
    const bytes = Buffer.from(rest, 'latin1');
    this.background(bytes.toString('utf8'), bytes);
  }

  private deliver(piece: { text: string } | { marker: Marker }): void {
    if ('text' in piece) {
      this.route(this.chunker.take(Buffer.from(piece.text, 'latin1')));
      return;
    }
    // An unfinished character before a marker is output of its own (decoded: U+FFFD).
    this.route(this.chunker.flush());
    const block = this.active;
    const { kind, id } = piece.marker;
    // The fields are UTF-8 (a working directory's name).
    const rest = piece.marker.rest.map((field) => Buffer.from(field, 'latin1').toString('utf8'));
    if (kind === 'r' && this.onReady(id, Number(rest[0]))) return;
    if (kind === 'w' && id === this.leaderId) {
      this.remoteWaits = rest[0] === '1' ? rest[1] : undefined;
      return;
    }
    if (kind === 'c' && id === this.leaderId) {
      if (rest[0] === block?.id) this.childrenReport?.({ at: performance.now(), now: Number(rest[1]), starts: rest[2].split(' ').filter(Boolean).map(Number) });
      return;
    }
    if (kind === 'h' && id === this.leaderId) {
      this.hungShell = true;
      return;
    }
    if (kind === 'q' && id === this.leaderId) {
      const status = Number(rest[0]);
      this.ended(Number.isInteger(status) ? status : 1);
      return;
    }
    if (block && id === block.id) {
      if (kind === 's') {
        this.flushEarly(block);
        block.started = true;
        block.onStart();
        return;
      }
      if (kind === 'e') {
        this.active = undefined;
        this.endedId = id;
        const status = Number(rest[0]);
        block.resolve({ exitCode: Number.isInteger(status) ? status : 1, cwd: rest[1], shellExited: false });
        return;
      }
    }
    if (kind === 'e' && id === this.endedId) return;
    // A marker that is not ours for this block is the block's own output.
    this.deliver({ text: `\x1b]6973;${kind};${[id, ...piece.marker.rest].join(';')}\x07` });
  }

  /**
   * Runs the block already written to `step.file` and resolves when it ends. `onStart` is called
   * once the shell has taken the line and the block starts (a Ctrl-C sent before then would be
   * lost with the line).
   * @throws Error when a block is already running or the shell has exited.
   */
  run(step: RunStep, onOutput: OutputReceiver, onStart: () => void = () => {}): Promise<BlockEnd> {
    if (this.active) throw new Error('a block is already running in this shell');
    if (this.exited) throw new Error('the shell has exited');
    const id = newMarkerId();
    let typed = `${this.profile.runLine(id, step, this.layout)}\n`;
    // An empty line first takes the signal of a Ctrl-C typed since the last block (the profile's doc).
    const lead = this.ctrlCTyped && this.profile.emptyLineAfterCtrlC === true;
    this.ctrlCTyped = false;
    if (step.traps) this.traps = true;
    if (this.layout.remote) {
      // The block itself goes first, encoded, for the remote __cmdrun_get (shells.ts, remote.ts).
      const lines = encodeBlockLines(Buffer.from(step.text ?? '', 'utf8'));
      // A container shell's size goes with every block: its stty also turns `onlcr` off, which
      // the engine may have turned on after the shell started (conmon does; __cmdrun_get).
      const size = this.keeper ? ` ${this.term.cols} ${this.term.rows}` : this.sizeToSend ? ` ${this.sizeToSend}` : '';
      this.sizeToSend = undefined;
      typed = `__cmdrun_get ${lines.length}${step.interpreter ? ' run' : ''}${size}\n${lines.map((l) => `${l}\n`).join('')}${typed}`;
    }
    return new Promise<BlockEnd>((resolve) => {
      // The echo as the terminal's bytes read as latin1, as `early` holds them.
      this.active = { id, started: false, echo: Buffer.from(typed, 'utf8').toString('latin1'), lead, early: '', onOutput, onStart, resolve };
      if (lead) this.term.write('\n');
      if (this.layout.remote) this.typePaced(typed, this.active);
      else this.term.write(typed);
    });
  }

  /**
   * Types a remote block a piece at a time: the next {@link TYPE_CHUNK} once the remote terminal has
   * echoed all but half a piece of what was sent (or {@link TYPE_PACE_MS} passed, for a terminal
   * with echo off). Typed at once, a large block's echo filled every buffer between here and the
   * remote terminal while this process was still writing, and both sides waited.
   */
  private typePaced(text: string, block: ActiveBlock): void {
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const next = () => {
      clearTimeout(timer);
      if (this.active !== block || this.exited || sent >= text.length) {
        block.onEarly = undefined;
        return;
      }
      const piece = text.slice(sent, sent + TYPE_CHUNK);
      sent += piece.length;
      this.term.write(piece);
      timer = setTimeout(next, TYPE_PACE_MS);
    };
    block.onEarly = () => {
      if (block.early.length >= sent - TYPE_CHUNK / 2) next();
    };
    next();
  }

  /** True when the running block's start marker has arrived. */
  get blockStarted(): boolean {
    return this.active?.started ?? false;
  }

  /** The terminal's path (/dev/pts/N). */
  get ttyPath(): string {
    return (this.term as unknown as { ptsName: string }).ptsName;
  }

  /** The terminal's foreground process group (the shell's own when it runs no job). */
  foregroundGroup(): number | undefined {
    return readStat(this.sid)?.tpgid;
  }

  /**
   * True when the running block waits for terminal input (see waitsForTerminalInput). For a remote
   * shell, as its input watcher (remote.ts) last reported it; never where the remote machine has no
   * /proc (the page offers input to every running remote block as well).
   */
  waitsForInput(): boolean {
    if (this.layout.remote) return this.active?.started === true && this.remoteWaits === this.active.id;
    const fg = this.foregroundGroup();
    return fg !== undefined && fg > 0 && waitsForTerminalInput(this.sid, fg, this.ttyPath);
  }

  /** True when the shell itself (not a command it runs) is blocked reading the terminal (`read`). */
  shellReadsInput(): boolean {
    if (this.layout.remote) return false;
    return readsTerminal(this.shellPid, this.ttyPath);
  }

  /** Changes the terminal size (SIGWINCH to the foreground job); sizes in character cells. */
  resize(cols: number, rows: number): void {
    if (this.exited || (cols === this.term.cols && rows === this.term.rows)) return;
    this.term.resize(cols, rows);
    if (this.layout.remote) this.sizeToSend = `${cols} ${rows}`;
  }

  /** Stops reading the PTY (the writing program blocks once the kernel buffer is full). */
  pause(): void {
    if (!this.exited) this.term.pause();
  }

  /** Resumes reading the PTY. */
  resume(): void {
    if (!this.exited) this.term.resume();
  }

  /** Types raw text into the terminal (Ctrl-C is `\x03`). */
  write(data: string): void {
    if (!this.exited) this.term.write(data);
    if (data.includes('\x03')) this.ctrlCTyped = true;
    this.remoteWaits = undefined; // a remote block is waiting again only once its watcher says so
  }

  /** Resolves once the shell has exited. */
  whenExited(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  /** SIGKILLs every process the shell started (its session, but for the leader and the shell). */
  killChildren(): void {
    for (const pid of sessionMembers(this.sid)) {
      if (pid === this.sid || pid === this.shellPid) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }

  /** Sends `signal` to every process of the shell's terminal session. */
  kill(signal: NodeJS.Signals): void {
    signalSession(this.sid, signal);
  }

  /**
   * Ends the shell and everything it started: SIGHUP (bash passes it on to its jobs) and SIGTERM,
   * then SIGKILL to whatever is left after `graceMs`.
   */
  async terminate(graceMs = 2000): Promise<void> {
    if (this.exited) {
      this.kill('SIGKILL'); // background jobs that outlived the shell
      return;
    }
    this.kill('SIGHUP');
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.whenExited();
    clearTimeout(timer);
    this.kill('SIGKILL');
  }

}

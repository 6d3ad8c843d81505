/**
 * One shell process in a PTY, driven block by block through in-band markers.
 * The session (session.ts) owns one of these at a time and replaces it when it dies.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pty from '@lydell/node-pty';
import { MarkerScanner, type Marker } from './markers.js';
import { readStat, signalSession, waitsForTerminalInput } from './processes.js';
import type { ShellProfile } from './shells.js';

/** How a block ended, as seen from this process. */
export interface BlockEnd {
  /** The block's exit status (`$?`), or 128 + signal number when the shell was killed. */
  exitCode: number;
  /** The shell's working directory after the block; undefined when the shell died. */
  cwd?: string;
  /** True when the shell exited during the block (`exit`, `exec`, a signal). */
  shellExited: boolean;
}

/** Options for {@link ShellProcess.spawn}. */
export interface SpawnOptions {
  profile: ShellProfile;
  /** The shell executable, a name looked up in PATH or a path. */
  shell: string;
  /** The session's private temp folder, where the startup file is written. */
  dir: string;
  cwd: string;
  env: Record<string, string>;
  cols: number;
  rows: number;
  /** How long to wait for the startup file's ready marker, in ms. */
  readyTimeoutMs?: number;
}

interface ActiveBlock {
  id: string;
  started: boolean;
  onOutput: (text: string) => void;
  resolve: (end: BlockEnd) => void;
}

/** A random marker id: 12 bytes, base64url (never contains `;`). */
export const newMarkerId = (): string => randomBytes(12).toString('base64url');

/** A shell in a PTY that has read its startup file and waits for blocks. */
export class ShellProcess {
  private readonly scanner = new MarkerScanner();
  private active: ActiveBlock | undefined;
  private exitCode: number | undefined;
  private readonly exitWaiters: Array<() => void> = [];

  private constructor(
    private readonly term: pty.IPty,
    private readonly profile: ShellProfile,
  ) {
    this.wire();
  }

  /** The shell's pid, also its session id. */
  get pid(): number {
    return this.term.pid;
  }

  /** True once the shell has exited. */
  get exited(): boolean {
    return this.exitCode !== undefined;
  }

  /**
   * Starts the shell and waits for its ready marker.
   * @throws Error when the shell cannot start, exits first, or is not ready within the timeout.
   */
  static async spawn(opts: SpawnOptions): Promise<ShellProcess> {
    const readyId = newMarkerId();
    const rcPath = join(opts.dir, opts.profile.rcName);
    const extra = opts.profile.env(opts.dir, rcPath);
    const restore = Object.fromEntries(Object.keys(extra).map((key) => [key, opts.env[key]]));
    await writeFile(rcPath, opts.profile.rc({ readyId, restore }), { mode: 0o600 });
    let term: pty.IPty;
    try {
      term = pty.spawn(opts.shell, opts.profile.args(rcPath), {
        name: 'xterm-256color',
        cols: opts.cols,
        rows: opts.rows,
        cwd: opts.cwd,
        env: { ...opts.env, ...extra },
      });
    } catch (err) {
      throw new Error(`cannot start ${opts.shell}: ${(err as Error).message}`);
    }
    const proc = new ShellProcess(term, opts.profile);
    let early = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`${opts.shell} was not ready after ${opts.readyTimeoutMs ?? 10_000} ms: ${early.slice(-500)}`));
      }, opts.readyTimeoutMs ?? 10_000);
      proc.onReady = (id) => {
        if (id !== readyId) return false;
        clearTimeout(timer);
        resolve();
        return true;
      };
      proc.onStray = (text) => {
        early += text;
      };
      proc.whenExited().then(() => {
        clearTimeout(timer);
        reject(new Error(`${opts.shell} exited before it was ready (status ${proc.exitCode}): ${early.slice(-500)}`));
      });
    });
    proc.onReady = () => false;
    proc.onStray = () => {};
    return proc;
  }

  /** Called for a ready marker; returns true when it was the expected one. */
  private onReady: (id: string) => boolean = () => false;
  /** Called for output that arrives while no block is running. */
  private onStray: (text: string) => void = () => {};

  private wire(): void {
    this.term.onData((data) => this.receive(data));
    this.term.onExit(({ exitCode, signal }) => {
      // node-pty emits exit only after the PTY's socket closed (node-pty#72), so all output is in.
      for (const piece of this.scanner.feed(this.scanner.flush())) this.deliver(piece);
      this.exitCode = signal ? 128 + signal : exitCode;
      const block = this.active;
      this.active = undefined;
      block?.resolve({ exitCode: this.exitCode, shellExited: true });
      for (const waiter of this.exitWaiters.splice(0)) waiter();
    });
  }

  private receive(data: string): void {
    for (const piece of this.scanner.feed(data)) this.deliver(piece);
  }

  private deliver(piece: { text: string } | { marker: Marker }): void {
    const block = this.active;
    if ('text' in piece) {
      if (block?.started) block.onOutput(piece.text);
      else this.onStray(piece.text);
      return;
    }
    const { kind, id, rest } = piece.marker;
    if (kind === 'r' && this.onReady(id)) return;
    if (block && id === block.id) {
      if (kind === 's') {
        block.started = true;
        return;
      }
      if (kind === 'x') {
        this.term.write('\n'); // releases the EXIT trap: everything before the marker is read
        return;
      }
      if (kind === 'e') {
        this.active = undefined;
        const status = Number(rest[0]);
        block.resolve({ exitCode: Number.isInteger(status) ? status : 1, cwd: rest[1], shellExited: false });
        return;
      }
    }
    // A marker that is not ours for this block is the block's own output.
    const text = `\x1b]6973;${kind};${[id, ...rest].join(';')}\x07`;
    if (block?.started) block.onOutput(text);
    else this.onStray(text);
  }

  /**
   * Runs the block already written to `file` and resolves when it ends.
   * @throws Error when a block is already running or the shell has exited.
   */
  run(file: string, onOutput: (text: string) => void): Promise<BlockEnd> {
    if (this.active) throw new Error('a block is already running in this shell');
    if (this.exited) throw new Error('the shell has exited');
    const id = newMarkerId();
    return new Promise<BlockEnd>((resolve) => {
      this.active = { id, started: false, onOutput, resolve };
      this.term.write(`${this.profile.runLine(id, file)}\n`);
    });
  }

  /** The terminal's path (/dev/pts/N). */
  get ttyPath(): string {
    return (this.term as unknown as { ptsName: string }).ptsName;
  }

  /** The terminal's foreground process group (the shell's own when it runs no job). */
  foregroundGroup(): number | undefined {
    return readStat(this.pid)?.tpgid;
  }

  /** True when the running block waits for terminal input (see waitsForTerminalInput). */
  waitsForInput(): boolean {
    const fg = this.foregroundGroup();
    return fg !== undefined && fg > 0 && waitsForTerminalInput(this.pid, fg, this.ttyPath);
  }

  /** Changes the terminal size (SIGWINCH to the foreground job); sizes in character cells. */
  resize(cols: number, rows: number): void {
    if (!this.exited && (cols !== this.term.cols || rows !== this.term.rows)) this.term.resize(cols, rows);
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
  }

  /** Resolves once the shell has exited. */
  whenExited(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  /** Sends `signal` to every process of the shell's terminal session. */
  kill(signal: NodeJS.Signals): void {
    signalSession(this.pid, signal);
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

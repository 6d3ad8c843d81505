/**
 * The persistent shell session: one shell whose state (cwd, variables, functions, aliases) carries
 * over from block to block, as a Jupyter kernel does. A shell that dies is replaced by a fresh one.
 */
import { rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { BlockFile } from './block-file.js';
import { makeSessionDir } from './local.js';
import { lostMessage } from './lost.js';
import { mayTrapInterrupt, typeCtrlC } from './ctrl-c.js';
import { carrier, remoteDir, type RemoteOptions } from './remote.js';
import { ShellProcess, ShellStartError, type OutputReceiver } from './shell-process.js';
import { relativeName, shellEnv, type BlockResult, type RunOptions, type SessionOptions, type SessionStatus } from './session-types.js';
import { checkText, layoutPaths, profileFor, type SessionLayout, type ShellProfile } from './shells.js';
import { formatTarget } from './target.js';

export * from './session-types.js';

/** How often a running block is checked for waiting on input (ms)... */
const WAITING_POLL_MS = 150;
/** ...once its output has been quiet this long (ms). */
const WAITING_QUIET_MS = 100;

/** cmdrun's own message to a block's output (text and its UTF-8 bytes). */
const say = (options: RunOptions, text: string): void => options.onOutput(text, Buffer.from(text, 'utf8'));

/** `code` with the `return`s at `offsets` replaced by a call of `fn` (RunOptions.topLevelReturns). */
function withTopLevelReturns(code: string, offsets: readonly number[] | undefined, fn: string | undefined): string {
  if (!fn || !offsets?.length) return code;
  let out = code;
  for (const at of [...offsets].sort((a, b) => b - a)) {
    if (out.startsWith('return', at)) out = out.slice(0, at) + fn + out.slice(at + 'return'.length);
  }
  return out;
}

/** A persistent shell session. Blocks run one at a time; callers queue them (see RunQueue). */
export class ShellSession {
  private proc: ShellProcess | undefined;
  private starting: Promise<ShellProcess> | undefined;
  private running = false;
  /** Interrupts asked for the running block: 1 = Ctrl-C, 2 = SIGKILL its job, 3 = kill the shell. */
  private interrupts = 0;
  /** Blocks run so far: tells a delayed step of interrupt() that its block is still the one running. */
  private blocks = 0;
  private closed = false;
  /** Set when a shell died outside a block: the next block reports sessionRestarted. */
  private restartPending = false;
  private currentCwd: string;

  private constructor(
    private readonly opts: Required<Omit<SessionOptions, 'env' | 'remote'>> & { env: Record<string, string>; remote?: RemoteOptions },
    private readonly profile: ShellProfile,
    private readonly dir: string,
  ) {
    this.currentCwd = this.firstCwd;
    this.layout = { dir, scriptName: opts.scriptName, relName: relativeName(opts.scriptName), cwd: opts.cwd, ...(opts.remote ? { remote: true } : {}) };
    const paths = layoutPaths(this.layout);
    this.blockFile = new BlockFile(paths.block);
    this.checkFile = new BlockFile(paths.check);
  }

  /** The block being run, and the syntax check's copy of it (shells.ts, checkText). */
  private readonly blockFile: BlockFile;
  private readonly checkFile: BlockFile;

  /** Where the session's files are (shells.ts, SessionLayout). */
  private readonly layout: SessionLayout;

  /**
   * Starts a session and waits until its shell is ready (~5-20 ms for bash). A remote session
   * (options.remote) connects with its first block instead.
   * @throws Error for an unsupported shell or a shell that cannot start.
   */
  static async start(options: SessionOptions): Promise<ShellSession> {
    const shell = options.shell ?? 'bash';
    const profile = profileFor(shell);
    const scriptName = (options.scriptName || 'block.sh').replace(/^-/, './-'); // never an option, nor a login shell's `-bash`
    const opts = { shell, cwd: options.cwd, env: shellEnv(options.env ?? process.env), cols: options.cols ?? 120, rows: options.rows ?? 30, scriptName };
    if (options.remote) return new ShellSession({ ...opts, remote: options.remote }, profile, '');
    return makeSessionDir(relativeName(scriptName), async (dir) => {
      const made = new ShellSession(opts, profile, dir);
      await made.shellProcess();
      return made;
    });
  }

  /** The shell as given (`bash`). */
  get shell(): string {
    return this.opts.shell;
  }

  /** Where the shell runs, as a target (`local`, `ssh://db1`, `docker://web`; target.ts). */
  get target(): string {
    return formatTarget(this.opts.remote?.target ?? { kind: 'local' });
  }

  /**
   * The current shell's pid, or undefined while none runs (also once it exited: a remote one after
   * `exit` until the next block connects again).
   */
  get pid(): number | undefined {
    return this.live?.pid;
  }

  /** The id of the shell's terminal session (proc(5) field 6), or undefined while none runs. */
  get sessionId(): number | undefined {
    return this.live?.sid;
  }

  /** The current shell while it runs (undefined before the first and once it exited). */
  private get live(): ShellProcess | undefined {
    return this.proc && !this.proc.exited ? this.proc : undefined;
  }

  /** The working directory reported after the last block. */
  get cwd(): string {
    return this.currentCwd;
  }

  get status(): SessionStatus {
    if (this.closed) return 'dead';
    if (this.running) return 'busy';
    if (!this.live) return 'starting';
    return 'idle';
  }

  /**
   * The shell, started when there is none. `onEarly` gets what the terminal shows before it is
   * ready (ssh's prompts and messages, for a remote one), and input typed meanwhile reaches it.
   */
  private shellProcess(onEarly?: OutputReceiver): Promise<ShellProcess> {
    if (this.live) return Promise.resolve(this.live);
    const { remote } = this.opts;
    this.starting ??= ShellProcess.spawn({
      profile: this.profile,
      shell: this.opts.shell,
      dir: this.dir,
      cwd: remote ? process.cwd() : this.opts.cwd, // a remote cwd is the bootstrap's (remote.ts)
      env: this.opts.env,
      cols: this.opts.cols,
      rows: this.opts.rows,
      layout: remote ? { ...this.layout, dir: remoteDir() } : this.layout,
      remote,
      onEarly,
      onSpawned: (proc) => (this.spawned = proc),
    }).then(
      (proc) => {
        this.proc = proc;
        this.spawned = undefined;
        proc.onBackground((text, bytes) => this.background(text, bytes));
        this.starting = undefined;
        this.currentCwd = this.firstCwd;
        proc.whenExited().then(() => {
          if (!this.running && !this.closed) this.restartPending = true;
        });
        return proc;
      },
      (err) => {
        this.starting = undefined;
        this.spawned = undefined;
        throw err;
      },
    );
    return this.starting;
  }

  /** The shell the last restart() ended (its block says so, not "the connection was lost"). */
  private restarted: ShellProcess | undefined;

  /** A shell spawned and not yet ready: input goes to it (ssh's password prompt). */
  private spawned: ShellProcess | undefined;

  /** The working directory a new shell starts in, as reported (`~` for a remote home). */
  private get firstCwd(): string {
    return this.opts.cwd || '~';
  }

  /**
   * Runs one block: the shell checks its syntax in place (with the session's options and
   * aliases), then sources it. A syntax error is exit status 2 with the shell's message, and
   * nothing of the block runs. An interrupt that arrives before the block starts is kept: the block
   * then does not run, or gets its Ctrl-C as soon as the shell has taken it.
   * @throws Error when another block is running, the session is closed, or no shell can start.
   */
  async run(code: string, options: RunOptions): Promise<BlockResult> {
    if (this.closed) throw new Error('the session is closed');
    if (this.running) throw new Error('a block is already running');
    this.running = true;
    this.interrupts = 0;
    this.blocks++;
    let poll: NodeJS.Timeout | undefined;
    try {
      const { remote } = this.opts;
      let proc: ShellProcess;
      try {
        proc = await this.shellProcess(remote && options.onOutput);
      } catch (err) {
        if (!remote || !(err instanceof ShellStartError)) throw err;
        // The carrier's own message (already shown: it was the block's output) and its status.
        this.restartPending = true; // the next block tries again, in a new shell
        if (this.interrupts > 0) {
          say(options, `\ncmdrun: interrupted while connecting to ${this.target}\n`);
          return { exitCode: 130, cwd: this.currentCwd, interrupted: true, sessionRestarted: false };
        }
        const status = err.status ?? 255;
        const how = err.status === undefined ? err.message : status === 127 && remote.target.kind === 'container' ? `${carrier(remote)} exited with status 127 (is ${carrier(remote)} installed? --${carrier(remote)}-command names it)` : `${carrier(remote)} exited with status ${status}`;
        say(options, `\ncmdrun: could not start ${this.opts.shell} on ${this.target}: ${how}\n`);
        return { exitCode: status, cwd: this.currentCwd, interrupted: false, sessionRestarted: false, unreachable: true };
      }
      const restarted = this.restartPending;
      this.restartPending = false;
      if (this.interrupts > 0) {
        return { exitCode: 130, cwd: this.currentCwd, interrupted: true, sessionRestarted: restarted };
      }
      code = withTopLevelReturns(code, options.topLevelReturns, this.profile.topLevelReturn);
      // Blank lines before the block make the shell's line numbers those of the script.
      const padding = '\n'.repeat(Math.max(0, (options.lineStart ?? 1) - 1));
      const padded = padding + code + (code.endsWith('\n') ? '' : '\n');
      const file = layoutPaths(proc.layout).block;
      if (remote) {
        // Sent with the block line (ShellProcess.run).
      } else if (options.interpreter) {
        this.blockFile.write(padded);
      } else {
        this.blockFile.write(this.profile.blockPrefix + padded);
        this.checkFile.write(checkText(padded));
      }
      if (options.cols) proc.resize(options.cols, this.opts.rows);
      let lastOutput = performance.now();
      let reported = false;
      this.inputSent = () => (reported = false);
      if (options.onWaiting) {
        const onWaiting = options.onWaiting;
        poll = setInterval(() => {
          if (reported || performance.now() - lastOutput < WAITING_QUIET_MS) return;
          if (proc.waitsForInput()) {
            reported = true;
            onWaiting();
          }
        }, WAITING_POLL_MS);
      }
      const onStart = () => {
        if (this.interrupts > 0) this.ctrlC(proc); // asked for while the shell took the line
        else if (options.input) proc.write(options.input); // after the block line: the block reads it
      };
      // A block given input (a hidden one reading values) reads the terminal even in batch mode.
      const traps = !options.interpreter && mayTrapInterrupt(code);
      const step = { file, interpreter: options.interpreter, traps, ...(remote ? { text: padded, noInput: remote.batch && !options.input } : {}) };
      const end = await proc.run(step, (text, bytes) => {
        lastOutput = performance.now();
        reported = false;
        options.onOutput(text, bytes);
      }, onStart);
      if (end.cwd !== undefined) this.currentCwd = end.cwd;
      if (end.hungUp && remote && !this.closed) {
        const why = this.interrupts >= 2 ? 'closed to stop the block' : proc === this.restarted ? 'closed by a restart' : undefined;
        say(options, await lostMessage(remote, this.target, this.opts.env, why, end.exitCode));
      } else if (end.shellExited && proc.hung) {
        const again = remote?.target.kind === 'ssh' ? 'the next block connects again' : 'the next block starts a new shell';
        say(options, `\ncmdrun: ${this.opts.shell} on ${this.target} hung (blocked for good on a lock of its own, as busybox sh can be after Ctrl-C) and was killed; ${again}\n`);
      }
      if (end.shellExited && remote) {
        await proc.terminate();
        // The next block connects again; after a lost connection it is the one that says so.
        if (end.hungUp) this.restartPending = true;
      } else if (end.shellExited) {
        await proc.terminate(); // jobs the dead shell left behind
        this.shellProcess().catch(() => {}); // a fresh shell for the next block, started now
      }
      const interrupted = this.interrupts > 0;
      return {
        // zsh reports 0 after an interrupted shell loop: an interrupted block never "succeeded".
        exitCode: interrupted && end.exitCode === 0 ? 130 : end.exitCode,
        cwd: end.shellExited ? this.firstCwd : this.currentCwd,
        interrupted,
        sessionRestarted: restarted || (end.shellExited && !(remote && end.hungUp)),
      };
    } finally {
      clearInterval(poll);
      this.proc?.onChildrenReport(undefined);
      this.inputSent = () => {};
      this.running = false;
    }
  }

  /** Receives output printed while no block runs, e.g. by a background job; see {@link onBackground}. */
  private background: OutputReceiver = () => {};

  /**
   * Sets the receiver of output printed while no block runs (a background job started by an
   * earlier block, `(sleep 1; echo later) &`). Output printed while a block runs is that block's.
   */
  onBackground(receiver: OutputReceiver): void {
    this.background = receiver;
  }

  /** Called when input is typed: a block that reads again is reported waiting again. */
  private inputSent: () => void = () => {};

  /**
   * Interrupts the running block. The first call is Ctrl-C (SIGINT to the foreground process group,
   * through the PTY's line discipline). A block that ignores it is escalated: the second call
   * SIGKILLs the foreground job; when the shell itself is in the foreground (a shell loop that
   * traps INT), or on the third call, the shell is killed and a fresh one takes the next block.
   * Returns false when no block is running.
   */
  interrupt(): boolean {
    const proc = this.proc;
    if (!this.running) return false;
    this.interrupts++;
    if (this.opts.remote) {
      // ssh still connecting or asking (host key, password): the block ends with ssh's status.
      if (this.spawned) this.spawned.kill('SIGKILL');
      // The remote processes cannot be signalled from here: past Ctrl-C, the connection is closed.
      else if (proc && this.interrupts >= 2) proc.kill('SIGKILL');
      if (this.spawned || this.interrupts >= 2) return true;
    }
    // Before the block starts, the interrupt waits for it (run() checks; the start sends Ctrl-C).
    if (!proc || (!proc.blockStarted && this.interrupts < 3)) return true;
    if (this.interrupts === 1) {
      this.ctrlC(proc);
      return true;
    }
    if (this.interrupts === 2) {
      if (!this.profile.jobControl) {
        // No job control (bash): the block's commands share the shell's process group. Kill them
        // (background jobs too), and the shell's own INT trap, pending since Ctrl-C, ends the block.
        proc.killChildren();
        return true;
      }
      const fg = proc.foregroundGroup();
      if (fg && fg !== proc.pid) {
        try {
          process.kill(-fg, 'SIGKILL');
        } catch {
          // The job ended meanwhile.
        }
        return true;
      }
    }
    proc.kill('SIGKILL');
    return true;
  }

  /** Types Ctrl-C into the running block's terminal, and catches up what it misses (ctrl-c.ts). */
  private ctrlC(proc: ShellProcess): void {
    const block = this.blocks;
    typeCtrlC(proc, {
      jobControl: this.profile.jobControl,
      remote: this.opts.remote !== undefined,
      ended: () => this.blocks !== block || !this.running,
      firstInterrupt: () => this.interrupts === 1,
    });
  }

  /** Pauses reading the shell's output (flow control for slow consumers). */
  pause(): void {
    this.proc?.pause();
  }

  /** Resumes reading the shell's output. */
  resume(): void {
    this.proc?.resume();
  }

  /**
   * Types `data` into the running block's terminal input (`\r` is Enter, `\x04` end of input).
   * Returns false when no block is running.
   */
  input(data: string): boolean {
    const proc = this.proc ?? this.spawned;
    if (!this.running || !proc) return false;
    proc.write(data);
    this.inputSent();
    return true;
  }

  /**
   * Kills the shell and every process of its terminal session, and starts a fresh shell.
   * A running block ends with sessionRestarted.
   */
  async restart(): Promise<void> {
    if (this.closed) throw new Error('the session is closed');
    const old = this.proc;
    this.restarted = old;
    this.proc = undefined;
    this.spawned?.kill('SIGKILL');
    await old?.terminate();
    this.restartPending = false;
    // A remote shell connects with the next block (ssh may ask something: that block shows it).
    if (this.opts.remote) this.currentCwd = this.firstCwd;
    else await this.shellProcess();
  }

  /** SIGKILLs the shell and every process of its terminal session at once (a forced stop). */
  killNow(): void {
    this.proc?.kill('SIGKILL');
    this.spawned?.kill('SIGKILL');
    this.blockFile.close();
    this.checkFile.close();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Kills the shell and its processes and removes the session's temp files. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.spawned?.kill('SIGKILL');
    await this.proc?.terminate();
    await this.starting?.then((p) => p.terminate()).catch(() => {});
    this.blockFile.close();
    this.checkFile.close();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

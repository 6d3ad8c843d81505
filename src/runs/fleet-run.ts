/**
 * A fleet run (README "Fleets"): one block run on every host of a fleet at once, each in that
 * host's persistent session (pool.ts), at most `forks` hosts connecting or running at a time. Its
 * events (README "HTTP API"): `start` of the run, then per host `start`, `output`, `waiting` and
 * `end` carrying the host's `target`, then the run's own `end` with every host's outcome. Each
 * host's output is buffered and masked on its own, so an output event never holds two hosts' text.
 */
import stripAnsi from 'strip-ansi';
import type { FleetHost, ResolvedFleet } from '../session/inventory.js';
import type { SessionPool } from '../session/pool.js';
import type { BlockResult, ShellSession } from '../session/session.js';
import type { FleetEndData, FleetHostResult, FlowControl, Run } from './run.js';
import type { Masker, Secrets } from './secrets.js';

/** Default of `--forks`: hosts connecting or running at once (Ansible's default is 5, pssh's 32). */
export const DEFAULT_FORKS = 20;

/** A host's output is sent at most this often (ms), or once this much is pending (characters): as Run does. */
const FLUSH_MS = 16;
const FLUSH_CHARS = 64 * 1024;
/** Characters of a host's newest output kept to find its last line. */
const LAST_CHARS = 4096;

/** What a fleet run needs besides its run. */
export interface FleetRunDeps {
  sessions: SessionPool;
  fleet: ResolvedFleet;
  /** The code to run on every host (its parameters already asked for). */
  code: string;
  forks: number;
  secrets?: Secrets;
  /** Keep output bytes (RunOptions.keepBytes). */
  keepBytes: boolean;
  /** The offsets of the code's top-level `return`s (session RunOptions.topLevelReturns). */
  topLevelReturns?: number[];
  /** Run in each host's session before its block (the values asked once, staged there); may throw. */
  beforeHost?: (session: ShellSession) => Promise<void>;
}

/** One host of the run. */
interface HostRun {
  host: FleetHost;
  state: 'queued' | 'running' | 'done';
  session?: ShellSession;
  interruptAsked: boolean;
  pending: string;
  pendingBytes: Buffer[];
  timer?: NodeJS.Timeout;
  masker?: Masker;
  last: string;
  result?: FleetHostResult;
}

/** The last line of `text` that is not blank, as a terminal shows it (escapes removed, after its last `\r`). */
export function lastLineOf(text: string): string {
  const lines = stripAnsi(text).split('\n').map((l) => (l.split('\r').filter((p) => p.trim()).at(-1) ?? '').trimEnd());
  return lines.filter((l) => l.trim()).at(-1) ?? '';
}

/** A fleet run in progress: RunQueue creates it, runs it, and passes interrupts and input to it. */
export class FleetExecution {
  private readonly hosts: HostRun[];
  private free: number;
  private readonly slots: Array<() => void> = [];
  private paused = false;

  constructor(
    private readonly run: Run,
    private readonly deps: FleetRunDeps,
  ) {
    this.hosts = deps.fleet.hosts.map((host) => ({ host, state: 'queued', interruptAsked: false, pending: '', pendingBytes: [], last: '', masker: deps.secrets?.masker() }));
    this.free = Math.max(1, deps.forks);
  }

  /**
   * Runs the block on every host and emits the events, the run's own `end` last.
   * @returns the run's own end.
   */
  async execute(): Promise<FleetEndData> {
    const { run } = this;
    const t0 = performance.now();
    run.emit({ event: 'start', data: { runId: run.runId, startedAt: Date.now() } });
    run.flow = this.flowControl();
    if (run.cancelRequested) this.interrupt(); // asked while the run was being set up
    await Promise.all(this.hosts.map((h) => this.runHost(h)));
    const results = this.hosts.map((h) => h.result!);
    const failed = results.find((r) => r.exitCode !== 0 || r.interrupted);
    const end: FleetEndData = {
      runId: run.runId,
      exitCode: failed ? (failed.exitCode || 130) : 0,
      durationMs: Math.round(performance.now() - t0),
      interrupted: results.some((r) => r.interrupted),
      hosts: results,
    };
    run.emit({ event: 'end', data: end });
    return end;
  }

  /**
   * Interrupts the host `target` (undefined: every host): Ctrl-C to a running block (a second
   * interrupt escalates, as for one session); a host still waiting for a fork slot does not start.
   * @returns false when no such host is still queued or running.
   */
  interrupt(target?: string): boolean {
    let any = false;
    for (const h of this.hosts) {
      if ((target !== undefined && h.host.target !== target) || h.state === 'done') continue;
      any = true;
      h.interruptAsked = true;
      if (h.state === 'running') h.session?.interrupt();
    }
    return any;
  }

  /** Types `data` into host `target`'s running block; false when it is not running. */
  input(target: string, data: string): boolean {
    const h = this.hosts.find((x) => x.host.target === target);
    return h?.state === 'running' && h.session !== undefined && h.session.input(data);
  }

  /** Pauses and resumes every running host's output (the run's readers lag). */
  private flowControl(): FlowControl {
    const each = (f: (s: ShellSession) => void) => this.hosts.forEach((h) => h.state === 'running' && h.session && f(h.session));
    return {
      pause: () => ((this.paused = true), each((s) => s.pause())),
      resume: () => ((this.paused = false), each((s) => s.resume())),
    };
  }

  private async slot(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.slots.push(resolve));
  }

  private release(): void {
    const next = this.slots.shift();
    if (next) next();
    else this.free++;
  }

  private async runHost(h: HostRun): Promise<void> {
    const { run } = this;
    const target = h.host.target;
    await this.slot();
    try {
      if (h.interruptAsked) {
        h.state = 'done';
        this.finish(h, { exitCode: 130, cwd: '', interrupted: true, sessionRestarted: false }, 0, true);
        return;
      }
      const t0 = performance.now();
      let result: BlockResult;
      let session: ShellSession | undefined;
      try {
        session = await this.deps.sessions.get(target, h.host.via);
      } catch (err) {
        run.emit({ event: 'start', data: { runId: run.runId, target, startedAt: Date.now(), connecting: false } });
        h.state = 'running';
        this.output(h, `cmdrun: ${(err as Error).message}\n`);
        this.finish(h, { exitCode: 1, cwd: '', interrupted: false, sessionRestarted: false }, Math.round(performance.now() - t0));
        return;
      }
      h.session = session;
      h.state = 'running';
      run.emit({ event: 'start', data: { runId: run.runId, target, startedAt: Date.now(), connecting: session.status === 'starting' && session.target !== 'local' } });
      if (this.paused) session.pause();
      try {
        await this.deps.beforeHost?.(session);
        result = await session.run(this.deps.code, {
          topLevelReturns: this.deps.topLevelReturns,
          lineStart: run.request.lineStart,
          cols: run.request.cols,
          interpreter: run.request.interpreter,
          onOutput: (text, bytes) => this.output(h, text, bytes),
          onWaiting: () => {
            this.flush(h, true);
            run.emit({ event: 'waiting', data: { runId: run.runId, target } });
          },
        });
      } catch (err) {
        const unreachable = session.status === 'starting';
        this.output(h, `cmdrun: ${h.interruptAsked ? 'interrupted' : (err as Error).message}\n`);
        result = { exitCode: h.interruptAsked ? 130 : unreachable ? 255 : 1, cwd: session.cwd, interrupted: h.interruptAsked, sessionRestarted: false, unreachable: unreachable && !h.interruptAsked };
      }
      if (this.paused) session.resume();
      this.finish(h, result, Math.round(performance.now() - t0));
    } finally {
      this.release();
    }
  }

  /** Sends a host's last output and its `end`, and keeps its outcome for the run's own end. */
  private finish(h: HostRun, result: BlockResult, durationMs: number, cancelled = false): void {
    this.flush(h, true);
    h.state = 'done';
    const target = h.host.target;
    const unreachable = result.unreachable === true;
    this.run.emit({
      event: 'end',
      data: {
        runId: this.run.runId,
        target,
        exitCode: result.exitCode,
        durationMs,
        cwd: result.cwd,
        interrupted: result.interrupted,
        sessionRestarted: result.sessionRestarted,
        unreachable,
        ...(cancelled ? { cancelled: true } : {}),
      },
    });
    h.result = { target, exitCode: result.exitCode, durationMs, interrupted: result.interrupted, unreachable, lastLine: lastLineOf(h.last) };
  }

  /** Buffers a host's output (masked), sent within {@link FLUSH_MS}. */
  private output(h: HostRun, text: string, bytes?: Buffer): void {
    const masking = h.masker?.active === true;
    const shown = masking ? h.masker!.push(text) : text;
    h.pending += shown;
    if (this.deps.keepBytes && shown) h.pendingBytes.push(masking || !bytes ? Buffer.from(shown, 'utf8') : bytes);
    h.last = (h.last + shown).slice(-LAST_CHARS);
    if (h.pending.length >= FLUSH_CHARS) this.flush(h);
    else h.timer ??= setTimeout(() => this.flush(h), FLUSH_MS);
  }

  /** Sends what a host has pending; with `all`, also what its masker holds back (its output stops here). */
  private flush(h: HostRun, all = false): void {
    if (h.timer) clearTimeout(h.timer);
    h.timer = undefined;
    const held = all && h.masker ? h.masker.end() : '';
    if (held) {
      h.pending += held;
      h.last = (h.last + held).slice(-LAST_CHARS);
      if (this.deps.keepBytes) h.pendingBytes.push(Buffer.from(held, 'utf8'));
    }
    if (!h.pending) return;
    const text = h.pending;
    h.pending = '';
    const bytes = this.deps.keepBytes ? Buffer.concat(h.pendingBytes) : undefined;
    h.pendingBytes = [];
    this.run.emit({ event: 'output', data: { runId: this.run.runId, target: h.host.target, text, ...(bytes ? { bytes } : {}) } });
  }
}

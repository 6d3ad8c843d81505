/**
 * The hosts of one fleet run as the page knows them from its events (README "Fleets"): each
 * host's state, exit status, duration, whether it waits for input, and its own output buffer (a
 * live run's stream carries the chosen host's output only, the others' stays on the server; a run
 * of the history has every host's). No DOM: host-strip.ts and fleet-panel.ts draw it.
 */
import { hostCount, hostFailed, hostOutcome, type HostResult } from '../src/runs/group-outputs.js';
import { RawOutput } from './raw-output.js';

/** Output kept per host for the page (UTF-16 code units, the last ones): 4 MiB, as a run's tail. */
export const HOST_OUTPUT_LIMIT = 4 * 1024 * 1024;

/**
 * A host's state, as its chip shows it; `unfinished`: a run of the history whose cmdrun stopped
 * during the host's block (it has no exit status).
 */
export type HostState = 'queued' | 'connecting' | 'running' | 'ok' | 'failed' | 'unreachable' | 'interrupted' | 'unfinished';

/** One host of the fleet. */
export interface FleetHost {
  /** Its target as the events name it (`ssh://web01`). */
  target: string;
  /** What the page calls it: the target without `ssh://` (`web01`, `deploy@db1:2222`, `local`). */
  name: string;
  state: HostState;
  /** Set at its end. */
  exitCode?: number;
  /** Epoch ms of its own `start`; its duration runs from there until `durationMs` is known. */
  startedAt?: number;
  durationMs?: number;
  /** True from a `waiting` event until it prints again or ends. */
  waiting: boolean;
  output: RawOutput;
}

/** What the page shows of a target: `ssh://web01` -> `web01`. */
export function hostName(target: string): string {
  return target.startsWith('ssh://') ? target.slice('ssh://'.length).replace(/\/$/, '') : target;
}

/** A host's end, as its `end` event (or the run's `hosts` list) says it. */
export interface HostEnd {
  exitCode: number;
  durationMs: number;
  interrupted?: boolean;
  unreachable?: boolean;
}

/** The order states are counted in: outcomes first, then what is still under way. */
const COUNT_ORDER: HostState[] = ['ok', 'failed', 'unreachable', 'interrupted', 'unfinished', 'running', 'connecting', 'queued'];

export class FleetHosts {
  readonly hosts: FleetHost[];
  private readonly byTarget = new Map<string, FleetHost>();

  /** @param targets the fleet's hosts in fleet order (the `fleet` event's `targets`) */
  constructor(targets: readonly string[], outputLimit = HOST_OUTPUT_LIMIT) {
    this.hosts = [...new Set(targets)].map((target) => ({ target, name: hostName(target), state: 'queued', waiting: false, output: new RawOutput(outputLimit) }));
    for (const h of this.hosts) this.byTarget.set(h.target, h);
  }

  /** The host of `target`; a target the fleet event did not list is added at the end. */
  get(target: string): FleetHost {
    let h = this.byTarget.get(target);
    if (!h) {
      h = { target, name: hostName(target), state: 'queued', waiting: false, output: new RawOutput(HOST_OUTPUT_LIMIT) };
      this.hosts.push(h);
      this.byTarget.set(target, h);
    }
    return h;
  }

  /** The host took a fork slot (`start {target, startedAt, connecting}`). */
  started(target: string, startedAt: number, connecting: boolean): FleetHost {
    const h = this.get(target);
    h.state = connecting ? 'connecting' : 'running';
    h.startedAt = startedAt;
    return h;
  }

  /**
   * The host printed `text`. A connecting host runs once it prints (the session has no event of
   * its own for "connected"). Returns true when its state changed.
   */
  output(target: string, text: string): boolean {
    const h = this.get(target);
    h.output.push(text);
    const changed = h.state === 'connecting' || h.state === 'queued' || h.waiting;
    if (h.state === 'connecting' || h.state === 'queued') h.state = 'running';
    h.waiting = false;
    return changed;
  }

  /** The host's block waits for terminal input. */
  waiting(target: string): FleetHost {
    const h = this.get(target);
    h.waiting = true;
    if (h.state === 'connecting' || h.state === 'queued') h.state = 'running';
    return h;
  }

  /** The host ended. */
  ended(target: string, end: HostEnd): FleetHost {
    const h = this.get(target);
    h.exitCode = end.exitCode;
    h.durationMs = end.durationMs;
    h.waiting = false;
    h.state = end.unreachable ? 'unreachable' : end.interrupted ? 'interrupted' : end.exitCode === 0 ? 'ok' : 'failed';
    return h;
  }

  /** The host's row in the history has no exit status: its cmdrun stopped during its block. */
  unfinished(target: string): FleetHost {
    const h = this.get(target);
    h.state = 'unfinished';
    h.waiting = false;
    return h;
  }

  /**
   * The run ended: `hosts` (its `end`'s list) settles every host it names; a host it does not name
   * and that never ended (the run was cancelled or failed first) counts as interrupted, unless the
   * history says it is unfinished.
   */
  runEnded(hosts: readonly (HostEnd & { target: string })[] = []): void {
    for (const end of hosts) this.ended(end.target, end);
    for (const h of this.hosts) if (h.exitCode === undefined && h.state !== 'unfinished') h.state = 'interrupted';
  }

  /** True when no host is queued, connecting or running. */
  get done(): boolean {
    return this.hosts.every((h) => h.state !== 'queued' && h.state !== 'connecting' && h.state !== 'running');
  }

  /** `12 hosts: 10 ok, 1 failed, 1 unreachable` (only the states some host is in). */
  countLine(): string {
    const counts = new Map<HostState, number>();
    for (const h of this.hosts) counts.set(h.state, (counts.get(h.state) ?? 0) + 1);
    const parts = COUNT_ORDER.filter((s) => counts.has(s)).map((s) => `${counts.get(s)} ${s}`);
    const waiting = this.hosts.filter((h) => h.waiting).length;
    if (waiting) parts.push(`${waiting} waiting for input`);
    return `${hostCount(this.hosts.length)}: ${parts.join(', ')}`;
  }

  /** The targets "Re-run failed" runs again: failed, interrupted or unreachable, in fleet order. */
  failedTargets(): string[] {
    return this.hosts.filter((h) => h.exitCode !== undefined && hostFailed(this.result(h))).map((h) => h.target);
  }

  /** Every host as group-outputs takes it: its name, its output here as plain text, how it ended. */
  results(): HostResult[] {
    return this.hosts.map((h) => ({ ...this.result(h), host: h.name, output: h.output.plain() }));
  }

  /** Host `target`'s whole output (from the history), `dropped` characters of its start not kept, in place of what this page kept of it. */
  take(target: string, output: { raw: string; dropped: number }): void {
    const kept = new RawOutput(HOST_OUTPUT_LIMIT);
    kept.push(output.raw);
    kept.dropped += output.dropped;
    this.get(target).output = kept;
  }

  private result(h: FleetHost): Omit<HostResult, 'host' | 'output'> {
    return { exitCode: h.exitCode ?? null, unreachable: h.state === 'unreachable', interrupted: h.state === 'interrupted' };
  }

  /** The chip's state words: `ok`, `failed 2`, `unreachable`, `running`, `connecting`, `queued`, `unfinished`. */
  static stateText(h: FleetHost): string {
    if (h.state === 'queued' || h.state === 'connecting' || h.state === 'running' || h.state === 'unfinished') return h.state;
    return hostOutcome({ exitCode: h.exitCode ?? null, unreachable: h.state === 'unreachable', interrupted: h.state === 'interrupted' });
  }
}

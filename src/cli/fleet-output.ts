/**
 * How `cmdrun run` prints a fleet block (README "Fleets"): each host's output line by line as it
 * arrives, prefixed with the host's name padded to one width (`web01 | ...`), each host in its own
 * colour (none with --no-color or NO_COLOR), a line never split between hosts; with `--group`,
 * each distinct output once under the hosts that printed it (group-outputs.ts, as `dshbak -c`), once
 * every host has ended; then a summary table: host, exit status, duration, and a failure's last line.
 */
import stripAnsi from 'strip-ansi';
import { formatDuration } from '../runs/format.js';
import { groupOutputs, hostCount, hostOutcome } from '../runs/group-outputs.js';
import type { FleetEndData, RunEvent } from '../runs/run.js';
import { hostName, isFleet } from '../session/fleet-spec.js';
import { resolve } from 'node:path';
import type { Block } from '../blocks/split.js';
import { FleetError, resolveFleet, type ResolvedFleet } from '../session/inventory.js';
import { UsageError } from './checks.js';

/** Options of a {@link FleetPrinter}. */
export interface FleetPrintOptions {
  /** Remove the output's escape sequences (--no-color, NO_COLOR). */
  strip: boolean;
  /** Colour host names and headings (stdout is a terminal, and no --no-color or NO_COLOR). */
  color: boolean;
  /** `--group`: grouped outputs at the end instead of prefixed lines as they come. */
  group: boolean;
}

/** The colours host names cycle through (SGR: red, green, yellow, blue, magenta, cyan and their bright forms). */
const COLOURS = [36, 33, 35, 32, 34, 31, 96, 93, 95, 92, 94, 91];

/** One host's state in the printer. */
interface HostLines {
  name: string;
  colour: number;
  /** A line begun and not yet ended. */
  partial: string;
  /** Everything it printed (for --group). */
  output: string;
}

/** Turns a fleet run's events into what stdout shows. */
export class FleetPrinter {
  private readonly hosts = new Map<string, HostLines>();
  private width = 0;

  constructor(private readonly options: FleetPrintOptions) {}

  /** What to print for `event` ('' for nothing). */
  print(event: RunEvent): string {
    if (event.event === 'fleet') {
      const names = event.data.targets.map(hostName);
      this.width = Math.max(...names.map((n) => n.length));
      event.data.targets.forEach((t, i) => this.hosts.set(t, { name: names[i], colour: COLOURS[i % COLOURS.length], partial: '', output: '' }));
      return '';
    }
    const target = 'target' in event.data ? event.data.target : undefined;
    const host = target !== undefined ? this.hosts.get(target) : undefined;
    if (event.event === 'output' && host) {
      const text = this.options.strip ? stripAnsi(event.data.text) : event.data.text;
      if (this.options.group) {
        host.output += text;
        return '';
      }
      const lines = (host.partial + text).split('\n');
      host.partial = lines.pop()!;
      return lines.map((line) => this.line(host, line)).join('');
    }
    if (event.event === 'end' && host) {
      const rest = host.partial;
      host.partial = '';
      return rest && !this.options.group ? this.line(host, rest) : '';
    }
    if (event.event === 'end' && 'hosts' in event.data && !event.data.cancelled) return this.summary(event.data);
    return '';
  }

  /** One line of a host, with its prefix. */
  private line(host: HostLines, line: string): string {
    const name = host.name.padEnd(this.width);
    return `${this.options.color ? `\x1b[${host.colour}m${name}\x1b[0m` : name} | ${line}\n`;
  }

  /** The grouped outputs (--group), then the table of hosts and a count line. */
  private summary(end: FleetEndData): string {
    const parts: string[] = [];
    const byTarget = new Map(end.hosts.map((h) => [h.target, h]));
    if (this.options.group) {
      const groups = groupOutputs(
        [...this.hosts].map(([target, h]) => {
          const r = byTarget.get(target);
          return { host: h.name, output: h.output, exitCode: r ? r.exitCode : null, unreachable: r?.unreachable, interrupted: r?.interrupted };
        }),
      );
      for (const g of groups) {
        const head = `${g.label}: ${g.outcome}`;
        const rule = '-'.repeat(Math.min(72, head.length));
        parts.push(`${rule}\n${this.options.color ? `\x1b[1m${head}\x1b[0m` : head}\n${rule}\n${g.output}${g.output && !g.output.endsWith('\n') ? '\n' : ''}`);
      }
    }
    const rows = end.hosts.map((h) => {
      const failed = h.exitCode !== 0 || h.interrupted || h.unreachable;
      const exit = h.unreachable ? `${h.exitCode} unreachable` : h.interrupted ? `${h.exitCode} interrupted` : String(h.exitCode);
      return [hostName(h.target), exit, formatDuration(h.durationMs), failed ? h.lastLine : ''];
    });
    const head = ['HOST', 'EXIT', 'DURATION', 'LAST LINE'];
    const widths = head.map((t, i) => Math.max(t.length, ...rows.map((r) => r[i].length)));
    const table = [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
    const counts = new Map<string, number>(['ok', 'failed', 'unreachable', 'interrupted'].map((w) => [w, 0]));
    for (const h of end.hosts) {
      const word = hostOutcome(h).replace(/^failed \d+$/, 'failed');
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
    for (const [word, n] of counts) if (n === 0) counts.delete(word);
    parts.push(`${table.join('\n')}\n${hostCount(end.hosts.length)}: ${[...counts].map(([w, n]) => `${n} ${w}`).join(', ')}\n`);
    return parts.join('');
  }
}

/**
 * Resolves every fleet the blocks run on (a block's `on=`, else a fleet `--on`) before anything
 * runs, each once.
 * @throws UsageError (exit status 2) naming the block: no Ansible, an inventory that does not
 *   load, an unknown group.
 */
export async function resolveFleets(blocks: readonly Block[], defaultFleet: string | undefined, inventory: string | undefined, place: (block: Block) => string): Promise<Map<string, ResolvedFleet>> {
  const fleets = new Map<string, ResolvedFleet>();
  for (const block of blocks) {
    const on = block.on ?? defaultFleet;
    if (on === undefined || !isFleet(on) || fleets.has(on)) continue;
    try {
      fleets.set(on, await resolveFleet(on, inventory !== undefined ? { inventory: resolve(inventory) } : {}));
    } catch (err) {
      if (err instanceof FleetError) throw new UsageError(`${block.on === undefined ? `--on ${on}` : place(block)}: ${err.message}`);
      throw err;
    }
  }
  return fleets;
}

/**
 * A fleet run's output for readers that show one host at a time (README "Fleets", HTTP API): an
 * event stream that carries one host's output only, and every host's output grouped as `dshbak -c`
 * does. 50 hosts printing 1 MB each then cost a page one host's megabyte, not fifty.
 */
import { hostName } from '../session/fleet-spec.js';
import { plainText } from './format.js';
import { groupOutputs, lastLines, type HostResult, type OutputGroup } from './group-outputs.js';
import type { Run, RunEvent } from './run.js';

/**
 * A filter of a fleet run's events, called with each event in order, for a reader that shows the
 * output of host `shown` only. Another host's `output` event becomes one with empty `text` (and no
 * bytes) after each of that host's other events (its `start`, `waiting`, `end`), so that a reader
 * still learns the host printed (it runs; it no longer waits), and is left out after that until
 * the host's next other event. Every other event, and every event without a `target` (a
 * single-target run's), passes as it is.
 * @returns the filter: the event to send, or undefined to leave it out
 */
export function outputFilter(shown: string): (event: RunEvent) => RunEvent | undefined {
  /** Hosts whose output the reader was told of since their last other event. */
  const told = new Set<string>();
  return (event) => {
    const target = (event.data as { target?: string }).target;
    if (target === undefined || target === shown) return event;
    if (event.event !== 'output') {
      told.delete(target);
      return event;
    }
    if (told.has(target)) return undefined;
    told.add(target);
    return { id: event.id, event: 'output', data: { runId: event.data.runId, target, text: '' } };
  };
}

/** One distinct output of a fleet run and its hosts (group-outputs.ts), with the hosts' targets. */
export interface TargetGroup extends OutputGroup {
  /** The targets of `hosts`, in the same order. */
  targets: string[];
}

/**
 * Each run's hosts' output as plain text, by target, with the stamp of the output it was made from
 * (Run.outputStamp): a client that shows the groups while the run streams asks again and again,
 * and a host whose kept output did not change since costs nothing. Kept as long as the run is.
 */
const plainCache = new WeakMap<Run, Map<string, { stamp: string; plain: string }>>();

/** Host `target`'s kept output of `run` as plain text, made again only when it changed. */
function plainOutputOf(run: Run, target: string): string {
  let byTarget = plainCache.get(run);
  if (!byTarget) plainCache.set(run, (byTarget = new Map()));
  const stamp = run.outputStamp(target);
  const cached = byTarget.get(target);
  if (cached?.stamp === stamp) return cached.plain;
  const plain = plainText(run.outputOf(target).text);
  byTarget.set(target, { stamp, plain });
  return plain;
}

/**
 * Every host's kept output of fleet run `run` (Run.outputOf) as plain text (escape sequences
 * removed, each redrawn line's last state), grouped by identical output and outcome, failing groups
 * first (group-outputs.ts). A host with no `end` yet is `running` (exit status null). With
 * `lines`, each group's output is its last `lines` lines, with `omittedLines` the lines before
 * them: 50 hosts' distinct megabytes would otherwise be 50 MB a client asks for again and again.
 * @returns undefined when `run` is not a fleet run (or its hosts are not resolved yet)
 */
export function groupHosts(run: Run, lines?: number): TargetGroup[] | undefined {
  const targets = run.fleet?.hosts.map((h) => h.target);
  if (!targets) return undefined;
  const ends = new Map<string, Pick<HostResult, 'exitCode' | 'unreachable' | 'interrupted'>>();
  for (const end of hostEnds(run)) ends.set(end.target, end);
  const byName = new Map<string, string>();
  const results = targets.map((target): HostResult => {
    const name = hostName(target);
    byName.set(name, target);
    const end = ends.get(target);
    return { host: name, output: plainOutputOf(run, target), exitCode: end?.exitCode ?? null, unreachable: end?.unreachable, interrupted: end?.interrupted };
  });
  return groupOutputs(results).map((g) => {
    const cut = lines !== undefined ? lastLines(g.output, lines) : undefined;
    return { ...g, ...(cut && { output: cut.text, omittedLines: cut.omitted }), targets: g.hosts.map((name) => byName.get(name)!) };
  });
}

/** The hosts that ended so far: the run's own `end`'s list once it ended, else the hosts' `end` events. */
function hostEnds(run: Run): Array<{ target: string; exitCode: number; unreachable?: boolean; interrupted?: boolean }> {
  const ended = run.ended;
  return ended && 'hosts' in ended ? ended.hosts : run.hostEndEvents();
}

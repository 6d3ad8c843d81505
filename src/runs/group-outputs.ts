/**
 * Fleet outputs grouped by identical text, the way `dshbak -c` shows pdsh output: each distinct
 * output once, under the hosts that printed it, host names folded into ranges (`web[01-03,07]`).
 * Pure: shared by the page ("Group identical"), `cmdrun run --group` and transcripts.
 */

/** What one host of a fleet run printed and how it ended. */
export interface HostResult {
  /** The host's name as shown to people (its inventory name, or its target). */
  host: string;
  /** Everything the host printed, as streamed (compared byte for byte). */
  output: string;
  /** The host's exit status; null while it still runs (or when it never started). */
  exitCode: number | null;
  /** True when the host could not be reached (its session never connected). */
  unreachable?: boolean;
  /** True when the host's block was interrupted. */
  interrupted?: boolean;
}

/** One distinct output and the hosts that printed it with the same outcome. */
export interface OutputGroup {
  /** The hosts, in the order given (fleet order). */
  hosts: string[];
  /** The hosts folded into ranges: `web[01-03,07]`. */
  hostList: string;
  /** `hostList` with the count: `web[01-03,07] (4 hosts)`. */
  label: string;
  /** The output they all printed. */
  output: string;
  /** The shared outcome, as {@link hostOutcome} words it (`ok`, `failed 2`, `unreachable`, …). */
  outcome: string;
  /** True when the outcome is a failure: a non-zero exit status, unreachable or interrupted. */
  failed: boolean;
  /** When `output` is its last lines only (GET /api/runs/:runId/groups?lines=N): how many lines come before them. */
  omittedLines?: number;
}

/** True when a host's outcome counts as failed (what "Re-run failed" runs again). */
export function hostFailed(r: Pick<HostResult, 'exitCode' | 'unreachable' | 'interrupted'>): boolean {
  return !!r.unreachable || !!r.interrupted || (r.exitCode !== null && r.exitCode !== 0);
}

/**
 * A host's outcome in one or two words: `running` (no exit status yet), `ok`, `failed N`,
 * `unreachable`, `interrupted` (unreachable and interrupted win over the exit status).
 */
export function hostOutcome(r: Pick<HostResult, 'exitCode' | 'unreachable' | 'interrupted'>): string {
  if (r.unreachable) return 'unreachable';
  if (r.interrupted) return 'interrupted';
  if (r.exitCode === null) return 'running';
  return r.exitCode === 0 ? 'ok' : `failed ${r.exitCode}`;
}

/**
 * The last `n` lines of `text` (a final "\n" ends the last line, it starts none) and how many
 * lines come before them (0 when `text` has at most `n` lines: then it is `text` itself).
 */
export function lastLines(text: string, n: number): { text: string; omitted: number } {
  let at = text.endsWith('\n') ? text.length - 1 : text.length;
  for (let i = 0; i < n; i++) {
    at = at > 0 ? text.lastIndexOf('\n', at - 1) : -1;
    if (at < 0) return { text, omitted: 0 };
  }
  let omitted = 1; // the line ending at `at`
  for (let i = text.lastIndexOf('\n', at - 1); i >= 0; i = i > 0 ? text.lastIndexOf('\n', i - 1) : -1) omitted++;
  return { text: text.slice(at + 1), omitted };
}

/** `1 host`, `12 hosts`. */
export function hostCount(n: number): string {
  return `${n} ${n === 1 ? 'host' : 'hosts'}`;
}

/**
 * Groups hosts by identical output and outcome. Failing groups come first, then the others; within
 * each, groups keep the fleet order of their first host.
 */
export function groupOutputs(results: readonly HostResult[]): OutputGroup[] {
  const groups = new Map<string, { hosts: string[]; output: string; outcome: string; failed: boolean }>();
  for (const r of results) {
    const outcome = hostOutcome(r);
    const key = `${outcome}\0${r.output}`;
    const g = groups.get(key);
    if (g) g.hosts.push(r.host);
    else groups.set(key, { hosts: [r.host], output: r.output, outcome, failed: hostFailed(r) });
  }
  const all = [...groups.values()].map((g) => {
    const hostList = foldHosts(g.hosts);
    return { ...g, hostList, label: `${hostList} (${hostCount(g.hosts.length)})` };
  });
  return [...all.filter((g) => g.failed), ...all.filter((g) => !g.failed)];
}

/** A name cut at its last run of digits: `web07.dc1` is prefix `web`, digits `07`, suffix `.dc1`. */
interface NumberedName {
  prefix: string;
  suffix: string;
  digits: string;
}

const LAST_NUMBER = /^(.*?)(\d+)(\D*)$/s;

/**
 * Folds host names into pdsh/dshbak ranges: names that differ only in their last number share one
 * `prefix[a-b,c]suffix` term, the numbers' zero padding kept (`web01..web03` -> `web[01-03]`; `web9`,
 * `web10` -> `web[9-10]`; `web01` and `web1` stay apart since one range cannot write both). Terms are
 * sorted by prefix, suffix and first number and joined by commas; duplicates count once. Every name
 * of the result expands back to exactly the names given.
 */
export function foldHosts(names: readonly string[]): string {
  const plain: string[] = [];
  // prefix\0suffix -> numbered names
  const stems = new Map<string, NumberedName[]>();
  for (const name of new Set(names)) {
    const m = LAST_NUMBER.exec(name);
    // Past 15 digits a number no longer round-trips through a double: such a name stays as it is.
    if (!m || m[2].length > 15) {
      plain.push(name);
      continue;
    }
    const n: NumberedName = { prefix: m[1], digits: m[2], suffix: m[3] };
    const key = `${n.prefix}\0${n.suffix}`;
    stems.set(key, [...(stems.get(key) ?? []), n]);
  }
  const terms: { sort: string; first: number; text: string }[] = plain.map((p) => ({ sort: p, first: -1, text: p }));
  for (const nums of stems.values()) {
    const { prefix, suffix } = nums[0];
    for (const bucket of paddingBuckets(nums)) {
      const values = bucket.values.sort((a, b) => a - b);
      const show = (v: number) => String(v).padStart(bucket.width, '0');
      const text =
        values.length === 1 ? `${prefix}${show(values[0])}${suffix}` : `${prefix}[${ranges(values).map(([a, b]) => (a === b ? show(a) : `${show(a)}-${show(b)}`)).join(',')}]${suffix}`;
      terms.push({ sort: `${prefix}\0${suffix}`, first: values[0], text });
    }
  }
  terms.sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : a.first - b.first));
  return terms.map((t) => t.text).join(',');
}

/**
 * Splits numbers by the padding one range can write them with: a number with a leading zero pads to
 * its length; one without joins the widest padded width not longer than itself, or the unpadded set.
 */
function paddingBuckets(nums: NumberedName[]): { width: number; values: number[] }[] {
  const widths = [...new Set(nums.filter((n) => n.digits.length > 1 && n.digits.startsWith('0')).map((n) => n.digits.length))].sort((a, b) => b - a);
  const buckets = new Map<number, number[]>();
  for (const n of nums) {
    const padded = n.digits.length > 1 && n.digits.startsWith('0');
    const width = padded ? n.digits.length : (widths.find((w) => w <= n.digits.length) ?? 0);
    buckets.set(width, [...(buckets.get(width) ?? []), Number(n.digits)]);
  }
  return [...buckets].map(([width, values]) => ({ width, values: [...new Set(values)] }));
}

/** Sorted numbers as inclusive runs of consecutive values: [1,2,3,7] -> [[1,3],[7,7]]. */
function ranges(sorted: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const v of sorted) {
    const last = out[out.length - 1];
    if (last && v === last[1] + 1) last[1] = v;
    else out.push([v, v]);
  }
  return out;
}

// The machine's proactive memory reclaim, which a frame measurement must know about: some virtual
// machines run DAMON (the kernel's Data Access MONitor, Documentation/admin-guide/mm/damon/) with
// a `pageout` scheme that evicts memory idle for a while, page cache included, with plenty free.
// Chromium's code and data files are then read back from disk while the page runs: a thread
// waits on the disk with its core idle, and a frame takes that long. These helpers say how much
// was read back during a measurement and pause such reclaim for it.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const KDAMONDS = '/sys/kernel/mm/damon/admin/kdamonds';

/**
 * Counters of /proc/vmstat (proc(5)): `refaults`, file pages read back after they were evicted
 * (workingset_refault_file; 4 KiB pages), and `majorFaults` (pgmajfault), system-wide.
 */
export function faultCounters() {
  const vmstat = readFileSync('/proc/vmstat', 'utf8');
  const count = (name) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(vmstat)?.[1] ?? NaN);
  return { refaults: count('workingset_refault_file'), majorFaults: count('pgmajfault') };
}

/** What was read back since `before` (a faultCounters()): MiB of refaulted file pages and major faults. */
export function faultsSince(before) {
  const now = faultCounters();
  return { refaultedMiB: Math.round(((now.refaults - before.refaults) * 4) / 1024), majorFaults: now.majorFaults - before.majorFaults };
}

/** The numbered entries of a DAMON sysfs directory (kdamonds, contexts, schemes), as paths. */
const numbered = (dir) =>
  readdirSync(dir)
    .filter((name) => /^\d+$/.test(name))
    .map((name) => join(dir, name));

/** The running DAMON kdamonds (sysfs directories) with a `pageout` scheme: empty when there are none or they cannot be read. */
export function reclaimDaemons() {
  const read = (path) => readFileSync(path, 'utf8').trim();
  const pagesOut = (context) => numbered(join(context, 'schemes')).some((scheme) => read(join(scheme, 'action')) === 'pageout');
  try {
    return numbered(KDAMONDS).filter((kdamond) => read(join(kdamond, 'state')) === 'on' && numbered(join(kdamond, 'contexts')).some(pagesOut));
  } catch {
    return [];
  }
}

/**
 * Stops the DAMON kdamonds that page memory out (reclaimDaemons) until the returned `resume()`;
 * they are started again with the same settings (sysfs keeps them) also when the process exits or
 * gets SIGINT/SIGTERM/SIGHUP first. Returns undefined when there are none or they cannot be
 * stopped (not root).
 * @returns `{ daemons, resume }`: the sysfs directories stopped, and the function that starts them again
 */
export function pauseReclaim() {
  const daemons = reclaimDaemons().filter((kdamond) => {
    try {
      writeFileSync(join(kdamond, 'state'), 'off');
      return true;
    } catch {
      return false;
    }
  });
  if (daemons.length === 0) return undefined;
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let resumed = false;
  const resume = () => {
    if (resumed) return;
    resumed = true;
    process.off('exit', resume);
    for (const signal of signals) process.off(signal, onSignal);
    for (const kdamond of daemons) {
      try {
        writeFileSync(join(kdamond, 'state'), 'on');
      } catch {
        // it went away meanwhile
      }
    }
  };
  // Resumes, then lets the signal do what it would have done (end the process).
  function onSignal(signal) {
    resume();
    process.kill(process.pid, signal);
  }
  process.on('exit', resume);
  for (const signal of signals) process.once(signal, onSignal);
  return { daemons, resume };
}

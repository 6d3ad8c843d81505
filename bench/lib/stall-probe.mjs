// A stall probe: wakes every millisecond and keeps the longest time between two wake-ups (ms).
// Run as a real-time thread (chrt -f) on the CPU the page runs on, it is never kept waiting by
// ordinary processes such as Chromium's, so a long gap is the machine's own stall (the hypervisor
// not running this virtual CPU, or the kernel busy): a frame of the page as long as it says
// nothing of the page. Prints `ready` once it has run a first 200 ms (its own start-up, which takes
// the CPU for tens of ms at real-time priority, is over by then), then {"maxGapMs", "over50": [[at,
// gap], ...]} as JSON once its stdin closes; the gaps count from `ready` on.
const tick = new Int32Array(new SharedArrayBuffer(4));
let open = true;
process.stdin.on('end', () => (open = false)).resume();
let last = performance.now();
let startedAt;
let maxGapMs = 0;
/** The gaps over 50 ms: [ms since the probe started, gap in ms], the first 20. */
const over50 = [];
const loop = () => {
  // Wakes every ms for 200 ms, then lets the event loop see stdin.
  for (const stop = performance.now() + 200; performance.now() < stop; ) {
    Atomics.wait(tick, 0, 0, 1);
    const now = performance.now();
    const gap = now - last;
    last = now;
    if (gap > 50 && over50.length < 20) over50.push([Math.round(last - gap - startedAt), Math.round(gap)]);
    maxGapMs = Math.max(maxGapMs, gap);
  }
  if (startedAt === undefined) {
    // The first slice warmed it up: measure from here on.
    process.stdout.write('ready\n');
    startedAt = last = performance.now();
    maxGapMs = 0;
    over50.length = 0;
  }
  if (open) setImmediate(loop);
  else process.stdout.write(JSON.stringify({ maxGapMs: Math.round(maxGapMs), over50 }) + '\n');
};
loop();

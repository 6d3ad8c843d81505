// Output throughput and server memory: a block printing N bytes, from POST to `end` at an SSE
// client that reads everything, beside the same bytes into /dev/null and through a bare PTY.
// Usage: node bench/throughput.mjs [megabytes=200]   (after npm install, which builds dist/)
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pty from '@lydell/node-pty';
import { createParser } from 'eventsource-parser';

const MB = Number(process.argv[2] ?? 200);
const bytes = MB * 1_000_000;
const block = `yes | head -c ${bytes}`;
const bin = fileURLToPath(new URL('../bin/cmdrun.js', import.meta.url));

/** Peak resident set (VmHWM) and current RSS of a process, in MB (proc(5)). */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)[1]);
  return { peakMB: kb('VmHWM') / 1024, rssMB: kb('VmRSS') / 1024 };
}

async function throughCmdrun() {
  const child = spawn(process.execPath, [bin, '--no-browser', '--port', '0', '/tmp/cmdrun-bench.sh'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /cmdrun: (\S+)\n/.exec(out);
      if (m) resolve(m[1]);
    });
  });
  const origin = new URL(url).origin;
  const token = url.split('#token=')[1];
  const before = memory(child.pid);
  const t0 = performance.now();
  const res = await fetch(`${origin}/api/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ code: block }),
  });
  let received = 0;
  let end;
  const parser = createParser({
    onEvent: (e) => {
      if (e.event === 'output') received += Buffer.byteLength(JSON.parse(e.data).text);
      if (e.event === 'end') end = JSON.parse(e.data);
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of res.body) parser.feed(decoder.decode(chunk, { stream: true }));
  const seconds = (performance.now() - t0) / 1000;
  const after = memory(child.pid);
  child.kill('SIGTERM');
  return { seconds, received, exitCode: end?.exitCode, before, after };
}

function throughDevNull() {
  const t0 = performance.now();
  execFileSync('bash', ['-c', `${block} > /dev/null`]);
  return (performance.now() - t0) / 1000;
}

function throughBarePty() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let received = 0;
    const term = pty.spawn('bash', ['--noprofile', '--norc', '-c', `stty -onlcr; ${block}`], { cols: 120, rows: 30, env: process.env });
    term.onData((d) => (received += Buffer.byteLength(d)));
    term.onExit(() => resolve({ seconds: (performance.now() - t0) / 1000, received }));
  });
}

const devNull = throughDevNull();
const bare = await throughBarePty();
const cmdrun = await throughCmdrun();
const rate = (s) => (MB / s).toFixed(1);
console.log(`block: ${block}`);
console.log(`bash > /dev/null : ${devNull.toFixed(2)} s  ${rate(devNull)} MB/s`);
console.log(`bare PTY         : ${bare.seconds.toFixed(2)} s  ${rate(bare.seconds)} MB/s  (${bare.received} bytes read)`);
console.log(`cmdrun SSE       : ${cmdrun.seconds.toFixed(2)} s  ${rate(cmdrun.seconds)} MB/s  (exit ${cmdrun.exitCode}; ${cmdrun.received} bytes delivered, the rest omitted by the run's head+tail buffer)`);
console.log(`ratio to bare PTY: ${(bare.seconds / cmdrun.seconds).toFixed(2)}`);
console.log(`server RSS: ${cmdrun.before.rssMB.toFixed(0)} MB before, peak ${cmdrun.after.peakMB.toFixed(0)} MB (VmHWM), ${cmdrun.after.rssMB.toFixed(0)} MB after`);

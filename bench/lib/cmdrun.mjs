// Driving cmdrun as a user does: the built CLI (bin/cmdrun.js) on a free port, over real HTTP + SSE.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createParser } from 'eventsource-parser';

const BIN = fileURLToPath(new URL('../../bin/cmdrun.js', import.meta.url));

/**
 * Starts `node bin/cmdrun.js --no-browser --port 0 FILE [args]` and resolves once it printed its URL.
 * `startedAt` is the performance.now() of the spawn (ms). `nodeArgs` go to node (e.g. --cpu-prof).
 */
export function startCmdrun(file, { args = [], nodeArgs = [] } = {}) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, BIN, '--no-browser', '--port', '0', file, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let out = '';
    exited.then((code) => reject(new Error(`cmdrun exited (${code}) before printing its URL`)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /cmdrun: (http:\/\/\S+)\/#token=(\S+)\n/.exec(out);
      if (!m) return;
      const [, origin, token] = m;
      resolve({
        child,
        pid: child.pid,
        origin,
        token,
        url: `${origin}/#token=${token}`,
        startedAt: t0,
        /** An authenticated request to the API; `body` is sent as JSON. */
        request(method, path, body, headers = {}) {
          return fetch(`${origin}${path}`, {
            method,
            headers: {
              authorization: `Bearer ${token}`,
              ...(body === undefined ? {} : { 'content-type': 'application/json' }),
              ...headers,
            },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
        },
        /** SIGTERM, resolved once the process has exited. */
        async stop() {
          child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}

/** `node bin/cmdrun.js run --quiet FILE`, launch to exit, with stdio ignored (ms). */
export function timeCmdrunRun(file) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    spawn(process.execPath, [BIN, 'run', '--quiet', file], { stdio: 'ignore' }).on('exit', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`cmdrun run exited ${code}`)),
    );
  });
}

/**
 * Reads an SSE response to its end. Returns the `end` event's data, the time it arrived
 * (performance.now(), ms) and the UTF-8 bytes of all `output` text received.
 */
export async function readRun(response) {
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  let end;
  let endAt;
  let bytes = 0;
  const parser = createParser({
    onEvent(e) {
      if (e.event === 'output') bytes += Buffer.byteLength(JSON.parse(e.data).text);
      else if (e.event === 'end') [end, endAt] = [JSON.parse(e.data), performance.now()];
      else if (e.event === 'error') throw new Error(`run error: ${e.data}`);
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of response.body) parser.feed(decoder.decode(chunk, { stream: true }));
  if (!end) throw new Error('the stream closed before the end event');
  return { end, endAt, bytes };
}

/** POSTs a block and reads its event stream to the end: {ms: POST to `end` event, bytes, end}. */
export async function runBlock(server, code) {
  const t0 = performance.now();
  const run = await readRun(await server.request('POST', '/api/runs', { code }));
  if (run.end.exitCode !== 0) throw new Error(`block ${JSON.stringify(code.slice(0, 40))} exited ${run.end.exitCode}`);
  return { ms: run.endAt - t0, bytes: run.bytes, end: run.end };
}

/** Peak resident set (VmHWM) and current RSS of a process, in MB of 2^20 bytes (proc(5)). */
export function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)[1]);
  return { peakMB: kb('VmHWM') / 1024, rssMB: kb('VmRSS') / 1024 };
}

/** The session's shell pid (GET /api/session). */
export async function shellPid(server) {
  return (await (await server.request('GET', '/api/session')).json()).pid;
}

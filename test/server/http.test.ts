import { chmodSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { api, startTestServer } from '../helpers/server.js';
import { EventStream, outputOf, readEvents } from '../helpers/sse.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer('echo hello\n');
});
afterAll(async () => {
  await server.close();
});

describe('file', () => {
  test('GET returns the opened file only; PUT saves atomically, keeps the mode, and refuses stale saves with 409', async () => {
    chmodSync(server.file, 0o750);
    const got = (await (await api(server, '/api/file')).json()) as { path: string; content: string; mtimeMs: number };
    expect(got.path).toBe(server.file);
    expect(got.content).toBe('echo hello\n');

    const saved = await api(server, '/api/file', { method: 'PUT', json: { content: 'echo saved\n', baseMtimeMs: got.mtimeMs } });
    expect(saved.status).toBe(200);
    const { mtimeMs } = (await saved.json()) as { mtimeMs: number };
    expect(readFileSync(server.file, 'utf8')).toBe('echo saved\n');
    expect(statSync(server.file).mode & 0o777).toBe(0o750);
    expect(readdirSync(server.dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    // Another editor changes the file: a save based on the old version is refused and changes nothing.
    writeFileSync(server.file, 'echo theirs\n');
    utimesSync(server.file, new Date(), new Date(mtimeMs + 1000)); // a change the mtime shows, however coarse the file system's clock
    const stale = await api(server, '/api/file', { method: 'PUT', json: { content: 'echo mine\n', baseMtimeMs: mtimeMs } });
    expect(stale.status).toBe(409);
    const conflict = (await stale.json()) as { mtimeMs: number };
    expect(readFileSync(server.file, 'utf8')).toBe('echo theirs\n');
    // Overwriting on purpose: base the save on the current mtime.
    const forced = await api(server, '/api/file', { method: 'PUT', json: { content: 'echo mine\n', baseMtimeMs: conflict.mtimeMs } });
    expect(forced.status).toBe(200);
    expect(readFileSync(server.file, 'utf8')).toBe('echo mine\n');
  });

  test('a file that does not exist yet reads as empty and is created on first save', async () => {
    const fresh = await startTestServer();
    try {
      const { rmSync, existsSync } = await import('node:fs');
      rmSync(fresh.file);
      const got = (await (await api(fresh, '/api/file')).json()) as { content: string; mtimeMs: number | null };
      expect(got).toMatchObject({ content: '', mtimeMs: null });
      const res = await api(fresh, '/api/file', { method: 'PUT', json: { content: 'echo new\n', baseMtimeMs: null } });
      expect(res.status).toBe(200);
      expect(existsSync(fresh.file)).toBe(true);
      expect(readFileSync(fresh.file, 'utf8')).toBe('echo new\n');
    } finally {
      await fresh.close();
    }
  });
});

describe('runs', () => {
  test('runs posted at once execute one at a time in the order posted, in one session', async () => {
    // The first block waits for a line of input (not echoed), so the others are surely queued behind it.
    const codes = ['read -rs go; n=1; echo first', 'n=$((n+1)); echo "second $n"', 'echo "third $((n+1))"'];
    const streams: EventStream[] = [];
    for (const code of codes) streams.push(new EventStream(await api(server, '/api/runs', { method: 'POST', json: { code } })));
    const first = await streams[0].until((e) => e.event === 'waiting');
    expect((await api(server, `/api/runs/${first.data.runId}/input`, { method: 'POST', json: { data: 'go\r' } })).status).toBe(200);
    const all = (await Promise.all(streams.map((s) => s.done))).map((events) => events.filter((e) => e.event !== 'waiting'));
    expect(all.map(outputOf)).toEqual(['first\n', 'second 2\n', 'third 3\n']);
    expect(all[1][0]).toMatchObject({ event: 'queued', data: { position: 1 } });
    expect(all[2][0]).toMatchObject({ event: 'queued', data: { position: 2 } });
    const starts = all.map((events) => events.find((e) => e.event === 'start')!.data.startedAt as number);
    const ends = all.map((events) => events.at(-1)!);
    // startedAt is wall-clock ms and durationMs a rounded monotonic duration: allow 2 ms of rounding.
    expect(starts[1]).toBeGreaterThanOrEqual(starts[0] + (ends[0].data.durationMs as number) - 2);
    expect(starts[2]).toBeGreaterThanOrEqual(starts[1] + (ends[1].data.durationMs as number) - 2);
  });

  test('posting an existing runId attaches to that run and never runs it twice', async () => {
    const body = { code: 'count=$((count+1)); echo "ran $count"', runId: 'attach-test-1' };
    const first = await readEvents(await api(server, '/api/runs', { method: 'POST', json: body }));
    const again = await readEvents(await api(server, '/api/runs', { method: 'POST', json: body }));
    expect(outputOf(first)).toBe('ran 1\n');
    expect(again).toEqual(first);
  });

  test('GET /api/runs lists runs; events can be replayed after Last-Event-ID', async () => {
    const events = await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code: 'echo a; sleep 0.1; echo b', runId: 'replay-1' } }));
    const list = (await (await api(server, '/api/runs')).json()) as Array<{ runId: string; status: string; exitCode: number }>;
    expect(list.find((r) => r.runId === 'replay-1')).toMatchObject({ status: 'done', exitCode: 0 });
    const replay = await readEvents(await api(server, '/api/runs/replay-1/events', { headers: { 'last-event-id': '1' } }));
    expect(replay).toEqual(events.slice(1));
    const byQuery = await readEvents(await api(server, '/api/runs/replay-1/events?lastEventId=2'));
    expect(byQuery).toEqual(events.slice(2));
  });

  test('interrupt stops a running block; interrupting a queued run cancels it', async () => {
    const running = new EventStream(await api(server, '/api/runs', { method: 'POST', json: { code: 'echo started; sleep 30', runId: 'int-run' } }));
    await running.untilOutput('started');
    const queued = new EventStream(await api(server, '/api/runs', { method: 'POST', json: { code: 'echo should-not-run', runId: 'int-queued' } }));
    await queued.until((e) => e.event === 'queued');
    expect((await api(server, '/api/runs/int-queued/interrupt', { method: 'POST', json: {} })).status).toBe(200);
    expect((await api(server, '/api/runs/int-run/interrupt', { method: 'POST', json: {} })).status).toBe(200);
    const [runEvents, queuedEvents] = await Promise.all([running.done, queued.done]);
    expect(runEvents.at(-1)!.data).toMatchObject({ exitCode: 130, interrupted: true });
    expect(queuedEvents.at(-1)!.data).toMatchObject({ interrupted: true, cancelled: true });
    expect(outputOf(queuedEvents)).toBe('');
  });

  test('input reaches a running block', async () => {
    const pending = new EventStream(await api(server, '/api/runs', { method: 'POST', json: { code: 'read -r answer; echo "got $answer"', runId: 'input-1' } }));
    await pending.until((e) => e.event === 'waiting');
    const sent = await api(server, '/api/runs/input-1/input', { method: 'POST', json: { data: 'yes\r' } });
    expect(sent.status).toBe(200);
    const events = await pending.done;
    expect(outputOf(events)).toBe('yes\ngot yes\n'); // the terminal echoes typed input
    expect(events.filter((e) => e.event === 'waiting')).toHaveLength(1);
    expect((await api(server, '/api/runs/input-1/input', { method: 'POST', json: { data: 'late' } })).status).toBe(409);
  });

  test('cols sets the terminal width of the block', async () => {
    const events = await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code: 'stty size', cols: 77 } }));
    expect(outputOf(events)).toBe('30 77\n');
  });

  test('a `return` outside any function fails as in `bash script.sh` and the block goes on; one in a function returns', async () => {
    const events = await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code: 'return 3\necho "after $?"\nf() { return 4; }; f; echo "f $?"', lineStart: 5 } }));
    expect(outputOf(events)).toBe("script.sh: line 5: return: can only `return' from a function or sourced script\nafter 2\nf 4\n");
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { exitCode: 0 } });
  });

  test('session info and restart', async () => {
    await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code: 'marker=set' } }));
    const before = (await (await api(server, '/api/session')).json()) as { pid: number; status: string; shell: string };
    expect(before).toMatchObject({ shell: 'bash', status: 'idle' });
    const after = (await (await api(server, '/api/session/restart', { method: 'POST', json: {} })).json()) as { pid: number; status: string };
    expect(after.pid).not.toBe(before.pid);
    expect(after.status).toBe('idle');
    const events = await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code: 'echo "${marker-unset}"' } }));
    expect(outputOf(events)).toBe('unset\n');
  });
});

describe('interpreters and background output', () => {
  test('interpreter runs the code with that program in the session: its cwd, exported variables, exit status', async () => {
    await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code: 'cd /usr; export GREETING=hello; local_only=1' } }));
    const code = 'import os, sys\nprint(os.getcwd(), os.environ["GREETING"], os.environ.get("local_only"))\nsys.exit(3)';
    const events = await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code, interpreter: 'python3', lineStart: 10 } }));
    expect(outputOf(events)).toBe('/usr hello None\n');
    expect(events.at(-1)!.data).toMatchObject({ exitCode: 3, interrupted: false });
    // A traceback names the script's lines (the code is padded as shell blocks are).
    const failing = await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code: 'x = 1\nraise SystemExit(undefined_name)', interpreter: 'python3', lineStart: 40 } }));
    expect(outputOf(failing)).toMatch(/line 41/);
    expect(failing.at(-1)!.data.exitCode).toBe(1);
    const node = await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code: 'console.log(`${process.cwd()} ${6 * 7}`)', interpreter: 'node' } }));
    expect(outputOf(node)).toBe('/usr 42\n');
  });

  test('an interpreter that is not installed is exit status 127 with a message; an unknown one is a 400', async () => {
    const events = await readEvents(
      await api(server, '/api/runs', { method: 'POST', json: { code: 'puts 1', interpreter: 'ruby' } }),
    );
    const ruby = spawnSync('sh', ['-c', 'command -v ruby']).status === 0;
    if (!ruby) {
      expect(outputOf(events)).toBe('cmdrun: ruby: not installed (this block runs with it)\n');
      expect(events.at(-1)!.data.exitCode).toBe(127);
    } else {
      expect(outputOf(events)).toBe('1\n');
    }
    const bad = await api(server, '/api/runs', { method: 'POST', json: { code: 'x', interpreter: 'rm' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/interpreter/);
  });

  test('GET /api/session/output streams what background jobs print between blocks, and replays it', async () => {
    await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code: '(sleep 0.3; echo "from the background") &' } }));
    const abort = new AbortController();
    const res = await api(server, '/api/session/output', { signal: abort.signal });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const seen: Array<{ id?: string; data: { text: string } }> = [];
    const parser = createParser({ onEvent: (m) => seen.push({ id: m.id, data: JSON.parse(m.data) }) });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    while (!seen.some((e) => e.data.text.includes('from the background'))) parser.feed((await reader.read()).value!);
    abort.abort();
    expect(seen.map((e) => e.data.text).join('')).toContain('from the background\n');
    // The next block's output does not have it, and a new reader gets it again from the log.
    expect(outputOf(await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code: 'echo next' } })))).toBe('next\n');
    const replay = new AbortController();
    const again = await api(server, '/api/session/output', { signal: replay.signal, headers: { 'last-event-id': '0' } });
    const text = await new Promise<string>((resolve) => {
      let all = '';
      const p = createParser({ onEvent: (m) => (all += (JSON.parse(m.data) as { text: string }).text) });
      const r = again.body!.pipeThrough(new TextDecoderStream()).getReader();
      const pump = async () => {
        while (!all.includes('from the background')) p.feed((await r.read()).value!);
        resolve(all);
      };
      void pump();
    });
    replay.abort();
    expect(text).toContain('from the background\n');
  });
});

describe('body limits', () => {
  const tooLarge = JSON.stringify({ error: `request body larger than ${1024 * 1024} bytes` });

  /**
   * Sends a POST /api/runs of `bytes` (with a Content-Length, or chunked) over a raw socket and
   * reads nothing until all of it is written, as a client that sends the whole body before it reads
   * (Python's urllib) does; resolves with the answer's status line and body, or the socket's error.
   */
  const post = (bytes: number, chunked = false) =>
    new Promise<string>((resolve) => {
      const body = Buffer.from(`{"code":"echo ${'x'.repeat(bytes - 20)}"}`);
      const head = [
        'POST /api/runs HTTP/1.1',
        `Host: 127.0.0.1:${server.port}`,
        `Authorization: Bearer ${server.token}`,
        'Content-Type: application/json',
        chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`,
        'Connection: close',
        '',
        '',
      ].join('\r\n');
      const socket = connect(server.port, '127.0.0.1');
      socket.pause();
      const got: Buffer[] = [];
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`));
      socket.on('close', () => {
        const text = Buffer.concat(got).toString();
        const status = text.slice(0, text.indexOf('\r\n'));
        resolve(`${status} ${text.slice(text.indexOf('\r\n\r\n') + 4).replace(/^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, '')}`);
      });
      socket.write(head);
      socket.write(chunked ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]) : body, () => {
        socket.on('data', (d: Buffer) => got.push(d));
        socket.resume();
      });
    });

  test('a 10 MB POST /api/runs is answered 413 with its message, 20 times in a row, also to a client that reads only after sending', async () => {
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await post(10 * 1024 * 1024));
    expect(answers).toEqual(Array(20).fill(`HTTP/1.1 413 Payload Too Large ${tooLarge}`));
    // Chunked, counted as it is read.
    expect(await post(10 * 1024 * 1024, true)).toBe(`HTTP/1.1 413 Payload Too Large ${tooLarge}`);
    // fetch (undici), which reads the answer while it still sends.
    for (let i = 0; i < 3; i++) {
      const res = await api(server, '/api/runs', { method: 'POST', json: { code: `echo ${'x'.repeat(10 * 1024 * 1024)}` } });
      expect(res.status).toBe(413);
      expect(await res.text()).toBe(tooLarge);
    }
    // And the server goes on serving; a chunked body within the limit is read as the run's.
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"code":"echo '));
        controller.enqueue(new TextEncoder().encode('after"}'));
        controller.close();
      },
    });
    const init = { method: 'POST', body: chunked, duplex: 'half', headers: { 'content-type': 'application/json' } } as RequestInit;
    expect(outputOf(await readEvents(await api(server, '/api/runs', init)))).toBe('after\n');
  }, 180_000); // 240 MB sent: minutes on a loaded machine
});

// GET /api/file/events: changes of the opened script by other programs, on the real file system.
import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { FileWatcher } from '../../src/server/file-watch.js';
import { ScriptFile, type FileState } from '../../src/server/script-file.js';
import { api, startTestServer } from '../helpers/server.js';
import type { SseEvent } from '../helpers/sse.js';
import { tempDir } from '../helpers/tmp.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer('echo watched\n');
});
afterAll(async () => {
  await server.close();
});

/** Polls `ready` every 20 ms; fails after `timeoutMs`. */
async function until(ready: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An open GET /api/file/events stream, read in the background and closed when the test ends;
 * resolves once it is subscribed.
 */
async function follow(on: TestServer = server) {
  const abort = new AbortController();
  onTestFinished(() => abort.abort());
  const res = await api(on, '/api/file/events', { signal: abort.signal });
  expect(res.status).toBe(200);
  const events: SseEvent[] = [];
  let retry: number | undefined;
  let ended = false;
  const parser = createParser({
    onEvent: (m) => events.push({ id: m.id, event: m.event, data: JSON.parse(m.data) as Record<string, unknown> }),
    onRetry: (ms) => (retry = ms),
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch {
      // aborted by close()
    }
    ended = true;
  })();
  // The server subscribes before it writes `retry`, so from here on no change is missed.
  await until(() => retry !== undefined, 'the retry line');
  return {
    res,
    events,
    retry: () => retry,
    ended: () => ended,
    changes: () => events.filter((e) => e.event === 'change').map((e) => e.data.mtimeMs as number | null),
    close: () => abort.abort(),
  };
}

describe('GET /api/file/events', () => {
  test('an external write produces one change event with the new mtime', async () => {
    const stream = await follow();
    expect(stream.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.res.headers.get('cache-control')).toBe('no-store');
    expect(stream.retry()).toBe(1000);
    writeFileSync(server.file, 'echo changed by another editor\n');
    await until(() => stream.changes().length > 0, 'a change event');
    await sleep(300); // a burst of writes is one check
    expect(stream.changes()).toEqual([statSync(server.file).mtimeMs]);
  });

  test('an atomic replace by rename (vim, git) is reported', async () => {
    const stream = await follow();
    const temp = join(server.dir, '.script.sh.swp');
    writeFileSync(temp, 'echo replaced by rename\n');
    renameSync(temp, server.file);
    await until(() => stream.changes().length > 0, 'a change event');
    expect(stream.changes().at(-1)).toBe(statSync(server.file).mtimeMs);
  });

  test('deletion reports mtimeMs null, re-creation a number', async () => {
    const stream = await follow();
    rmSync(server.file);
    await until(() => stream.changes().length === 1, 'the deletion');
    expect(stream.changes()).toEqual([null]);
    writeFileSync(server.file, 'echo back again\n');
    await until(() => stream.changes().length === 2, 'the re-creation');
    expect(stream.changes()[1]).toBe(statSync(server.file).mtimeMs);
  });

  test('a save through PUT /api/file is not reported; a later external write is', async () => {
    const stream = await follow();
    const { mtimeMs } = (await (await api(server, '/api/file')).json()) as { mtimeMs: number };
    const saved = await api(server, '/api/file', { method: 'PUT', json: { content: 'echo saved by the page\n', baseMtimeMs: mtimeMs } });
    expect(saved.status).toBe(200);
    const savedMtime = ((await saved.json()) as { mtimeMs: number }).mtimeMs;
    expect(savedMtime).toBe(statSync(server.file).mtimeMs);
    await sleep(600); // the window in which a wrong report of our own save would arrive
    expect(stream.events).toEqual([]);

    writeFileSync(server.file, 'echo then someone else\n');
    await until(() => stream.changes().length > 0, 'the external change');
    await sleep(300);
    expect(stream.changes()).toEqual([statSync(server.file).mtimeMs]);
  });

  test('a read by one client does not swallow a change for the others', async () => {
    const stream = await follow();
    writeFileSync(server.file, 'echo read right away\n');
    const read = (await (await api(server, '/api/file')).json()) as { mtimeMs: number };
    await until(() => stream.changes().length > 0, 'the change');
    expect(stream.changes()).toEqual([read.mtimeMs]);
  });

  test('the stream needs the token', async () => {
    const res = await api(server, '/api/file/events', { headers: { authorization: '' } });
    expect(res.status).toBe(401);
    const wrong = await api(server, '/api/file/events', { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
  });

  test('two subscribers both get the change; a client that disconnects is unsubscribed', async () => {
    const before = server.fileWatcher.subscriberCount;
    const one = await follow();
    const two = await follow();
    expect(server.fileWatcher.subscriberCount).toBe(before + 2);
    writeFileSync(server.file, 'echo for both\n');
    await until(() => one.changes().length > 0 && two.changes().length > 0, 'both change events');
    expect(one.changes()).toEqual(two.changes());

    two.close();
    await until(() => server.fileWatcher.subscriberCount === before + 1, 'the unsubscription');
    writeFileSync(server.file, 'echo for one only\n');
    await until(() => one.changes().length === 2, 'the second change');
    expect(two.changes()).toHaveLength(1);
    one.close();
    await until(() => server.fileWatcher.subscriberCount === before, 'every unsubscription');
  });

  test('on server stop the stream ends with a shutdown event', async () => {
    const other = await startTestServer();
    const stream = await follow(other);
    await other.close();
    await until(stream.ended, 'the end of the stream');
    expect(stream.events).toEqual([{ id: undefined, event: 'shutdown', data: {} }]);
  });
});

describe('FileWatcher', () => {
  test('falls back to polling when fs.watch fails, and still reports changes', async () => {
    const dir = tempDir('cmdrun-watch-');
    const path = join(dir, 'script.sh');
    writeFileSync(path, 'echo polled\n');
    const enospc = () => {
      throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' });
    };
    const file = new ScriptFile(path);
    await file.check(); // the state to compare with
    const watcher = new FileWatcher(file, { pollMs: 50, watch: enospc as never });
    const seen: FileState[] = [];
    watcher.subscribe((state) => seen.push(state));
    try {
      expect(watcher.isPolling).toBe(true);
      writeFileSync(path, 'echo polled and changed\n');
      await until(() => seen.length > 0, 'a change by polling');
      expect(seen).toEqual([{ mtimeMs: statSync(path).mtimeMs, size: statSync(path).size }]);
    } finally {
      await watcher.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

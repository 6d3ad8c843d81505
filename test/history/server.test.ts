// The history through real cmdrun processes: a server stopped with SIGTERM and one killed with
// SIGKILL mid-run, then a new server on the same script answers the earlier runs over the API.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createParser } from 'eventsource-parser';
import { describe, expect, test } from 'vitest';
import { serveCli, type Served } from '../helpers/cli.js';
import { outputOf, readEvents } from '../helpers/sse.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const dir = tempDir('cmdrun-history-server-');
const db = join(dir, 'state', 'history.db');
const script = join(dir, 'ops.sh');
writeFileSync(script, '# %% hello\necho hello-history\n\n# %% fail\necho bad; false\n');

const call = (s: Served, path: string, init: RequestInit = {}) =>
  fetch(s.origin + path, { ...init, headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json', ...init.headers } });
const post = (s: Served, body: Record<string, unknown>) => call(s, '/api/runs', { method: 'POST', body: JSON.stringify(body) });

interface Summary {
  runId: string;
  code: string;
  title?: string;
  finished: boolean;
  exitCode?: number;
  durationMs?: number;
  startedAt: number;
  thisSession: boolean;
  user: string;
  host: string;
  shell: string;
  cwd?: string;
  lineStart?: number;
}

describe('a new server on the same script answers the earlier runs', () => {
  test('after SIGTERM: summaries newest first, each run with its output, exit status, duration, title and lines', async () => {
    const first = await serveCli([script, '--history', db]);
    expect(outputOf(await readEvents(await post(first, { code: 'echo hello-history', runId: 'term-1', lineStart: 2, lineEnd: 2, title: 'hello' })))).toBe('hello-history\n');
    expect(outputOf(await readEvents(await post(first, { code: 'echo bad; false', runId: 'term-2', lineStart: 5, lineEnd: 5, title: 'fail' })))).toBe('bad\n');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await serveCli([script, '--history', db]);
    try {
      const list = (await (await call(second, '/api/history')).json()) as Summary[];
      expect(list.map((r) => r.runId)).toEqual(['term-2', 'term-1']);
      expect(list[0]).toMatchObject({ code: 'echo bad; false', title: 'fail', lineStart: 5, finished: true, exitCode: 1, thisSession: false, shell: 'bash', cwd: dir });
      expect(list[1]).toMatchObject({ exitCode: 0, finished: true });
      expect(list[0].user).toBeTruthy();
      expect(list[0].host).toBeTruthy();
      expect(list[0].durationMs).toBeGreaterThanOrEqual(0);
      const one = (await (await call(second, '/api/history/term-1')).json()) as Summary & { output: string };
      expect(one.output).toBe('hello-history\n');

      // Paging: limit and before.
      const page = (await (await call(second, '/api/history?limit=1')).json()) as Summary[];
      expect(page.map((r) => r.runId)).toEqual(['term-2']);
      const next = (await (await call(second, `/api/history?limit=1&before=${page[0].startedAt}`)).json()) as Summary[];
      expect(next.map((r) => r.runId)).toEqual(['term-1']);

      // A run of this session is marked as such.
      await readEvents(await post(second, { code: 'echo now', runId: 'now-1' }));
      const now = (await (await call(second, '/api/history?limit=1')).json()) as Summary[];
      expect(now[0]).toMatchObject({ runId: 'now-1', thisSession: true });
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  test('after SIGKILL mid-run: the run reads back unfinished, with all but at most the last second of its output', async () => {
    const first = await serveCli([script, '--history', db]);
    const res = await post(first, { code: 'for i in $(seq 1 400); do echo "tick $i"; sleep 0.02; done', runId: 'killed-1' });
    // Read the stream until tick 60 (1.2 s in), then kill -9 the server.
    let seen = '';
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const parser = createParser({ onEvent: (m) => m.event === 'output' && (seen += (JSON.parse(m.data) as { text: string }).text) });
    while (!seen.includes('tick 60\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(value);
    }
    first.child.kill('SIGKILL');
    await first.exited;
    const lastSeen = Math.max(...[...seen.matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));

    const second = await serveCli([script, '--history', db]);
    try {
      const run = (await (await call(second, '/api/history/killed-1')).json()) as Summary & { output: string };
      expect(run.finished).toBe(false);
      expect(run.exitCode).toBeUndefined();
      const kept = [...run.output.matchAll(/tick (\d+)\n/g)].map((m) => Number(m[1]));
      // A tick every 20 ms: one second is 50 ticks.
      expect(kept.length).toBeGreaterThanOrEqual(lastSeen - 50);
      expect(kept).toEqual(kept.map((_, i) => i + 1)); // in order, nothing lost in between
      // The database is intact: the other runs are still there, and new runs are recorded.
      const list = (await (await call(second, '/api/history?limit=100')).json()) as Summary[];
      expect(list.map((r) => r.runId)).toEqual(expect.arrayContaining(['killed-1', 'term-1', 'term-2']));
      await readEvents(await post(second, { code: 'echo after', runId: 'after-kill' }));
      expect(((await (await call(second, '/api/history/after-kill')).json()) as { output: string }).output).toBe('after\n');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  test('a run killed with SIGKILL while running reads back unfinished', async () => {
    const first = await serveCli([script, '--history', db]);
    const res = await post(first, { code: 'echo early; sleep 30', runId: 'killed-early' });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('event: start')) text += (await reader.read()).value ?? '';
    // Another cmdrun on the same database sees the running run once it is written (100 ms after its start).
    const second = await serveCli([script, '--history', db]);
    try {
      await waitFor(async () => (await call(second, '/api/history/killed-early')).status === 200, 'the running run on disk');
      first.child.kill('SIGKILL');
      await first.exited;
      const run = (await (await call(second, '/api/history/killed-early')).json()) as Summary & { output: string };
      expect(run.finished).toBe(false);
      expect(run.exitCode).toBeUndefined();
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  test('a finished block is written to disk by itself, with no request to its cmdrun after it ends', async () => {
    const first = await serveCli([script, '--history', db]);
    await readEvents(await post(first, { code: 'echo quick', runId: 'quick-1' }));
    // Another process reads the database until the run's end is there (within 500 ms on a quiet machine).
    const second = await serveCli([script, '--history', db]);
    try {
      await waitFor(async () => {
        const res = await call(second, '/api/history/quick-1');
        return res.status === 200 && ((await res.json()) as Summary).finished;
      }, 'the finished run on disk');
      first.child.kill('SIGKILL');
      await first.exited;
      const run = (await (await call(second, '/api/history/quick-1')).json()) as Summary & { output: string };
      expect(run).toMatchObject({ finished: true, exitCode: 0, output: 'quick\n' });
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  test('the routes need the token, validate their query, and answer 404 for runs of other scripts or none', async () => {
    const other = join(dir, 'other.sh');
    writeFileSync(other, 'echo other\n');
    const s = await serveCli([other, '--history', db]);
    try {
      expect((await fetch(`${s.origin}/api/history`)).status).toBe(401);
      expect((await fetch(`${s.origin}/api/history/term-1`)).status).toBe(401);
      const bad = await call(s, '/api/history?limit=0');
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/limit/);
      expect((await call(s, '/api/history?limit=abc')).status).toBe(400);
      // ops.sh's runs are not this script's.
      expect(await (await call(s, '/api/history')).json()).toEqual([]);
      expect((await call(s, '/api/history/term-1')).status).toBe(404);
      expect((await call(s, '/api/history/no-such-run')).status).toBe(404);
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  });

  test('--no-history writes nothing to disk, and the history routes answer an empty list', async () => {
    const state = tempDir('cmdrun-nohistory-');
    const s = await serveCli([script, '--no-history'], { XDG_STATE_HOME: state });
    try {
      await readEvents(await post(s, { code: 'echo nothing-kept' }));
      expect(await (await call(s, '/api/history')).json()).toEqual([]);
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
    expect(existsSync(join(state, 'cmdrun'))).toBe(false);
  });
});

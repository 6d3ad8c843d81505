// Runbook inputs through a real server and real bash, zsh and dash sessions: a run that asks sends
// `params` and waits for POST /params, the `auto` check in the session's own shell, values typed
// once answer later blocks, confirm=, interrupts, GET /api/env, and secrets masked in the stream.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { api, WEB_ROOT } from '../helpers/server.js';
import { outputOf, type SseEvent } from '../helpers/sse.js';
import { tempDir } from '../helpers/tmp.js';

/** Posts a run (202) and follows its events; `until(name)` resolves at the first event of that name. */
async function start(server: RunningServer, body: Record<string, unknown>) {
  const posted = await api(server, '/api/runs', { method: 'POST', json: body, headers: { accept: 'application/json' } });
  expect(posted.status).toBe(202);
  const { runId } = (await posted.json()) as { runId: string };
  const res = await api(server, `/api/runs/${runId}/events`);
  const events: SseEvent[] = [];
  let wake = () => {};
  const parser = createParser({ onEvent: (m) => (events.push({ id: m.id, event: m.event, data: JSON.parse(m.data) }), wake()) });
  const done = (async () => {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      parser.feed(value);
    }
    wake();
  })();
  const until = async (name: string) => {
    for (;;) {
      const found = events.find((e) => e.event === name);
      if (found) return found;
      const next = new Promise<void>((r) => (wake = r));
      if (events.some((e) => e.event === 'end' || e.event === 'error')) throw new Error(`no ${name} event: ${JSON.stringify(events)}`);
      await next;
    }
  };
  return { runId, events, until, finished: async () => (await done, events) };
}

const answer = (server: RunningServer, runId: string, kind: 'params' | 'confirm', json: unknown) =>
  api(server, `/api/runs/${runId}/${kind}`, { method: 'POST', json });

const TOKEN = 'tok-3xample-SECRET';

describe.each(['bash', 'zsh', 'dash'])('%s', (shell) => {
  let server: RunningServer;
  beforeAll(async () => {
    const dir = tempDir('cmdrun-params-');
    const file = join(dir, 'runbook.sh');
    writeFileSync(file, 'echo\n');
    server = await startServer({ file, port: 0, cwd: dir, webRoot: WEB_ROOT, version: 'test', shell, env: [{ name: 'API_TOKEN', value: TOKEN, source: '--env' }] });
  });
  afterAll(() => server.close());

  test('a block asks before anything of it runs; the values are exported where the lines were', async () => {
    const code = 'echo before-$CLUSTER\nexport CLUSTER=Enter the cluster name\nexport REGION="eu-west-1"\necho "c=$CLUSTER r=$REGION t=$API_TOKEN line=$LINENO"\nsh -c \'echo child=$CLUSTER\'';
    const run = await start(server, { code, promptEnv: 'auto', lineStart: 10 });
    const asked = await run.until('params');
    expect(asked.data.params).toEqual([
      { name: 'CLUSTER', message: 'Enter the cluster name', secret: false },
      { name: 'REGION', default: 'eu-west-1', secret: false },
    ]);
    expect(run.events.map((e) => e.event)).not.toContain('start');
    expect((await answer(server, run.runId, 'params', { values: { CLUSTER: 'prod' } })).status).toBe(400);
    expect((await answer(server, run.runId, 'params', { values: { CLUSTER: 'prod', REGION: 'x', OTHER: 'y' } })).status).toBe(400);
    expect((await answer(server, run.runId, 'params', { values: { CLUSTER: "it's prod", REGION: 'eu-west-1' } })).status).toBe(200);
    const events = await run.finished();
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { exitCode: 0 } });
    expect(outputOf(events)).toBe(`before-\nc=it's prod r=eu-west-1 t=*** line=${shell === 'dash' ? '' : 13}\nchild=it's prod\n`);
  });

  test('auto: a value typed once, or set in the session, answers the next block; always asks with it filled in', async () => {
    const again = await start(server, { code: 'export CLUSTER=Enter the cluster name\necho "again=$CLUSTER"', promptEnv: 'auto' });
    expect(outputOf(await again.finished())).toBe("again=it's prod\n");
    expect(again.events.map((e) => e.event)).not.toContain('params');
    const set = await start(server, { code: 'ZONE=b', promptEnv: 'auto' });
    await set.finished();
    const zone = await start(server, { code: 'export ZONE=Which zone\necho "zone=$ZONE"', promptEnv: 'auto' });
    expect(outputOf(await zone.finished())).toBe('zone=b\n');
    const always = await start(server, { code: 'export ZONE=Which zone\necho "zone=$ZONE"', promptEnv: 'always' });
    expect((await always.until('params')).data.params).toEqual([{ name: 'ZONE', message: 'Which zone', default: 'b', secret: false }]);
    await answer(server, always.runId, 'params', { values: { ZONE: 'c' } });
    expect(outputOf(await always.finished())).toBe('zone=c\n');
  });

  test('never runs the line as written (a message becomes the value); no promptEnv runs the code as before', async () => {
    const never = await start(server, { code: 'export TITLE=Enter a title\necho "title=$TITLE"', promptEnv: 'never' });
    expect(outputOf(await never.finished())).toBe('title=Enter a title\n');
    const plain = await start(server, { code: 'export PLAIN="p"\necho "plain=$PLAIN"' });
    expect(outputOf(await plain.finished())).toBe('plain=p\n');
    expect(plain.events.map((e) => e.event)).toEqual(['start', 'output', 'end']);
  });

  test('a secret: no default sent, masked in output even a byte at a time, *** in GET /api/env; Ask again', async () => {
    const run = await start(server, { code: 'export DB_PASSWORD="from-the-file"\ns=$DB_PASSWORD; i=1; while [ $i -le ${#s} ]; do printf %s "$(printf %s "$s" | cut -c$i)"; sleep 0.02; i=$((i+1)); done; echo', promptEnv: 'auto' });
    expect((await run.until('params')).data.params).toEqual([{ name: 'DB_PASSWORD', secret: true }]);
    await answer(server, run.runId, 'params', { values: { DB_PASSWORD: 'hunter2-pw' } });
    const events = await run.finished();
    expect(outputOf(events)).toBe('***\n');
    expect(JSON.stringify(events)).not.toContain('hunter2');
    const env = (await (await api(server, '/api/env')).json()) as { variables: Array<Record<string, unknown>> };
    expect(env.variables).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: 'API_TOKEN', value: '***', source: '--env', secret: true }),
      expect.objectContaining({ name: 'CLUSTER', value: "it's prod", source: 'typed', secret: false }),
      expect.objectContaining({ name: 'DB_PASSWORD', value: '***', source: 'typed', secret: true }),
    ]));
    expect(JSON.stringify(env)).not.toContain('hunter2');
    expect((await api(server, '/api/env/CLUSTER/ask-again', { method: 'POST', json: {} })).status).toBe(200);
    const asks = await start(server, { code: 'export CLUSTER=Enter the cluster name\necho "c=$CLUSTER"', promptEnv: 'auto' });
    expect((await asks.until('params')).data.params).toEqual([{ name: 'CLUSTER', message: 'Enter the cluster name', default: "it's prod", secret: false }]);
    await answer(server, asks.runId, 'params', { values: { CLUSTER: 'stage' } });
    expect(outputOf(await asks.finished())).toBe('c=stage\n');
  });

  test('confirm: a no cancels the run and its batch; a yes runs it; an interrupt cancels a waiting question', async () => {
    const no = await start(server, { code: 'echo restarted', confirm: 'Restart production?', title: 'Restart', batch: `b-${shell}` });
    const after = await start(server, { code: 'echo after', batch: `b-${shell}` });
    expect((await no.until('confirm')).data).toEqual({ runId: no.runId, question: 'Restart production?', title: 'Restart' });
    expect((await answer(server, no.runId, 'params', { values: {} })).status).toBe(409);
    await answer(server, no.runId, 'confirm', { yes: false });
    expect((await no.finished()).at(-1)).toMatchObject({ event: 'end', data: { cancelled: true, exitCode: 130 } });
    expect((await after.finished()).at(-1)).toMatchObject({ event: 'end', data: { cancelled: true } });
    const yes = await start(server, { code: 'echo restarted', confirm: 'Restart production?' });
    await yes.until('confirm');
    await answer(server, yes.runId, 'confirm', { yes: true });
    expect(outputOf(await yes.finished())).toBe('restarted\n');
    const asked = await start(server, { code: 'export NAME\necho "never-$NAME"', promptEnv: 'always' });
    await asked.until('params');
    await api(server, `/api/runs/${asked.runId}/interrupt`, { method: 'POST', json: {} });
    const events = await asked.finished();
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { cancelled: true } });
    expect(outputOf(events)).toBe('');
  });

  test('a typed secret is on no command line (ps) and in no file of the session while its block runs; background output is masked', async () => {
    const secret = `typed-${shell}-s3cret`;
    const run = await start(server, { code: 'export SERVICE_TOKEN\necho ready; sleep 30', promptEnv: 'always' });
    await run.until('params');
    await answer(server, run.runId, 'params', { values: { SERVICE_TOKEN: secret } });
    while (!outputOf(run.events).includes('ready')) await run.until('output').then(() => new Promise<void>((r) => setImmediate(r)));
    const cmdlines = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'latin1');
      } catch {
        return '';
      }
    });
    expect(cmdlines.filter((c) => c.includes(secret))).toEqual([]);
    const files: string[] = [];
    const walk = (d: string) => {
      let names: string[] = [];
      try {
        names = readdirSync(d);
      } catch {
        // not a folder, or gone meanwhile
      }
      for (const name of names) {
        const path = join(d, name);
        try {
          const st = statSync(path);
          if (st.isDirectory()) walk(path);
          else if (st.isFile()) files.push(path);
        } catch {
          // gone meanwhile
        }
      }
    };
    // Sessions' folders (mkdtemp cmdrun-XXXXXX, holding the block file in run/), this server's among them.
    for (const name of readdirSync(tmpdir()).filter((n) => /^cmdrun-[\w]{6}$/.test(n))) walk(join(tmpdir(), name, 'run'));
    expect(files.some((f) => readFileSync(f, 'utf8').includes('echo ready; sleep 30'))).toBe(true); // the running block's file
    expect(files.filter((f) => readFileSync(f).includes(secret))).toEqual([]);
    await api(server, `/api/runs/${run.runId}/interrupt`, { method: 'POST', json: {} });
    await run.finished();
    // A background job prints the secret while no block runs: GET /api/session/output masks it.
    await (await start(server, { code: '(sleep 0.2; echo "bg=$SERVICE_TOKEN.") &' })).finished();
    const abort = new AbortController();
    const res = await api(server, '/api/session/output', { signal: abort.signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('bg=')) text += (await reader.read()).value ?? '';
    while (!/bg=.*\./.test(text)) text += (await reader.read()).value ?? '';
    abort.abort();
    expect(text).toContain('bg=***.');
    expect(text).not.toContain(secret);
  });
});

import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, test } from 'vitest';
import { readStat, sessionMembers } from '../../src/session/processes.js';
import { runCli, serveCli } from '../helpers/cli.js';
import { raw } from '../helpers/server.js';
import { outputOf, readEvents } from '../helpers/sse.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const dir = tempDir('cmdrun-cli-');
const script = join(dir, 'script.sh');
writeFileSync(script, 'echo hi\n');

describe('cmdrun FILE', () => {
  test('prints the URL with the token once listening, serves the API, and SIGTERM leaves nothing running', async () => {
    const served = await serveCli([script]);
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{43}$/);
    const auth = { authorization: `Bearer ${served.token}` };
    const health = await fetch(`${served.origin}/api/health`);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const file = (await (await fetch(`${served.origin}/api/file`, { headers: auth })).json()) as { path: string; content: string };
    expect(file).toMatchObject({ path: script, content: 'echo hi\n' });

    // A block that leaves a background job behind, and one still running at shutdown.
    const post = (code: string) =>
      fetch(`${served.origin}/api/runs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
    expect(outputOf(await readEvents(await post('sleep 300 & pwd')))).toBe(`${dir}\n`);
    const session = (await (await fetch(`${served.origin}/api/session`, { headers: auth })).json()) as { pid: number };
    const sid = readStat(session.pid)!.session;
    // Still running when SIGTERM ends the server: its request fails then, as it should.
    post('sleep 200').catch(() => {});
    await waitFor(() => sessionMembers(sid).length >= 3, 'the second sleep to start');

    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    expect(sessionMembers(sid)).toEqual([]);
  });

  test('--token and --cwd are honoured', async () => {
    const served = await serveCli([script, '--token', 'my-fixed-token', '--cwd', '/']);
    try {
      expect(served.token).toBe('my-fixed-token');
      const res = await fetch(`${served.origin}/api/session`, { headers: { authorization: 'Bearer my-fixed-token' } });
      expect(await res.json()).toMatchObject({ cwd: '/', shell: 'bash' });
    } finally {
      served.child.kill('SIGINT');
      expect(await served.exited).toBe(0);
    }
  });

  test('a file that does not exist yet opens empty', async () => {
    const served = await serveCli([join(dir, 'new.sh')]);
    try {
      const res = await fetch(`${served.origin}/api/file`, { headers: { authorization: `Bearer ${served.token}` } });
      expect(await res.json()).toMatchObject({ content: '', mtimeMs: null });
    } finally {
      served.child.kill('SIGTERM');
      await served.exited;
    }
  });
});

describe('usage errors: one clear line, exit status 2', () => {
  test.each([
    [[dir, '--no-browser'], /is a directory/],
    [[join(dir, 'missing-folder', 'x.sh'), '--no-browser'], /folder does not exist/],
    [[script, '--port', 'abc', '--no-browser'], /port/],
    [[script, '--bogus'], /unknown option/],
    [[script, '--shell', 'fish', '--no-browser'], /unsupported shell "fish"/],
    [[script, '--cwd', join(dir, 'nope'), '--no-browser'], /--cwd .* is not a directory/],
  ])('cmdrun %j', async (args, message) => {
    const { code, stderr } = await runCli(args as string[]);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  test('a port in use (with --port) is one clear line and exit 2', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const { code, stderr } = await runCli([script, '--no-browser', '--port', String(port)]);
      expect(code).toBe(2);
      expect(stderr).toBe(`cmdrun: port ${port} is already in use on 127.0.0.1\n`);
    } finally {
      blocker.close();
    }
  });

  test('--version prints the package version', async () => {
    const { code, stdout } = await runCli(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('binding', () => {
  test('--host 0.0.0.0 warns loudly, still needs the token and still checks Host', async () => {
    const served = await serveCli([script, '--host', '0.0.0.0']);
    try {
      expect(served.stderr()).toMatch(/WARNING: listening on 0\.0\.0\.0: anyone who can reach this port and has the token can run commands/);
      expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=/);
      const port = Number(new URL(served.url).port);
      const auth = { authorization: `Bearer ${served.token}` };
      expect((await raw(port, '/api/session', { host: `127.0.0.1:${port}` })).status).toBe(401);
      expect((await raw(port, '/api/session', { host: `127.0.0.1:${port}`, ...auth })).status).toBe(200);
      expect((await raw(port, '/api/session', { host: `0.0.0.0:${port}`, ...auth })).status).toBe(200);
      expect((await raw(port, '/api/session', { host: `${hostname()}:${port}`, ...auth })).status).toBe(200);
      expect((await raw(port, '/api/session', { host: `attacker.example:${port}`, ...auth })).status).toBe(403);
    } finally {
      served.child.kill('SIGTERM');
      await served.exited;
    }
  });

  test('the default bind is 127.0.0.1 only, with no warning', async () => {
    const served = await serveCli([script]);
    try {
      expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
      expect(served.stderr()).toBe('');
    } finally {
      served.child.kill('SIGTERM');
      await served.exited;
    }
  });
});

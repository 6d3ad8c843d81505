// Blocks on other machines through the HTTP API and the CLI, against a real sshd on 127.0.0.1
// (test/helpers/sshd.ts): `on` in POST /api/runs, GET /api/sessions, restart of one session or all,
// `cmdrun run --on`, per-block `on="..."`, and the refused targets.
import { existsSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { runCli } from '../helpers/cli.js';
import { api, WEB_ROOT } from '../helpers/server.js';
import { outputOf, readEvents } from '../helpers/sse.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { tempDir } from '../helpers/tmp.js';

let sshd: Sshd;
let server: RunningServer;
let dir: string;
beforeAll(async () => {
  sshd = await startSshd();
  dir = tempDir('cmdrun-targets-');
  writeFileSync(join(dir, 'script.sh'), 'echo hi\n');
  server = await startServer({ file: join(dir, 'script.sh'), port: 0, cwd: dir, webRoot: WEB_ROOT, version: 'test', sshCommand: sshd.sshCommand });
});
afterAll(async () => {
  await server?.close();
  await sshd?.stop();
});

type SessionJson = { on: string; default: boolean; shell: string; pid: number | null; cwd: string; status: string };
const sessions = async () => ((await (await api(server, '/api/sessions')).json()) as { sessions: SessionJson[] }).sessions;
const post = async (json: Record<string, unknown>) => readEvents(await api(server, '/api/runs', { method: 'POST', json }));

describe('the API', () => {
  test('a run with `on` runs in that target\'s own session; the start event and GET /api/sessions name it', async () => {
    const on = `ssh://${sshd.host}`;
    const events = await post({ code: 'echo "remote $SSH_CONNECTION" | cut -d" " -f1,2; x=remote', on });
    expect(outputOf(events)).toBe('remote 127.0.0.1\n');
    expect(events.find((e) => e.event === 'start')?.data).toMatchObject({ on });
    expect(outputOf(await post({ code: 'echo "local ${x-unset} ${SSH_CONNECTION-none}"' }))).toBe('local unset none\n');
    expect(outputOf(await post({ code: 'echo "$x"', on }))).toBe('remote\n');
    const list = await sessions();
    expect(list.map((s) => [s.on, s.default, s.status])).toEqual([
      ['local', true, 'idle'],
      [on, false, 'idle'],
    ]);
    expect(list[1].cwd).toBe(process.env.HOME ?? '/root');
    // `local` is the default session here: the same shell.
    expect(outputOf(await post({ code: 'echo "$$"', on: 'local' }))).toBe(`${list[0].pid}\n`);
  });

  test('restart takes `on` (that session) or `all`', async () => {
    const on = `ssh://${sshd.host}`;
    await post({ code: 'kept=1', on });
    await post({ code: 'kept=1' });
    const restarted = (await (await api(server, '/api/session/restart', { method: 'POST', json: { on } })).json()) as SessionJson;
    expect(restarted).toMatchObject({ on, default: false });
    expect(outputOf(await post({ code: 'echo "${kept-unset}"', on }))).toBe('unset\n');
    expect(outputOf(await post({ code: 'echo "${kept-unset}"' }))).toBe('1\n');
    const all = (await (await api(server, '/api/session/restart', { method: 'POST', json: { all: true } })).json()) as { sessions: SessionJson[] };
    expect(all.sessions.map((s) => s.on)).toEqual(['local', on]);
    expect(outputOf(await post({ code: 'echo "${kept-unset}"' }))).toBe('unset\n');
  });

  test('after `exit 3` on a remote target its session has no shell (pid null) until its next block connects again', async () => {
    const on = `ssh://${sshd.host}`;
    await post({ code: 'true', on });
    const before = (await sessions()).find((s) => s.on === on)!;
    expect(before).toMatchObject({ status: 'idle' });
    expect(before.pid).toEqual(expect.any(Number));
    const ended = await post({ code: 'exit 3', on });
    expect(ended.find((e) => e.event === 'end')?.data).toMatchObject({ exitCode: 3, sessionRestarted: true });
    // The page shows such a session as "not started (connects with its next block)", not as a shell starting.
    expect((await sessions()).find((s) => s.on === on)).toMatchObject({ status: 'starting', pid: null });
    expect(outputOf(await post({ code: 'echo again', on }))).toBe('again\n');
    const after = (await sessions()).find((s) => s.on === on)!;
    expect(after).toMatchObject({ status: 'idle' });
    expect(after.pid).toEqual(expect.any(Number));
    expect(after.pid).not.toBe(before.pid);
  });

  test('a malformed target is a 400 with the reason, and nothing runs', async () => {
    for (const on of ['ssh://-oProxyCommand=touch%20/tmp/x', 'ssh://-oProxyCommand=x', 'http://host', 'ssh://a b']) {
      const response = await api(server, '/api/runs', { method: 'POST', json: { code: 'touch /tmp/cmdrun-never', on } });
      expect(response.status, on).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(/^invalid request body: on: invalid target/);
    }
    expect(existsSync('/tmp/x')).toBe(false);
    expect(existsSync('/tmp/cmdrun-never')).toBe(false);
    const restart = await api(server, '/api/session/restart', { method: 'POST', json: { on: 'ssh://-x' } });
    expect(restart.status).toBe(400);
  });

  test('an unreachable target ends its run with ssh\'s status and message', async () => {
    const events = await post({ code: 'echo never', on: `ssh://${sshd.hostWrongPort}` });
    expect(events.find((e) => e.event === 'end')?.data).toMatchObject({ exitCode: 255 });
    expect(outputOf(events)).toMatch(/Connection refused[\s\S]*cmdrun: could not start bash on ssh:\/\/cmdrun-test-wrong-port: ssh exited with status 255/);
  });
});

describe('the CLI', () => {
  const env = () => ({ CMDRUN_SSH_COMMAND: sshd.sshCommand });
  const script = (text: string) => {
    const file = join(dir, `s${Math.random().toString(36).slice(2)}.sh`);
    writeFileSync(file, text);
    return file;
  };

  test('cmdrun run --on runs every block there, in the remote home; a block\'s on="local" runs here', async () => {
    const file = script('# %% one\necho "in $PWD $0"; x=1\n# %% two on="local"\necho "here ${x-unset}"\n# %% three\necho "there $x"; nosuch\n');
    const r = await runCli(['run', file, '--on', `ssh://${sshd.host}`, '--quiet'], env());
    // An absolute script name: $0 and messages name its base name (relativeName, session-types.ts).
    const name = basename(file);
    expect(r.stdout).toBe(`in ${process.env.HOME ?? '/root'} ${name}\nhere unset\nthere 1\n${name}: line 6: nosuch: command not found\n`);
    expect(r.code).toBe(127);
  });

  test('an unreachable host or an unknown host key: ssh\'s message, status 255; a malformed --on is a usage error', async () => {
    const file = script('echo never\n');
    const refused = await runCli(['run', file, '--on', `ssh://${sshd.hostWrongPort}`], env());
    expect(refused.code).toBe(255);
    expect(refused.stdout).toMatch(/Connection refused/);
    const unknown = await runCli(['run', file, '--on', `ssh://${sshd.hostUnknown}`], env());
    expect(unknown.code).toBe(255);
    expect(unknown.stdout).toMatch(/Host key verification failed/);
    const bad = await runCli(['run', file, '--on', 'ssh://-oProxyCommand=touch%20/tmp/x'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--on <target>.*is invalid/);
    const badBlock = await runCli(['run', script('# %% a on="ssh://-oProxyCommand=x"\ntouch /tmp/cmdrun-never\n')], env());
    expect(badBlock.code).toBe(2);
    expect(badBlock.stderr).toMatch(/:1: invalid target "ssh:\/\/-oProxyCommand=x"/);
    expect(existsSync('/tmp/x')).toBe(false);
    expect(existsSync('/tmp/cmdrun-never')).toBe(false);
  });
});

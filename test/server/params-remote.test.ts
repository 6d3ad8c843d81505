// Runbook inputs on another machine (a real sshd on 127.0.0.1): --env values reach the remote
// shell (ssh passes no environment) and again after a restart, and the `auto` check asks the
// remote shell itself.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { api, WEB_ROOT } from '../helpers/server.js';
import { outputOf, readEvents } from '../helpers/sse.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { tempDir } from '../helpers/tmp.js';

let sshd: Sshd;
let server: RunningServer;
beforeAll(async () => {
  sshd = await startSshd();
  const dir = tempDir('cmdrun-params-remote-');
  writeFileSync(join(dir, 'script.sh'), 'echo\n');
  server = await startServer({
    file: join(dir, 'script.sh'), port: 0, cwd: dir, webRoot: WEB_ROOT, version: 'test', sshCommand: sshd.sshCommand,
    on: { kind: 'ssh', host: sshd.host },
    env: [{ name: 'CLUSTER', value: 'prod east', source: '--env' }, { name: 'DEPLOY_TOKEN', value: 'remote-s3cret', source: 'env file' }],
  });
});
afterAll(async () => {
  await server?.close();
  await sshd?.stop();
});

const post = async (json: Record<string, unknown>) => readEvents(await api(server, '/api/runs', { method: 'POST', json }));

test('given values are exported in the remote shell before its first block, and after a restart', async () => {
  expect(outputOf(await post({ code: 'sh -c \'echo "$CLUSTER|$DEPLOY_TOKEN"\'' }))).toBe('prod east|***\n');
  expect(outputOf(await post({ code: 'export CLUSTER=Enter the cluster\necho "auto=$CLUSTER"', promptEnv: 'auto' }))).toBe('auto=prod east\n');
  expect((await api(server, '/api/session/restart', { method: 'POST', json: {} })).status).toBe(200);
  expect(outputOf(await post({ code: 'echo "$CLUSTER"' }))).toBe('prod east\n');
});

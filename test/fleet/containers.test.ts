// A fleet of container targets (issue 20, item 5): `podman://A,docker://B` is a fleet like any
// other, each host in its own persistent container session, through real containers
// (test/helpers/containers.ts): podman, and the docker CLI against podman's Docker API.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { canRunContainers, CONTAINER_TEST_MS, podman, useContainerLab } from '../helpers/containers.js';
import { tempDir } from '../helpers/tmp.js';

const lab = useContainerLab();

describe.skipIf(!canRunContainers())('a fleet of containers', { timeout: CONTAINER_TEST_MS }, () => {
  test('podman://A,docker://B runs each block in both, state kept per container; the exit status is the failing one\'s; nothing is left in either', async () => {
    const [a, b] = [await lab().run(), await lab().run()];
    // Each container knows its own role: the block's output tells which session ran it.
    await podman('exec', a, 'sh', '-c', 'echo alpha > /etc/role');
    await podman('exec', b, 'sh', '-c', 'echo beta > /etc/role');
    const env = await lab().dockerEnv();
    const dir = tempDir('cmdrun-fleet-containers-');
    const script = join(dir, 'both.sh');
    const on = `podman://${a},docker://${b}`;
    writeFileSync(script, [`# %% first on="${on}"`, 'role=$(cat /etc/role); cd /tmp; echo "role $role"', `# %% second on="${on}"`, 'echo "$role in $PWD"; [ "$role" = beta ] && exit 4; true', ''].join('\n'));

    const { code, stdout, stderr } = await runCli(['run', '--no-history', '--no-color', script], env);
    expect(stderr).toBe(`── [1/2] first (both.sh:2) on ${on}: 2 hosts\n── [2/2] second (both.sh:4) on ${on}: 2 hosts\n`);
    expect(code).toBe(4);
    const width = Math.max(`podman://${a}`.length, `docker://${b}`.length);
    const prefix = (target: string) => `${target.padEnd(width)} | `;
    const lines = stdout.split('\n');
    expect(lines).toEqual(expect.arrayContaining([`${prefix(`podman://${a}`)}role alpha`, `${prefix(`docker://${b}`)}role beta`]));
    expect(lines).toEqual(expect.arrayContaining([`${prefix(`podman://${a}`)}alpha in /tmp`, `${prefix(`docker://${b}`)}beta in /tmp`]));
    // The second block's summary: the docker host failed with 4 and its last line.
    expect(stdout).toMatch(new RegExp(`docker://${b} +4 +[\\d.]+ m?s +beta in /tmp\\n2 hosts: 1 ok, 1 failed\\n`));

    // The sessions ended with the run: no process of cmdrun's and no folder is left in either container.
    for (const c of [a, b]) {
      await lab().untilNothingLeft(c);
    }
  }, 180_000);
});

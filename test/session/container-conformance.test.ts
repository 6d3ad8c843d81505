// The session conformance suite (test/helpers/conformance.ts) in real containers (issue 20): through
// `podman://` (Debian's podman) and `docker://` (the docker CLI against podman's Docker API), for
// bash and for `--shell sh` (the image's busybox ash, driven as dash is). The image has busybox
// and bash only: cases that need python3 are left out.
import { afterAll, beforeAll, describe } from 'vitest';
import { ShellSession } from '../../src/session/session.js';
import type { ContainerEngine } from '../../src/session/target.js';
import { conformanceCases, T } from '../helpers/conformance.js';
import { canRunContainers, CONTAINER_TEST_MS, startContainerLab, type ContainerLab } from '../helpers/containers.js';

let lab: ContainerLab | undefined;
afterAll(async () => {
  await lab?.stop();
}, 120_000);

const VARIANTS: Array<[ContainerEngine, 'bash' | 'sh']> = [
  ['podman', 'bash'],
  ['podman', 'sh'],
  ['docker', 'bash'],
  ['docker', 'sh'],
];

for (const [engine, shell] of VARIANTS) {
  describe.skipIf(!canRunContainers())(`${shell} session in a container through ${engine}`, { timeout: CONTAINER_TEST_MS }, () => {
    let session: ShellSession;
    beforeAll(async () => {
      lab ??= await startContainerLab();
      const container = await lab.run();
      const env = engine === 'docker' ? await lab.dockerEnv() : process.env;
      session = await ShellSession.start({ shell, cwd: '/tmp', env, scriptName: 'conformance.sh', remote: { target: { kind: 'container', engine, container } } });
      // The cases' folder, as on this machine (the suite over ssh shares this machine's /tmp).
      const made = await session.run(`mkdir -p ${T}`, { onOutput: () => {} });
      if (made.exitCode !== 0) throw new Error(`mkdir -p ${T} in ${container}: status ${made.exitCode}`);
    }, 120_000);
    afterAll(async () => {
      await session?.close();
    });

    conformanceCases(shell === 'sh' ? 'dash' : 'bash', () => session, { remote: true, has: () => false, busybox: shell === 'sh' });
  });
}

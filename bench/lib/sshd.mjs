// The tests' fixtures (test/helpers/sshd.ts: a real sshd on 127.0.0.1 with throwaway keys;
// test/helpers/containers.ts: a podman image and containers made on the spot), the one source of
// each, compiled with esbuild into the bench's temp folder and imported from there.
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

/** Resolves with test/helpers/NAME.ts's exports, built into `dir`. */
async function loadFixture(dir, name) {
  const source = fileURLToPath(new URL(`../../test/helpers/${name}.ts`, import.meta.url));
  const outfile = join(dir, `${name}-fixture.mjs`);
  // Bundled (get-port included): a module in the temp folder cannot resolve the repository's node_modules.
  await esbuild.build({ entryPoints: [source], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
  return import(pathToFileURL(outfile).href);
}

/** Resolves with test/helpers/sshd.ts's exports ({startSshd, SSHD}), built into `dir`. */
export const loadSshdFixture = (dir) => loadFixture(dir, 'sshd');

/** Resolves with test/helpers/containers.ts's exports ({startContainerLab, canRunContainers, ...}), built into `dir`. */
export const loadContainerFixture = (dir) => loadFixture(dir, 'containers');

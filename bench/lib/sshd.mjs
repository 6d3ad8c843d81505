// The tests' sshd fixture (test/helpers/sshd.ts, the one source of it), compiled with esbuild into
// the bench's temp folder and imported from there: a real sshd on 127.0.0.1 with throwaway keys.
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const SOURCE = fileURLToPath(new URL('../../test/helpers/sshd.ts', import.meta.url));

/** Resolves with test/helpers/sshd.ts's exports ({startSshd, SSHD}), built into `dir`. */
export async function loadSshdFixture(dir) {
  const outfile = join(dir, 'sshd-fixture.mjs');
  // Bundled (get-port included): a module in the temp folder cannot resolve the repository's node_modules.
  await esbuild.build({ entryPoints: [SOURCE], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
  return import(pathToFileURL(outfile).href);
}

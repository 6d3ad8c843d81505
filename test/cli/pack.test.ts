// The package as users get it: `npm pack`, installed into an empty folder, run through npx, with
// the Node and npm on PATH: the machine's (Node 20, npm 11), and in .ci/run Node 26 with npm 12.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, test } from 'vitest';
import { tempDir } from '../helpers/tmp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const work = tempDir('cmdrun-pack-');
const app = join(work, 'app');
let tarball: string;

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
const npmMajor = Number(npm(['--version'], root).split('.')[0]);
/** This Node has SQLite built in (22.13+): the history needs nothing built at install. */
const nodeSqlite = Boolean(process.getBuiltinModule?.('node:sqlite'));
/** npm 12 runs no dependency's install script the installing project did not allow (allowScripts). */
const scriptsBlocked = npmMajor >= 12;

beforeAll(() => {
  npm(['pack', '--pack-destination', work], root);
  tarball = join(work, readdirSync(work).find((n) => n.endsWith('.tgz'))!);
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}\n');
  // No network but the npm registry: the PTY package is prebuilt; with npm 11, better-sqlite3 (an
  // optional dependency) compiles from source (g++ and make, about a minute); npm 12 runs no
  // install script of a dependency by default, so nothing is built.
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], app);
}, 240_000);

test('the tarball holds dist/ (CLI, page, its worker and chunks, wasm), bin, README and LICENSE only', () => {
  const all = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n').sort();
  // The page's lazily loaded chunks (xterm.js) and the CLI's (one per command) have content-hashed names.
  const chunks = all.filter((f) => /^package\/dist\/web\/chunk-[A-Z0-9]+\.js$/.test(f) || /^package\/dist\/cli-[A-Z0-9]+\.js$/.test(f));
  expect(chunks.filter((f) => f.includes('/web/')).length).toBeGreaterThan(0);
  expect(chunks.filter((f) => !f.includes('/web/')).length).toBeGreaterThan(0);
  const files = all.filter((f) => !chunks.includes(f));
  expect(files).toEqual(
    [
      'package/LICENSE',
      'package/README.md',
      'package/bin/cmdrun.js',
      'package/dist/cli.js',
      'package/dist/web/app.js',
      'package/dist/web/event-worker.js',
      'package/dist/web/favicon.svg',
      'package/dist/web/index.html',
      'package/dist/web/style.css',
      'package/dist/web/tree-sitter-bash.wasm',
      'package/dist/web/web-tree-sitter.wasm',
      'package/package.json',
    ].sort(),
  );
});

test('npx cmdrun --version and --help', () => {
  const version = JSON.parse(execFileSync('cat', [join(root, 'package.json')], { encoding: 'utf8' })).version;
  expect(execFileSync('npx', ['cmdrun', '--version'], { cwd: app, encoding: 'utf8' }).trim()).toBe(version);
  const help = execFileSync('npx', ['cmdrun', '--help'], { cwd: app, encoding: 'utf8' }).replace(/\s+/g, ' ');
  for (const option of ['--port', '--host <addr>', '--no-browser', '--shell', '--cwd', '--token', 'default: "127.0.0.1"', 'default: "bash"']) {
    expect(help).toContain(option);
  }
});

test('npx cmdrun run <file> runs the blocks', () => {
  writeFileSync(join(app, 'steps.sh'), 'cd /\n\necho "in $PWD"\n');
  const out = execFileSync('npx', ['cmdrun', 'run', '--quiet', 'steps.sh'], { cwd: app, encoding: 'utf8' });
  expect(out).toBe('in /\n');
});

test('npx cmdrun run <runbook.md> runs its fences (the Markdown parser is a dependency of the package)', () => {
  writeFileSync(join(app, 'runbook.md'), '# Steps\n\nProse.\n\n```sh\ncd /\n```\n\n```console\n$ echo "in $PWD"\nin /\n```\n');
  const out = execFileSync('npx', ['cmdrun', 'run', '--quiet', 'runbook.md'], { cwd: app, encoding: 'utf8' });
  expect(out).toBe('in /\n');
});

test('npx cmdrun --no-browser <file> serves the notebook', async () => {
  writeFileSync(join(app, 'nb.sh'), 'echo hi\n');
  // npx does not pass SIGTERM on to cmdrun: run it in a process group of its own and signal the group.
  const child = spawn('npx', ['cmdrun', '--no-browser', '--port', '0', 'nb.sh'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /cmdrun: (\S+)\n/.exec(out);
        if (m) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    const { origin } = new URL(url);
    const page = await fetch(`${origin}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>cmdrun</title>');
    expect((await fetch(`${origin}/tree-sitter-bash.wasm`)).status).toBe(200);
    const file = await fetch(`${origin}/api/file`, { headers: { authorization: `Bearer ${url.split('#token=')[1]}` } });
    expect(await file.json()).toMatchObject({ content: 'echo hi\n' });
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    // cmdrun exits 0 on SIGTERM, its shell with it: the group empties.
    const gone = async () => {
      for (let i = 0; i < 300; i++) {
        try {
          process.kill(-child.pid!, 0);
        } catch {
          return true;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    };
    expect(await gone()).toBe(true);
  }
});

/** The installed `cmdrun …` (what npx runs, without npx's own notices) in the app folder: its exit status, stdout and stderr. */
const cmdrun = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const r = spawnSync(join(app, 'node_modules/.bin/cmdrun'), args, { cwd: app, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

test('the history is complete: node:sqlite where Node has it (nothing compiled with npm 12), else better-sqlite3 built at install', () => {
  const built = existsSync(join(app, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'));
  if (nodeSqlite && scriptsBlocked) expect(built).toBe(false);
  if (!nodeSqlite) expect(built).toBe(true);
  writeFileSync(join(app, 'hist.sh'), 'echo first\n\necho second; exit 3\n');
  const run = cmdrun(['run', '--quiet', '--history', 'h.db', 'hist.sh']);
  expect(run).toEqual({ status: 3, stdout: 'first\nsecond\n', stderr: '' });
  const list = cmdrun(['history', '--history', 'h.db', '--json']);
  expect(list.stderr).toBe('');
  // One JSON object a line (README, History).
  const runs = list.stdout.trim().split('\n').map((line) => JSON.parse(line)) as Array<{ runId: string; code: string; exitCode: number }>;
  expect(runs.map((r) => [r.code, r.exitCode])).toEqual([
    ['echo second; exit 3', 3],
    ['echo first', 0],
  ]);
  const show = cmdrun(['history', 'show', runs[1].runId, '--history', 'h.db']);
  expect(show.stdout).toContain('first');
});

test('with no SQLite driver at all, history is off with one warning line and the blocks run', () => {
  // The driver this Node does not have: node:sqlite on Node 20, better-sqlite3 where npm 12 did not build it.
  const missing = !nodeSqlite ? 'node:sqlite' : existsSync(join(app, 'node_modules/better-sqlite3/build')) ? undefined : 'better-sqlite3';
  if (!missing) return expect(nodeSqlite && !scriptsBlocked).toBe(true); // both drivers work here
  writeFileSync(join(app, 'off.sh'), 'cd /\n\necho "in $PWD"\n');
  const run = cmdrun(['run', '--quiet', '--history', 'off.db', 'off.sh'], { CMDRUN_SQLITE: missing });
  expect(run.stdout).toBe('in /\n');
  expect(run.status).toBe(0);
  expect(run.stderr.split('\n')).toEqual([expect.stringMatching(/^cmdrun: warning: history is off: .*better-sqlite3 did not load/), '']);
});

// With npm 11 this would build better-sqlite3 once more (a minute): the Node 26 run of .ci/run has npm 12.
test.skipIf(!scriptsBlocked)('npm install -g of the tarball: cmdrun runs with a complete history, nothing compiled', () => {
  const prefix = join(work, 'global');
  npm(['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tarball], work);
  expect(existsSync(join(prefix, 'lib/node_modules/cmdrun/node_modules/better-sqlite3/build'))).toBe(false);
  writeFileSync(join(work, 'global.sh'), 'echo global\n');
  const bin = join(prefix, 'bin/cmdrun');
  const run = spawnSync(bin, ['run', '--quiet', 'global.sh', '--history', 'g.db'], { cwd: work, encoding: 'utf8' });
  expect([run.status, run.stdout, run.stderr]).toEqual([0, 'global\n', '']);
  const list = spawnSync(bin, ['history', '--json', '--history', 'g.db'], { cwd: work, encoding: 'utf8' });
  expect(JSON.parse(list.stdout)).toMatchObject({ code: 'echo global', exitCode: 0 });
});

test.skipIf(!scriptsBlocked)('npx --package of the tarball, not installed: cmdrun runs with a complete history', () => {
  // npx's own cache in the temp folder: what npx fetches leaves nothing in ~/.npm.
  const env = { ...process.env, npm_config_cache: join(work, 'npx-cache'), npm_config_update_notifier: 'false' };
  writeFileSync(join(work, 'npx.sh'), 'echo via npx\n');
  const run = spawnSync('npx', ['--yes', `--package=${tarball}`, '--', 'cmdrun', 'run', '--quiet', 'npx.sh', '--history', 'n.db'], { cwd: work, encoding: 'utf8', env });
  expect([run.status, run.stdout]).toEqual([0, 'via npx\n']);
  expect(run.stderr).not.toMatch(/cmdrun: warning/);
  const list = spawnSync('npx', ['--yes', `--package=${tarball}`, '--', 'cmdrun', 'history', '--json', '--history', 'n.db'], { cwd: work, encoding: 'utf8', env });
  expect(JSON.parse(list.stdout)).toMatchObject({ code: 'echo via npx', exitCode: 0 });
});

test.skipIf(npmMajor < 11)('allowScripts lets exactly the dependencies that need an install script run it (npm install-scripts ls)', () => {
  expect(npm(['install-scripts', 'ls'], root)).toMatch(/^No packages with unreviewed install scripts\.\s*$/);
  const { allowScripts } = JSON.parse(execFileSync('cat', [join(root, 'package.json')], { encoding: 'utf8' }));
  expect(allowScripts).toEqual({ 'better-sqlite3': true, esbuild: true, 'tree-sitter-bash': false });
});

// The package as users get it: `npm pack`, installed into an empty folder, run through npx.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
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

beforeAll(() => {
  npm(['pack', '--pack-destination', work], root);
  tarball = join(work, readdirSync(work).find((n) => n.endsWith('.tgz'))!);
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}\n');
  // No network but the npm registry: the PTY package is prebuilt; better-sqlite3 compiles from
  // source (g++ and make, about a minute).
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], app);
}, 240_000);

test('the tarball holds dist/ (CLI, page and its chunks, wasm), bin, README and LICENSE only', () => {
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

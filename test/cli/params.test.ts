// `cmdrun run` with runbook inputs and no terminal: --env, --env-file (dotenv), the check that
// fails before any block runs (exit 2), confirm= and --yes, --list and --list --json, a Runme
// runbook; and a secret printed a byte at a time, searched for in stdout, --json, the history
// database file, `cmdrun history show` and both transcripts.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { givenValues } from '../../src/cli/env-options.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('cmdrun-params-cli-');
const write = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const deploy = write('deploy.sh', [
  '# %% Deploy',
  'export CLUSTER=Enter the cluster name',
  'export REGION="eu-west-1"',
  'echo "deploying to $CLUSTER in $REGION"',
  '# %% Restart confirm="Restart production?"',
  'echo restarted',
  '',
].join('\n'));
const clean = { CLUSTER: '', REGION: '' };

describe('no terminal', () => {
  test('a parameter with no value and no default fails the run before any block runs: exit 2, one line per name', async () => {
    const r = await runCli(['run', deploy, '--no-history', '--yes'], clean);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('cmdrun: block 1 (deploy.sh:1) needs CLUSTER (Enter the cluster name): give it with --env CLUSTER=...\n');
  });

  test('a confirm= block needs --yes; then --env answers, defaults are taken', async () => {
    const refused = await runCli(['run', deploy, '--no-history', '--env', 'CLUSTER=prod'], clean);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('cmdrun: block 2 (deploy.sh:5) asks to be confirmed ("Restart production?"): run with --yes\n');
    const r = await runCli(['run', deploy, '--no-history', '--quiet', '--env', 'CLUSTER=prod', '--yes'], clean);
    expect(r).toMatchObject({ code: 0, stdout: 'deploying to prod in eu-west-1\nrestarted\n' });
  });

  test('the environment cmdrun started with, and env files (dotenv), answer; --env wins over a file', async () => {
    expect((await runCli(['run', deploy, '--no-history', '--quiet', '--to', '1'], { CLUSTER: 'from-env', REGION: '' })).stdout).toBe('deploying to from-env in eu-west-1\n');
    const envFile = write('prod.env', '# production\nCLUSTER="prod cluster"\nexport REGION=us-east-1\n');
    expect((await runCli(['run', deploy, '--no-history', '--quiet', '--to', '1', '--env-file', envFile], clean)).stdout).toBe('deploying to prod cluster in us-east-1\n');
    expect((await runCli(['run', deploy, '--no-history', '--quiet', '--to', '1', '--env-file', envFile, '--env', 'CLUSTER=x'], clean)).stdout).toBe('deploying to x in us-east-1\n');
  });

  test.each([
    [['--env', 'CLUSTER'], 'expected NAME=VALUE, got "CLUSTER"'],
    [['--env', '1X=a'], '"1X" is not a valid variable name'],
  ])('bad input %j is exit 2 naming it', async (args, message) => {
    const r = await runCli(['run', deploy, '--no-history', ...args], clean);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  // Node 20 reads a `--env-file` given after the script itself (nodejs/node#54232): a missing
  // file is node's own "not found", exit 9, before cmdrun starts; cmdrun's check is tested here.
  test('an env file that is missing or holds an invalid name is an error naming it', async () => {
    await expect(givenValues({ envFile: ['/nonexistent/x.env'] })).rejects.toThrow('--env-file /nonexistent/x.env: no such file');
    const bad = write('bad.env', 'GOOD=1\nBAD-NAME=2\n');
    await expect(givenValues({ envFile: [bad] })).rejects.toThrow(`--env-file ${bad}: "BAD-NAME" is not a valid variable name`);
    const multi = write('multi.env', 'KEY_A="line 1\nline 2"\nexport B=2 # comment\n');
    await expect(givenValues({ envFile: [multi], env: [{ name: 'B', value: '3' }] })).resolves.toEqual([
      { name: 'KEY_A', value: 'line 1\nline 2', source: 'env file' },
      { name: 'B', value: '2', source: 'env file' },
      { name: 'B', value: '3', source: '--env' },
    ]);
  });

  test('--list shows parameters and confirmations; --list --json has them for editors', async () => {
    expect((await runCli(['run', '--list', deploy])).stdout).toBe('[1] Deploy (deploy.sh:1-4) asks CLUSTER, REGION\n[2] Restart (deploy.sh:5-6) confirm: "Restart production?"\n');
    const list = JSON.parse((await runCli(['run', '--list', '--json', deploy])).stdout);
    expect(list).toEqual([
      { number: 1, title: 'Deploy', lines: [1, 4], language: 'sh', target: null, excluded: false, promptEnv: 'auto', confirm: null, parameters: [
        { name: 'CLUSTER', message: 'Enter the cluster name', secret: false },
        { name: 'REGION', default: 'eu-west-1', secret: false },
      ] },
      { number: 2, title: 'Restart', lines: [5, 6], language: 'sh', target: null, excluded: false, promptEnv: 'auto', confirm: 'Restart production?', parameters: [] },
    ]);
  });

  test('a Runme runbook: front matter, promptEnv per fence, a placeholder that never asks becomes the value', async () => {
    const md = write('runme.md', [
      '---',
      'runme:',
      '  id: 01HF7B0KJPF469EG9ZWDNKKACQ',
      'shell: bash',
      '---',
      '# Set up',
      '```sh { name=project }',
      'export PROJECT=[Enter your project id]',
      'echo "project: $PROJECT"',
      '```',
      '```sh { name=label promptEnv=never }',
      'export LABEL=Enter a label',
      'echo "label: $LABEL"',
      '```',
      '```console',
      '$ export NOT_A_PARAM=Enter something',
      '$ echo "console: $NOT_A_PARAM"',
      'console: Enter',
      '```',
      '',
    ].join('\n'));
    const missing = await runCli(['run', md, '--no-history'], { PROJECT: '' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('cmdrun: block 1 (runme.md:7) needs PROJECT ([Enter your project id]): give it with --env PROJECT=...\n');
    const r = await runCli(['run', md, '--no-history', '--quiet', '--env', 'PROJECT=acme-42'], { PROJECT: '' });
    expect(r).toMatchObject({ code: 0, stdout: 'project: acme-42\nlabel: Enter a label\nconsole: Enter\n' });
  });
});

describe('secrets', () => {
  test('a secret printed a byte at a time never reaches stdout, --json, the history file, history show or a transcript', async () => {
    const secret = 'sk-live-4f9a2b7c';
    const envFile = write('secret.env', `API_TOKEN=${secret}\n`);
    const script = write('leak.sh', [
      '# %% leak',
      's=$API_TOKEN; i=1',
      'while [ $i -le ${#s} ]; do printf %s "$(printf %s "$s" | cut -c$i)"; sleep 0.01; i=$((i+1)); done; echo',
      'echo "whole: $API_TOKEN."',
      '',
    ].join('\n'));
    const db = join(dir, 'state', 'history.db');
    const html = join(dir, 'out.html');
    const md = join(dir, 'out.md');
    const r = await runCli(['run', script, '--quiet', '--env-file', envFile, '--history', db, '--report', html]);
    expect(r).toMatchObject({ code: 0, stdout: '***\nwhole: ***.\n' });
    const json = await runCli(['run', script, '--json', '--env-file', envFile, '--history', db, '--report', md]);
    expect(json.code).toBe(0);
    expect(json.stdout).toContain('whole: ***.');
    expect(json.stdout).not.toContain(secret);
    for (const name of readdirSync(join(dir, 'state'))) expect(readFileSync(join(dir, 'state', name)).includes(secret), name).toBe(false);
    expect(readFileSync(html, 'utf8')).not.toContain(secret);
    expect(readFileSync(html, 'utf8')).toContain('***');
    expect(readFileSync(md, 'utf8')).toContain('whole: ***.');
    expect(readFileSync(md, 'utf8')).not.toContain(secret);
    const runs = (await runCli(['history', '--json', '--history', db])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { runId: string });
    expect(runs.length).toBeGreaterThan(0);
    // Outputs written into a runbook (--write-outputs) are masked too.
    const doc = write('doc.md', '# Leak\n\n```sh\necho "tok=$API_TOKEN"\n```\n');
    expect((await runCli(['run', doc, '--no-history', '--write-outputs', '--env-file', envFile])).code).toBe(0);
    expect(readFileSync(doc, 'utf8')).toContain('tok=***');
    expect(readFileSync(doc, 'utf8')).not.toContain(secret);
    for (const { runId } of runs) {
      const shown = await runCli(['history', 'show', runId, '--history', db]);
      expect(shown.stdout).toContain('***');
      expect(shown.stdout).not.toContain(secret);
    }
  });
});

// `cmdrun run` with fleet blocks (issue 19) against real sshd hosts (test/helpers/fleet.ts): prefixed
// lines, --group, the summary table, the exit status, --json's targets, @GROUP errors (exit 2
// before anything runs), and the history's target column.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startFleet, type Fleet } from '../helpers/fleet.js';
import { tempDir } from '../helpers/tmp.js';

let fleet: Fleet;
let dir: string;
let inventory: string;
beforeAll(async () => {
  fleet = await startFleet({ hosts: 4, refuseKey: ['web04'] });
  dir = tempDir('cmdrun-fleet-cli-');
  inventory = fleet.iniInventory('[two]\nweb01\nweb02\n');
}, 60_000);
afterAll(async () => {
  await fleet?.stop();
});

const script = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const run = (args: string[]) => runCli(['run', ...args, '--ssh-command', fleet.sshCommand, '--inventory', inventory, '--history', join(dir, 'history.db')], { NO_COLOR: '' });
/** The port a host's lines print (its sshd port: each host is one). */
const port = (name: string) => fleet.ports[name];

describe('cmdrun run, a fleet block', () => {
  test('prints each host\'s lines prefixed with its padded name, never a line split, then the summary table; state is per host', async () => {
    const path = script(
      'lines.sh',
      [
        '# %% setup on="@two"',
        'p=$(echo "$SSH_CONNECTION" | cut -d" " -f4)',
        'for i in 1 2 3; do printf "line $i of "; sleep 0.05; echo "$p"; done',
        '# %% again on="ssh://web02,ssh://web01"',
        'echo "still $p"; [ "$p" = "' + port('web01') + '" ] && exit 4; true',
        '',
      ].join('\n'),
    );
    const { code, stdout, stderr } = await run([path, '--no-color']);
    expect(code).toBe(4);
    expect(stderr).toContain('── [1/2] setup (lines.sh:2) on @two: 2 hosts');
    const lines = stdout.split('\n');
    for (const name of ['web01', 'web02']) {
      expect(lines.filter((l) => l.startsWith(`${name} | line`))).toEqual([1, 2, 3].map((i) => `${name} | line ${i} of ${port(name)}`));
      expect(lines).toContain(`${name} | still ${port(name)}`);
    }
    // Every host's line is whole: no line holds two hosts' text.
    expect(lines.filter((l) => /^web0\d \| /.test(l)).every((l) => /^web0\d \| (line \d of \d+|still \d+)$/.test(l))).toBe(true);
    expect(stdout).toMatch(/HOST +EXIT +DURATION +LAST LINE\nweb01 +0 +[\d.]+ m?s\s*\nweb02 +0 +[\d.]+ m?s\s*\n2 hosts: 2 ok\n/);
    expect(stderr).toContain('── [2/2] again (lines.sh:5) on ssh://web02,ssh://web01: 2 hosts');
    expect(stdout).toMatch(new RegExp(`HOST +EXIT +DURATION +LAST LINE\\nweb02 +0 +[\\d.]+ m?s\\s*\\nweb01 +4 +[\\d.]+ m?s +still ${port('web01')}\\n2 hosts: 1 ok, 1 failed\\n`));
  }, 120_000);

  test('--group prints each distinct output once under its hosts (dshbak -c ranges), failures first; an unreachable host fails alone', async () => {
    const path = script('group.sh', '# %% on="ssh://web01,ssh://web02,ssh://web03,ssh://web04"\necho same\n');
    const { code, stdout } = await run([path, '--group', '--no-color']);
    expect(code).toBe(255);
    expect(stdout).toMatch(/^-+\nweb04 \(1 host\): unreachable\n-+\n.*Permission denied \(publickey/s);
    expect(stdout).toContain('web[01-03] (3 hosts): ok\n------------------------\nsame\n');
    expect(stdout).toMatch(/web04 +255 unreachable +[\d.]+ m?s +cmdrun: could not start bash on ssh:\/\/web04: ssh exited with status 255\n4 hosts: 3 ok, 1 unreachable\n/);
    // The unreachable host is a row of the history too, with ssh's message as its output.
    const history = (args: string[]) => runCli(['history', ...args, '--history', join(dir, 'history.db')], { NO_COLOR: '1' });
    const listed = (await history([path, '--on', 'ssh://web04'])).stdout.trim().split('\n').slice(1);
    expect(listed).toEqual([expect.stringMatching(/\/group\.sh +.* +ssh:\/\/web04 +255 unreachable +[\d.]+ m?s +\S+$/)]);
    const shown = await history(['show', listed[0].split(/ +/).at(-1)!]);
    expect(shown.stdout).toMatch(/\n# on ssh:\/\/web01,ssh:\/\/web02,ssh:\/\/web03,ssh:\/\/web04: 4 hosts\n/);
    expect(shown.stdout).toMatch(/\n# ssh:\/\/web04: exit 255 after [\d.]+ m?s, unreachable(; cwd \S+)?\n[^#]*Permission denied \(publickey[^#]*\ncmdrun: could not start bash on ssh:\/\/web04: ssh exited with status 255\n$/);
  }, 120_000);

  test('--json events carry the host; an unknown group exits 2 before anything runs, listing the groups', async () => {
    const path = script('json.sh', '# %% on="@two"\necho hi\n');
    const { code, stdout } = await run([path, '--json']);
    expect(code).toBe(0);
    const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.filter((e) => e.event === 'output').map((e) => [e.target, e.text])).toEqual(expect.arrayContaining([['ssh://web01', 'hi\n'], ['ssh://web02', 'hi\n']]));
    expect(events.at(-1)).toMatchObject({ event: 'end', exitCode: 0, hosts: [{ target: 'ssh://web01' }, { target: 'ssh://web02' }] });

    const bad = script('bad.sh', '# %%\ntouch ran-it\n# %% on="@nope"\necho no\n');
    const refused = await run([bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('cmdrun: bad.sh:3: no group "nope" in the inventory (its groups: all, two, web)\n');
    const noAnsible = await runCli(['run', bad, '--no-history'], { PATH: '/nonexistent', NO_COLOR: '' });
    expect(noAnsible.code).toBe(2);
    expect(noAnsible.stderr).toContain('Ansible is not installed');
    const broken = await runCli(['run', bad, '--no-history', '--inventory', script('broken.yml', 'web: [[[\n')]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/^cmdrun: bad\.sh:3: the inventory .*broken\.yml does not load: /);
  }, 120_000);

  test('--on @GROUP runs every block on the group; history shows the target, and --on filters by it', async () => {
    const path = script('default.sh', 'echo "$SSH_CONNECTION" | cut -d" " -f4\n');
    const { code, stdout } = await run([path, '--on', '@two', '--quiet']);
    expect(code).toBe(0);
    expect(stdout).toContain(`web01 | ${port('web01')}\n`);
    const history = await runCli(['history', path, '--history', join(dir, 'history.db'), '--on', 'ssh://web02'], { NO_COLOR: '1' });
    expect(history.stdout.split('\n')[0]).toMatch(/^TIME +SCRIPT +BLOCK +TARGET +EXIT +DURATION +RUN ID$/);
    expect(history.stdout.trim().split('\n').slice(1)).toEqual([expect.stringMatching(/\/default\.sh +echo .* +ssh:\/\/web02 +0 /)]);
    const all = await runCli(['history', path, '--history', join(dir, 'history.db'), '--on', '@two'], { NO_COLOR: '1' });
    expect(all.stdout.trim().split('\n')).toHaveLength(3);
    const runId = all.stdout.trim().split('\n')[1].split(/ +/).at(-1)!;
    const shown = await runCli(['history', 'show', runId, '--history', join(dir, 'history.db')], { NO_COLOR: '1' });
    expect(shown.stdout).toMatch(new RegExp(`^# run ${runId}\n# .*default\\.sh:1\n# on @two: 2 hosts\necho .*\n# ssh://web01: exit 0 after [\\d.]+ m?s; cwd /\\S+\n${port('web01')}\n# ssh://web02: exit 0 after [\\d.]+ m?s; cwd /\\S+\n${port('web02')}\n$`));
  }, 120_000);

  test('a secret given with --env reaches every host and is masked in each host\'s stream, also printed a character at a time; transcripts group outputs', async () => {
    const path = script('secret.sh', '# %% on="@two"\n[ "$API_TOKEN" = s3cr3tvalue ] && echo has-it\nfor c in s 3 c r 3 t v a l u e; do printf %s "$c"; sleep 0.02; done; echo\n');
    const report = join(dir, 'report.md');
    const { code, stdout } = await run([path, '--env', 'API_TOKEN=s3cr3tvalue', '--no-color', '--quiet', '--report', report]);
    expect(code).toBe(0);
    expect(stdout).not.toContain('s3cr3t');
    for (const name of ['web01', 'web02']) {
      expect(stdout.split('\n').filter((l) => l.startsWith(`${name} | `))).toEqual([`${name} | has-it`, `${name} | ***`]);
    }
    const md = readFileSync(report, 'utf8');
    expect(md).toContain('*exit 0 · ');
    expect(md).toContain('on @two: 2 hosts');
    expect(md).toMatch(/\| host \| exit \| duration \| last line \|\n\| --- \| --- \| --- \| --- \|\n\| web01 \| ok \| [\d.]+ m?s \|  \|\n\| web02 \| ok \|/);
    expect(md).toContain('```text\nweb[01-02] (2 hosts): ok\nhas-it\n***\n```');
  }, 120_000);
});

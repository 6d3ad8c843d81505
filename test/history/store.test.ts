// The history store and recorder against real SQLite files and a real bash session.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultHistoryPath, historyPath } from '../../src/history/paths.js';
import { HistoryRecorder } from '../../src/history/recorder.js';
import { SCHEMA } from '../../src/history/rows.js';
import { openDatabase } from '../../src/history/sqlite.js';
import { HISTORY_DISK_BOUND, HistoryStore, openHistory, type RunMeta } from '../../src/history/store.js';
import { fleetRunOf } from '../../src/history/fleet-history.js';
import { RunQueue } from '../../src/runs/run-queue.js';
import { DEFAULT_OUTPUT_LIMITS } from '../../src/runs/run.js';
import type { Run } from '../../src/runs/run.js';
import { ShellSession } from '../../src/session/session.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = () => tempDir('cmdrun-history-store-');
const mode = (path: string) => statSync(path).mode & 0o777;
let n = 0;
const meta = (over: Partial<RunMeta> = {}): RunMeta => ({
  runId: `r${++n}`,
  script: '/x/a.sh',
  code: 'echo a',
  user: 'u',
  host: 'h',
  shell: 'bash',
  session: 's',
  startedAt: 1_000_000 + n,
  ...over,
});

describe('where the history lives', () => {
  test('$XDG_STATE_HOME/cmdrun/history.db, else ~/.local/state (a relative XDG_STATE_HOME is ignored)', () => {
    expect(defaultHistoryPath({ XDG_STATE_HOME: '/s', HOME: '/home/u' })).toBe('/s/cmdrun/history.db');
    expect(defaultHistoryPath({ HOME: '/home/u' })).toBe('/home/u/.local/state/cmdrun/history.db');
    expect(defaultHistoryPath({ XDG_STATE_HOME: '', HOME: '/home/u' })).toBe('/home/u/.local/state/cmdrun/history.db');
    expect(defaultHistoryPath({ XDG_STATE_HOME: 'rel/state', HOME: '/home/u' })).toBe('/home/u/.local/state/cmdrun/history.db');
    expect(historyPath(false)).toBeUndefined();
    expect(historyPath('/elsewhere/h.db')).toBe('/elsewhere/h.db');
  });

  test('the folder is created 0700 and the database, its -wal and -shm files 0600', () => {
    const path = join(tmp(), 'state', 'cmdrun', 'history.db');
    const store = HistoryStore.open(path);
    const id = store.begin(meta());
    store.writeOutput(id, [{ head: true, text: 'secret\n' }], [], 7, 0);
    expect(mode(join(path, '..'))).toBe(0o700);
    expect(mode(join(path, '..', '..'))).toBe(0o700);
    for (const file of [path, `${path}-wal`, `${path}-shm`]) expect([file, mode(file)]).toEqual([file, 0o600]);
    store.close();
  });

  test('a corrupt file or a folder that cannot be created is one warning, and no history', () => {
    const dir = tmp();
    const corrupt = join(dir, 'corrupt.db');
    writeFileSync(corrupt, 'this is not a database, just text that is long enough to be read as a header '.repeat(20));
    const warnings: string[] = [];
    expect(openHistory(corrupt, (m) => warnings.push(m))).toBeUndefined();
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    expect(openHistory(join(file, 'cmdrun', 'history.db'), (m) => warnings.push(m))).toBeUndefined();
    // A folder under /proc: Node's recursive mkdirSync never returned there.
    expect(openHistory('/proc/cmdrun-nope/history.db', (m) => warnings.push(m))).toBeUndefined();
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/^cmdrun: warning: history is off: cannot open .*corrupt\.db: file is not a database$/);
    expect(warnings[1]).toMatch(/history is off: cannot open .*a-file\/cmdrun\/history\.db: ENOTDIR/);
    expect(warnings[2]).toMatch(/history is off: cannot open \/proc\/cmdrun-nope\/history\.db: ENOENT/);
  });
});

describe('transactions', () => {
  test('atomically commits what fn wrote, rolls all of it back when fn throws, and a nested one alone when only it throws', () => {
    const store = HistoryStore.open(join(tmp(), 'h.db'));
    const ids = () => store.list({ limit: 100 }).map((r) => r.runId);
    store.atomically(() => store.begin(meta({ runId: 'kept' })));
    expect(() =>
      store.atomically(() => {
        store.begin(meta({ runId: 'lost' }));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    store.atomically(() => {
      store.begin(meta({ runId: 'outer' }));
      expect(() =>
        store.atomically(() => {
          store.begin(meta({ runId: 'inner' }));
          throw new Error('inner boom');
        }),
      ).toThrow('inner boom');
    });
    expect(ids().sort()).toEqual(['kept', 'outer']);
    // No transaction was left open: a second connection (as another process has) can write.
    const other = HistoryStore.open(store.path);
    other.begin(meta({ runId: 'other' }));
    expect(ids().sort()).toEqual(['kept', 'other', 'outer']);
    other.close();
    store.close();
  });
});

describe('the file on disk', () => {
  const fill = (store: HistoryStore, script: string, runs: number) => {
    for (let i = 0; i < runs; i++) {
      const id = store.begin(meta({ script }));
      store.writeOutput(id, [{ head: true, text: `${i}`.repeat(100_000) }], [], 100_000, 0);
    }
  };

  test('a database made before auto-vacuum (0.4) is switched when opened, once, and then gives pruned space back', () => {
    const path = join(tmp(), 'old.db');
    // As 0.4 made it: the same tables, without auto-vacuum.
    const old = openDatabase(path);
    old.exec('PRAGMA journal_mode = WAL');
    old.exec(SCHEMA);
    const run = old.prepare(`INSERT INTO runs (run_id, script, code, user, host, shell, session, started_at, output_bytes) VALUES (?, '/x/old.sh', 'echo', 'u', 'h', 'bash', 's', ?, 100000)`);
    const output = old.prepare('INSERT INTO output (run, head, text) VALUES (?, 1, ?)');
    for (let i = 0; i < 30; i++) output.run(run.run(`old${i}`, i).lastInsertRowid, `${i % 10}`.repeat(100_000));
    expect(Object.values(old.prepare('PRAGMA auto_vacuum').get() as object)).toEqual([0]);
    old.close();
    expect(statSync(path).size).toBeGreaterThan(3_000_000);
    const store = HistoryStore.open(path);
    expect(store.size('/x/old.sh')).toBeGreaterThan(3_000_000); // nothing lost by the switch
    expect(store.prune('/x/old.sh', 500_000)).toBeLessThanOrEqual(500_000);
    expect(statSync(path).size + statSync(`${path}-wal`).size).toBeLessThan(HISTORY_DISK_BOUND(500_000));
    store.close();
    expect(statSync(path).size).toBeLessThan(HISTORY_DISK_BOUND(500_000));
  });

  test('a database made before targets (0.5) gets the target and fleet columns when opened; its runs keep theirs empty', () => {
    const path = join(tmp(), 'v05.db');
    const old = openDatabase(path);
    old.exec(SCHEMA.replace(/,\s*target TEXT,\s*fleet TEXT,\s*fleet_index INTEGER,\s*unreachable INTEGER/, ''));
    old.prepare(`INSERT INTO runs (run_id, script, code, user, host, shell, session, started_at) VALUES ('old', '/x/old.sh', 'echo', 'u', 'h', 'bash', 's', 1)`).run();
    expect((old.prepare('PRAGMA table_info(runs)').all() as Array<{ name: string }>).map((c) => c.name)).not.toContain('target');
    old.close();
    const store = HistoryStore.open(path);
    store.begin(meta({ runId: 'new', script: '/x/old.sh', target: 'ssh://db1' }));
    store.begin(meta({ runId: 'host', script: '/x/old.sh', target: 'ssh://web01', fleet: '@web' }));
    expect(store.list({ script: '/x/old.sh' }).map((r) => [r.runId, r.target, r.fleet])).toEqual([
      ['host', 'ssh://web01', '@web'],
      ['new', 'ssh://db1', undefined],
      ['old', undefined, undefined],
    ]);
    expect(store.list({ on: '@web' }).map((r) => r.runId)).toEqual(['host']);
    expect(store.list({ on: 'ssh://db1' }).map((r) => r.runId)).toEqual(['new']);
    store.close();
  });

  test('a fleet run\'s host rows read back in fleet order, with unreachable; rows of 0.6.0 in start order, unreachable from their output', () => {
    const path = join(tmp(), 'v060.db');
    const old = openDatabase(path);
    old.exec(SCHEMA.replace(/,\s*fleet_index INTEGER,\s*unreachable INTEGER/, ''));
    old.close();
    const store = HistoryStore.open(path);
    const ended = { exitCode: 0, durationMs: 5, interrupted: false, sessionRestarted: false, cwd: '/' };
    // Hosts start in their own order: b (fleet index 1) first.
    const b = store.begin(meta({ runId: 'f', target: 'ssh://b', fleet: 'ssh://a,ssh://b', fleetIndex: 1, startedAt: 10 }));
    const a = store.begin(meta({ runId: 'f', target: 'ssh://a', fleet: 'ssh://a,ssh://b', fleetIndex: 0, startedAt: 20 }));
    store.writeOutput(a, [{ head: true, text: 'Permission denied (publickey).\r\n\ncmdrun: could not start bash on ssh://a: ssh exited with status 255\n' }], [], 90, 0);
    store.finish(a, { ...ended, exitCode: 255, unreachable: true });
    store.finish(b, { ...ended, exitCode: 2, unreachable: false });
    const one = store.begin(meta({ runId: 'one', target: 'local' }));
    store.finish(one, ended);
    expect(store.hosts('f').map((h) => [h.target, h.exitCode, h.unreachable])).toEqual([['ssh://a', 255, true], ['ssh://b', 2, false]]);
    expect(store.get('one')).not.toHaveProperty('unreachable');
    const run = fleetRunOf(store.hosts('f'));
    expect(run).toMatchObject({ runId: 'f', fleet: 'ssh://a,ssh://b', startedAt: 10, durationMs: 15, exitCode: 255, finished: true, outputBytes: 90 });
    expect(run.hosts.map((h) => h.lastLine)).toEqual(['cmdrun: could not start bash on ssh://a: ssh exited with status 255', '']);
    // A row written before the columns existed: in start order; unreachable told by its output.
    const oldA = store.begin(meta({ runId: 'g', target: 'ssh://a', fleet: 'ssh://a,ssh://b', startedAt: 30 }));
    const oldB = store.begin(meta({ runId: 'g', target: 'ssh://b', fleet: 'ssh://a,ssh://b', startedAt: 31 }));
    store.writeOutput(oldB, [{ head: true, text: 'Permission denied (publickey).\r\n\ncmdrun: could not start bash on ssh://b: ssh exited with status 255\n' }], [], 90, 0);
    store.finish(oldA, ended);
    store.finish(oldB, { ...ended, exitCode: 255 });
    expect(fleetRunOf(store.hosts('g')).hosts.map((h) => [h.target, h.unreachable])).toEqual([['ssh://a', false], ['ssh://b', true]]);
    store.close();
  });

  test('clearing a script gives its space back', () => {
    const path = join(tmp(), 'h.db');
    const store = HistoryStore.open(path);
    fill(store, '/x/a.sh', 5);
    fill(store, '/x/big.sh', 30);
    expect(store.clear('/x/big.sh')).toBe(30);
    expect(store.list().map((r) => r.script)).toEqual(Array(5).fill('/x/a.sh'));
    expect(statSync(path).size + statSync(`${path}-wal`).size).toBeLessThan(HISTORY_DISK_BOUND(500_000));
    store.close();
  });
});

describe('reading', () => {
  let store: HistoryStore;
  beforeAll(() => {
    store = HistoryStore.open(join(tmp(), 'h.db'));
    const a = store.begin(meta({ runId: 'deploy', code: 'kubectl apply -f app.yaml', title: 'Deploy' }));
    store.writeOutput(a, [{ head: true, text: 'deployment.apps/web configured\n' }], [], 31, 0);
    store.finish(a, { exitCode: 0, durationMs: 1200, interrupted: false, sessionRestarted: false, cwd: '/srv' });
    const b = store.begin(meta({ runId: 'check', code: 'curl -s localhost/health', script: '/x/b.sh' }));
    store.writeOutput(b, [{ head: true, text: 'ERROR 50% of_pods down\n' }], [], 23, 0);
    store.begin(meta({ runId: 'unfinished', code: 'sleep 100' }));
  });
  afterAll(() => store.close());

  test('lists newest first, of every script or of one, with a limit', () => {
    expect(store.list().map((r) => r.runId)).toEqual(['unfinished', 'check', 'deploy']);
    expect(store.list({ script: '/x/a.sh' }).map((r) => r.runId)).toEqual(['unfinished', 'deploy']);
    expect(store.list({ limit: 1 }).map((r) => r.runId)).toEqual(['unfinished']);
    expect(store.list({ script: '/x/a.sh' })[0].finished).toBe(false);
    expect(store.list({ script: '/x/a.sh' })[0].exitCode).toBeUndefined();
    expect(store.list({ script: '/x/a.sh' })[1]).toMatchObject({ finished: true, exitCode: 0, durationMs: 1200, cwd: '/srv', title: 'Deploy' });
  });

  test('search matches code, title and output, case-insensitively, with % and _ taken literally', () => {
    expect(store.list({ search: 'KUBECTL' }).map((r) => r.runId)).toEqual(['deploy']);
    expect(store.list({ search: 'configured' }).map((r) => r.runId)).toEqual(['deploy']);
    expect(store.list({ search: 'deploy' }).map((r) => r.runId)).toEqual(['deploy']);
    expect(store.list({ search: '50%' }).map((r) => r.runId)).toEqual(['check']);
    expect(store.list({ search: 'of_pods' }).map((r) => r.runId)).toEqual(['check']);
    expect(store.list({ search: 'of-pods' })).toEqual([]);
    expect(store.list({ search: '%' }).map((r) => r.runId)).toEqual(['check']);
  });

  test('clear deletes one script\'s runs, or all', () => {
    const other = HistoryStore.open(join(tmp(), 'h.db'));
    other.begin(meta({ script: '/x/a.sh' }));
    other.begin(meta({ script: '/x/b.sh' }));
    other.begin(meta({ script: '/x/b.sh' }));
    expect(other.clear('/x/b.sh')).toBe(2);
    expect(other.list().map((r) => r.script)).toEqual(['/x/a.sh']);
    expect(other.clear()).toBe(1);
    expect(other.list()).toEqual([]);
    other.close();
  });
});

describe('recording a real session', () => {
  let session: ShellSession;
  beforeAll(async () => {
    session = await ShellSession.start({ cwd: tmpdir() });
  });
  afterAll(() => session.close());

  const record = (store: HistoryStore, limits: { headChars: number; tailChars: number }, maxScriptChars?: number) => {
    const recorder = new HistoryRecorder(store, { script: '/x/rec.sh', shell: 'bash' }, { limits, maxScriptChars });
    const queue = new RunQueue(session, { outputLimits: limits, onRun: (run) => recorder.track(run) });
    const run = async (code: string): Promise<Run> => {
      const r = queue.submit({ code });
      for await (const _ of r.follow(0));
      recorder.flushAll(); // what the timer does within 500 ms
      return r;
    };
    return { recorder, run };
  };

  test('a long run keeps its head and tail, as memory does, with the omitted bytes between', async () => {
    const store = HistoryStore.open(join(tmp(), 'h.db'));
    const limits = { headChars: 2000, tailChars: 8000 };
    const { recorder, run } = record(store, limits);
    const r = await run('seq 1 100000');
    const kept = store.get(r.runId)!;
    expect(kept.output.startsWith('1\n2\n3\n')).toBe(true);
    expect(kept.output.endsWith('99999\n100000\n')).toBe(true);
    const mark = /\[… (\d+) bytes of output omitted …\]/.exec(kept.output);
    expect(mark).not.toBeNull();
    // Everything seq printed is either kept or counted as omitted.
    const printed = Array.from({ length: 100000 }, (_, i) => `${i + 1}\n`).join('').length;
    const keptText = kept.output.replace(/\r\n\x1b\[2m\[… \d+ bytes of output omitted …\]\x1b\[0m\r\n/, '');
    expect(keptText.length + Number(mark![1])).toBe(printed);
    // Whole output events are kept (at most 64 KiB each), as in memory: the head's last one and
    // the tail's newest one may pass the limits.
    expect(keptText.length).toBeLessThanOrEqual(limits.headChars + limits.tailChars + 2 * 64 * 1024);
    expect(keptText.length).toBeLessThan(printed / 2);
    expect(kept).toMatchObject({ finished: true, exitCode: 0, omittedBytes: Number(mark![1]) });
    recorder.close();
  });

  test('past --history-max, the oldest runs of the script are pruned, and its size stays under the maximum', async () => {
    const store = HistoryStore.open(join(tmp(), 'h.db'));
    const { recorder, run } = record(store, { headChars: 1024 * 1024, tailChars: 4 * 1024 * 1024 }, 20_000);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await run(`head -c 3000 /dev/zero | tr '\\0' ${i % 10}; echo`)).runId);
    const left = store.list({ script: '/x/rec.sh', limit: 100 }).map((r) => r.runId);
    expect(store.size('/x/rec.sh')).toBeLessThanOrEqual(20_000);
    expect(left.length).toBeGreaterThanOrEqual(5);
    expect(left.length).toBeLessThan(12);
    // The newest are the ones kept.
    expect(left).toEqual(ids.slice(-left.length).reverse());
    // A run larger than the whole maximum is cut down (its limits scaled to the maximum) and kept.
    const big = await run('seq 1 20000');
    expect(store.list({ script: '/x/rec.sh', limit: 1 })[0].runId).toBe(big.runId);
    expect(store.size('/x/rec.sh')).toBeLessThanOrEqual(20_000 + 2 * 64 * 1024);
    expect(store.list({ script: '/x/rec.sh', limit: 100 })).toHaveLength(1);
    recorder.close();
  });

  test('the file gives pruned runs\' space back: ten runs of 400 KB with a 1 MiB maximum leave the file and its WAL within the README\'s bound', async () => {
    const path = join(tmp(), 'h.db');
    const store = HistoryStore.open(path);
    const max = 1024 * 1024;
    const { recorder, run } = record(store, DEFAULT_OUTPUT_LIMITS, max);
    const onDisk = () => statSync(path).size + (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);
    const sizes: number[] = [];
    for (let i = 0; i < 10; i++) {
      await run(`head -c 409600 /dev/zero | tr '\\0' ${i}`);
      sizes.push(onDisk());
    }
    expect(store.list({ script: '/x/rec.sh', limit: 100 })).toHaveLength(2);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(HISTORY_DISK_BOUND(max));
    recorder.close();
  });

  test('a database that fails mid-session is one warning; the runs go on', async () => {
    const path = join(tmp(), 'h.db');
    const store = HistoryStore.open(path);
    const warnings: string[] = [];
    const recorder = new HistoryRecorder(store, { script: '/x/rec.sh', shell: 'bash' }, { limits: { headChars: 1000, tailChars: 4000 }, warn: (m) => warnings.push(m) });
    const queue = new RunQueue(session, { onRun: (run) => recorder.track(run) });
    store.close(); // every write now fails
    for (const code of ['echo one', 'echo two']) {
      const r = queue.submit({ code });
      let out = '';
      for await (const e of r.follow(0)) if (e.event === 'output') out += e.data.text;
      expect(out).toBe(`${code.slice(5)}\n`);
      recorder.flushAll();
    }
    expect(warnings).toHaveLength(1);
    // better-sqlite3 says "The database connection is not open", node:sqlite "database is not open".
    expect(warnings[0]).toMatch(/^cmdrun: history: could not write to .*h\.db: (The database connection|database) is not open$/);
    expect(existsSync(path)).toBe(true);
  });
});

// One fleet host's output out of a run's log (Run.outputOf) when the log dropped some between its
// head and tail, and the filter of a stream that shows one host (host-output.ts), on a real Run.
import { expect, test } from 'vitest';
import { plainText } from '../../src/runs/format.js';
import { groupHosts, outputFilter } from '../../src/runs/host-output.js';
import { omittedMark, Run, type RunEvent } from '../../src/runs/run.js';

const A = 'ssh://a';
const B = 'ssh://b';

function fleetRun(headChars: number, tailChars: number): Run {
  const run = new Run('r1', { code: 'x' }, { headChars, tailChars });
  run.emit({ event: 'start', data: { runId: 'r1', startedAt: 0 } });
  return run;
}

const out = (run: Run, target: string, text: string) => run.emit({ event: 'output', data: { runId: 'r1', target, text } });

test("a host's output keeps its head and tail, with the mark of what was dropped between them, apart from the other hosts'", () => {
  const run = fleetRun(10, 18);
  out(run, A, 'a-head-1\n'); // 9 characters: the head is full after the next
  out(run, B, 'b-head\n');
  for (let i = 0; i < 5; i++) {
    out(run, A, `a${i}\n`);
    out(run, B, `b${i}\n`);
  }
  // Kept: the head (16 characters, the first event past 10 included), then up to 28 in all: a3 b3 a4 b4.
  const a = run.outputOf(A);
  const b = run.outputOf(B);
  expect(a.text).toBe(`a-head-1\n${omittedMark(9)}a3\na4\n`);
  expect(b.text).toBe(`b-head\n${omittedMark(9)}b3\nb4\n`);
  expect(a.omittedBytes).toBe(9);
  expect(a.lastId).toBe(run.latestId);
  expect(run.outputOf(undefined)).toEqual({ text: '', lastId: run.latestId, omittedBytes: 0 });
  // A host whose every output past the head was dropped: the mark ends its text.
  out(run, B, 'b5\n');
  out(run, B, 'b6\n');
  out(run, B, 'b7\n');
  expect(run.outputOf(A).text).toBe(`a-head-1\n${omittedMark(15)}`);
});

test('a reader that resumes across dropped output gets a mark per host that lost output, naming it, with its own bytes', () => {
  const run = fleetRun(10, 18);
  out(run, A, 'a-head-1\n');
  out(run, B, 'b-head\n');
  for (let i = 0; i < 5; i++) {
    out(run, A, `a${i}\n`);
    out(run, B, `b${i}\n`);
  }
  for (const text of ['a5\n', 'a6\n', 'a7\n']) out(run, A, text); // drop a3, b3, a4: more of A's than of B's
  const events = run.eventsAfter(0).filter((e) => e.event === 'output');
  const marks = events.filter((e) => e.data.text.includes('omitted'));
  const lastDropped = marks[0].id;
  expect(marks.map((e) => [e.id, e.data.target, e.data.text])).toEqual([
    [lastDropped, A, omittedMark(run.outputOf(A).omittedBytes)],
    [lastDropped, B, omittedMark(run.outputOf(B).omittedBytes)],
  ]);
  expect(run.outputOf(A).omittedBytes).toBeGreaterThan(run.outputOf(B).omittedBytes);
  // Each host's events, marks included, give its kept output as /output answers it.
  for (const target of [A, B]) expect(events.filter((e) => e.data.target === target).map((e) => e.data.text).join('')).toBe(run.outputOf(target).text);
  // A reader past the dropped output gets no mark.
  expect(run.eventsAfter(lastDropped).some((e) => e.event === 'output' && e.data.text.includes('omitted'))).toBe(false);
  // A run on one target keeps its one mark without a target, of all the bytes dropped.
  const single = new Run('r2', { code: 'x' }, { headChars: 4, tailChars: 4 });
  for (const text of ['1234', '5678', '9abc', 'defg']) single.emit({ event: 'output', data: { runId: 'r2', text } });
  expect(single.eventsAfter(0).map((e) => (e.event === 'output' ? [e.data.target, e.data.text] : e.event))).toEqual([
    [undefined, '1234'],
    [undefined, omittedMark(8)],
    [undefined, 'defg'],
  ]);
});

test("a stream showing one host: another host's output is one empty event after each of its other events", () => {
  const events: RunEvent[] = [];
  let id = 0;
  const add = (event: string, data: Record<string, unknown>) => events.push({ id: ++id, event, data: { runId: 'r1', ...data } } as RunEvent);
  add('start', { target: B, startedAt: 0 });
  add('output', { target: B, text: 'one' });
  add('output', { target: A, text: 'shown' });
  add('output', { target: B, text: 'two' });
  add('waiting', { target: B });
  add('output', { target: B, text: 'three' });
  add('output', { target: B, text: 'four' });
  add('output', { text: 'no target' });
  const filter = outputFilter(A);
  const sent = events.map(filter).filter((e) => e !== undefined);
  expect(sent.map((e) => [e.id, e.event, (e.data as { text?: string }).text])).toEqual([
    [1, 'start', undefined],
    [2, 'output', ''],
    [3, 'output', 'shown'],
    [5, 'waiting', undefined],
    [6, 'output', ''],
    [8, 'output', 'no target'],
  ]);
});

test('the groups follow each host\'s kept output as it grows and as the run drops some of it', () => {
  const run = fleetRun(4, 16);
  run.fleet = { on: `${A},${B}`, label: '2 hosts', hosts: [{ target: A }, { target: B }] };
  const groups = () => groupHosts(run)!.map((g) => `${g.hostList} ${g.outcome}: ${JSON.stringify(g.output)}`);
  out(run, A, 'same\n');
  out(run, B, 'same\n');
  expect(groups()).toEqual(['a,b running: "same"']);
  out(run, A, 'more\n');
  expect(groups()).toEqual(['a running: "same\\nmore"', 'b running: "same"']);
  run.emit({ event: 'end', data: { runId: 'r1', target: B, exitCode: 2, durationMs: 1, cwd: '/', interrupted: false, sessionRestarted: false, unreachable: false } });
  expect(groups()).toEqual(['b failed 2: "same"', 'a running: "same\\nmore"']);
  // B's output pushes the oldest output past the head (B's 'same', A's 'more') out of the 20
  // characters kept: A's text gets the mark, though A printed nothing since.
  for (let i = 0; i < 4; i++) out(run, B, `b${i}\n`);
  expect(groups()).toEqual([
    `b failed 2: ${JSON.stringify(plainText(`${omittedMark(5)}b0\nb1\nb2\nb3\n`))}`,
    `a running: ${JSON.stringify(plainText(`same\n${omittedMark(5)}`))}`,
  ]);
  expect(groupHosts(new Run('r2', { code: 'x' }))).toBeUndefined();
});

/**
 * Where the page reads a fleet run's hosts' output (README "Fleets", HTTP API): from the server
 * while it keeps the run (GET /api/runs/:runId/output?target=, /groups), from the history once it
 * no longer does (GET /api/history/:runId). The run's event stream carries only the shown host's
 * output (web/runs.ts), so the page never holds more than that host's.
 */
import type { HistoryFleetRun } from '../src/history/fleet-history.js';
import type { TargetGroup } from '../src/runs/host-output.js';
import { ApiError, type Api } from './api.js';

/** A host's output so far: its text, and the id of the run's newest event it includes. */
export interface ShownOutput {
  text: string;
  lastId: number;
}

/** A fleet run's hosts' output, read on demand (the fleet panel's view of it). */
export interface LiveOutputs {
  /**
   * Shows host `target` from now on (the run's stream carries its output after `lastId`): what it
   * printed so far; undefined when the server no longer keeps the run.
   * @throws Error when the server could not be asked
   */
  show(target: string): Promise<ShownOutput | undefined>;
  /**
   * Every host's output grouped by identical text and outcome, each group's cut to its last `lines`
   * lines (`omittedLines` before them); undefined as for show.
   */
  groups(lines: number): Promise<TargetGroup[] | undefined>;
  /** The run as the history has it, once the server no longer keeps it; undefined when the history does not have it. */
  history(): Promise<HistoryFleetRun | undefined>;
}

/** True for the server's answer that it no longer keeps the run. */
const gone = (err: unknown) => err instanceof ApiError && err.status === 404;

/**
 * The live outputs of fleet run `runId`; `shown(target, throughId)` is called once host `target`'s
 * output so far is known (through event `throughId`), for the run's stream to carry that host's
 * output after it.
 */
export function liveOutputs(api: Api, runId: string, shown: (target: string, throughId: number) => void): LiveOutputs {
  const run = `/api/runs/${encodeURIComponent(runId)}`;
  /** Counts the choices: the stream follows the newest, whatever order the answers come in. */
  let choices = 0;
  return {
    async show(target) {
      const choice = ++choices;
      try {
        const answer = await api.json<ShownOutput>('GET', `${run}/output?target=${encodeURIComponent(target)}`);
        if (choice === choices) shown(target, answer.lastId);
        return answer;
      } catch (err) {
        if (gone(err)) return undefined;
        throw err;
      }
    },
    async groups(lines) {
      try {
        return (await api.json<{ groups: TargetGroup[] }>('GET', `${run}/groups?lines=${lines}`)).groups;
      } catch (err) {
        if (gone(err)) return undefined;
        throw err;
      }
    },
    async history() {
      try {
        const found = await api.json<HistoryFleetRun | { hosts?: undefined }>('GET', `/api/history/${encodeURIComponent(runId)}`);
        return found.hosts ? (found as HistoryFleetRun) : undefined;
      } catch (err) {
        if (gone(err)) return undefined;
        throw err;
      }
    },
  };
}

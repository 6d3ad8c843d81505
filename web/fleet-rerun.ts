/**
 * Re-run failed (a fleet panel's button, a fleet block's ⋯ menu): one request,
 * POST /api/runs/:runId/rerun-failed, makes a new fleet run of the same code on the hosts of run
 * `runId` that failed, were interrupted or could not be reached; its panel takes the old one's place.
 */
import type { Api } from './api.js';
import { newRunId } from './page-util.js';
import type { PageRun } from './runs.js';

/** What a re-run needs of the page. */
export interface RerunDeps {
  api: Api;
  /** A new panel for run `runId` in the place of `old`'s panel (under its block, or apart). */
  panelInPlaceOf(old: PageRun, runId: string): PageRun;
  /**
   * Runs `post` after the page's other posts (the server queues runs in the order asked) and
   * follows the run it resolves with.
   */
  enqueue(post: () => Promise<PageRun | undefined>): void;
  /** Says something in the status bar. */
  say(message: string): void;
}

/**
 * Re-runs the failed hosts of `old` as a new run id of the page's (a network error is retried with
 * it: the server never runs it twice). Its panel is made once the server answered, so a refusal
 * (say, no host failed) leaves the old panel and is said in the status bar.
 */
export function rerunFailed(deps: RerunDeps, old: PageRun): void {
  deps.enqueue(async () => {
    try {
      const { runId } = await deps.api.postRun<{ runId: string }>(`/api/runs/${encodeURIComponent(old.runId)}/rerun-failed`, { cols: old.view.cols, runId: newRunId() });
      return deps.panelInPlaceOf(old, runId);
    } catch (err) {
      deps.say(`Re-run failed: ${(err as Error).message}`);
      return undefined;
    }
  });
}

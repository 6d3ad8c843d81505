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
  /** Queues the request after the page's other posts and follows the run once `post` resolves true. */
  enqueue(run: PageRun, post: () => Promise<boolean>): void;
}

/** Re-runs the failed hosts of `old`; a refusal (say, no host failed) shows in the new panel. */
export function rerunFailed(deps: RerunDeps, old: PageRun): PageRun {
  const run = deps.panelInPlaceOf(old, newRunId());
  deps.enqueue(run, async () => {
    try {
      // The client's runId makes a retried request attach to the same run, as POST /api/runs does.
      await deps.api.json('POST', `/api/runs/${encodeURIComponent(old.runId)}/rerun-failed`, { runId: run.runId, cols: run.view.cols });
      return true;
    } catch (err) {
      run.view.failed((err as Error).message);
      return false;
    }
  });
  return run;
}

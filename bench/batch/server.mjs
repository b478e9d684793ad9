// bench/batch's server for the scenarios that change what no setting offers (per-record: provider batching off;
// tuned: a faster feeder, a larger batch hold): `statusflow start` from the build (dist/), with the worker and
// feeder options of $BENCH_TUNING (JSON `{worker, feeder}`) — the same code as `node dist/cli/main.js start`
// otherwise. The default scenarios (batched, limited, slow) run `node dist/cli/main.js start` itself.
import { loadConfig } from '../../dist/config.js';
import { start } from '../../dist/cli/start.js';

await start(loadConfig(), JSON.parse(process.env.BENCH_TUNING ?? '{}'));

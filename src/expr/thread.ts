import { Worker } from 'node:worker_threads';
import type { WorkerConfig } from './protocol.js';

/** The worker module beside this one: `.ts` under tsx (tests, dev), `.js` from `dist/`. */
const TYPESCRIPT = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(`./worker${TYPESCRIPT ? '.ts' : '.js'}`, import.meta.url);
/**
 * Node 20 does not apply the main thread's loader hooks to workers, so under tsx a small
 * bootstrap registers tsx inside the worker before importing the `.ts` entry. (It is evaluated
 * as a script or as a module, depending on the parent's --input-type, so it only uses import().)
 */
const TSX_BOOTSTRAP = `import('node:worker_threads').then(async ({ workerData }) => {
  (await import(workerData.loader)).register();
  await import(workerData.entry);
});`;

/** Start an evaluation worker with a capped heap (old generation; V8 sizes the young one from it) and stack. */
export function startWorker(config: WorkerConfig, maxMemoryMb: number): Worker {
  const bootstrap = TYPESCRIPT ? { loader: import.meta.resolve('tsx/esm/api'), entry: WORKER_URL.href } : {};
  const worker = new Worker(TYPESCRIPT ? TSX_BOOTSTRAP : WORKER_URL, {
    eval: TYPESCRIPT,
    workerData: { ...config, ...bootstrap },
    resourceLimits: { maxOldGenerationSizeMb: maxMemoryMb, stackSizeMb: 4 },
  });
  return worker;
}

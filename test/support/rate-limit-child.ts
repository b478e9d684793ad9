/**
 * A separate process taking slots of one connection's rate limit on Postgres (test/engine/rate-limiter.test.ts):
 * argv[2] is JSON `{url, schema, orgId, connection, count, concurrency, limit, startAt}`. Waits until
 * `startAt` (epoch ms) so that several children begin together, then prints the slot times as JSON.
 */
import { sql } from 'kysely';
import { openDatabase } from '../../src/store/db.js';
import { RateLimiter, type RateLimit } from '../../src/engine/rate-limiter.js';

interface Job {
  url: string;
  schema: string;
  orgId: string;
  connection: string;
  count: number;
  concurrency: number;
  limit: RateLimit;
  startAt: number;
}

const job = JSON.parse(process.argv[2]!) as Job;
const database = openDatabase({ dialect: 'postgres', url: job.url, schema: job.schema, poolSize: 4 });
const limiter = new RateLimiter(database);
// Open the pool's connections before the start, so the first slots are not spread out by connecting.
await Promise.all(Array.from({ length: 4 }, () => database.db.transaction().execute((trx) => sql`SELECT pg_sleep(0.05)`.execute(trx))));
await new Promise((r) => setTimeout(r, Math.max(0, job.startAt - Date.now())));
const slots: number[] = [];
let started = 0;
await Promise.all(
  Array.from({ length: job.concurrency }, async () => {
    while (started < job.count) {
      started++;
      slots.push(await limiter.acquire(job.orgId, job.connection, job.limit));
    }
  }),
);
await database.close();
process.stdout.write(JSON.stringify(slots));

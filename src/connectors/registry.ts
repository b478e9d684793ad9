/** Every task kind, by name. The definitions parser validates with it; the executor runs with it. */
import type { TaskKind } from './types.js';
import { httpRequest } from './http/request.js';
import { entityUpdate } from './entity/update.js';
import { entityCreate } from './entity/create.js';
import { delay } from './flow/delay.js';
import { hubspotUpsert } from './hubspot/upsert.js';
import { hubspotAssociate } from './hubspot/associate.js';
import { dropboxUpload } from './dropbox/upload.js';

const ALL: readonly TaskKind<never>[] = [httpRequest, entityUpdate, entityCreate, delay, hubspotUpsert, hubspotAssociate, dropboxUpload];

export const TASK_KINDS: ReadonlyMap<string, TaskKind> = new Map(ALL.map((k) => [k.kind, k as unknown as TaskKind]));

/**
 * `entity.create`: creates an entity (of any type) through the full save pipeline, caused by this run.
 * Its runs see the new entity's id in `tasks.<key>.output.id`.
 */
import { z } from 'zod';
import { key } from '../../domain/schema-kit.js';
import type { TaskKind } from '../types.js';
import { attributesOf, save, type EntitySaveOutput } from './save.js';

const expression = z.string().min(1).max(10_000);

export const EntityCreateInputSchema = z.strictObject({
  /** Entity type key (a literal). */
  entityType: key,
  /** Expression giving an object of attributes (or an object whose string values are expressions). */
  attributes: z.union([expression, z.record(z.string(), z.json())], { error: 'must be an expression (text) or an object' }),
  /** Initial status key (a literal); the type's initial status when left out. */
  status: key.optional(),
});

export interface EntityCreateInput {
  entityType: string;
  attributes: unknown;
  status?: string;
}

export const entityCreate: TaskKind<EntityCreateInput> = {
  kind: 'entity.create',
  inputSchema: EntityCreateInputSchema,
  expressionFields: ['attributes'],
  async run(input, ctx): Promise<EntitySaveOutput> {
    const body: { attributes: Record<string, unknown>; status?: string } = { attributes: attributesOf(input.attributes) };
    if (input.status !== undefined) body.status = input.status;
    return save(() => ctx.entities.create(input.entityType, body));
  },
};

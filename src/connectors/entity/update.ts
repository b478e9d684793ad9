/**
 * `entity.update`: saves the run's entity through the full save pipeline (requirements, transitions,
 * triggers), caused by this run so loop protection applies. Repeating it sets the same values again.
 */
import { z } from 'zod';
import { key } from '../../domain/schema-kit.js';
import type { TaskKind } from '../types.js';
import { attributesOf, save, type EntitySaveOutput } from './save.js';

const expression = z.string().min(1).max(10_000);

export const EntityUpdateInputSchema = z
  .strictObject({
    /** Expression giving an object of attributes (or an object whose string values are expressions). */
    attributes: z.union([expression, z.record(z.string(), z.json())], { error: 'must be an expression (text) or an object' }).optional(),
    /** Status key to move to (a literal, not an expression). */
    status: key.optional(),
  })
  .refine((i) => i.attributes !== undefined || i.status !== undefined, { message: 'needs attributes, status or both', params: { code: 'required' } });

export interface EntityUpdateInput {
  attributes?: unknown;
  status?: string;
}

export const entityUpdate: TaskKind<EntityUpdateInput> = {
  kind: 'entity.update',
  inputSchema: EntityUpdateInputSchema,
  expressionFields: ['attributes'],
  async run(input, ctx): Promise<EntitySaveOutput> {
    const change: { attributes?: Record<string, unknown>; status?: string } = {};
    // Present but evaluated to nothing, or dropped by the evaluator with no status either: both are input errors.
    if ('attributes' in input || input.status === undefined) change.attributes = attributesOf(input.attributes);
    if (input.status !== undefined) change.status = input.status;
    return save(() => ctx.entities.update(change));
  },
};

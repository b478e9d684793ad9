/**
 * The shapes of a parsed entity type definition (API.md "Entity types"). A module of their own so that
 * the modules working on definitions (attributes, transitions, the parser in entity-type.ts) can all
 * import them without importing each other: no import cycle in src/domain, type-only included
 * (test/lint-guard.test.ts).
 */

export const ATTRIBUTE_TYPES = ['string', 'number', 'integer', 'boolean', 'date', 'datetime', 'enum', 'json'] as const;
export type AttributeType = (typeof ATTRIBUTE_TYPES)[number];

export interface AttributeDef {
  key: string;
  type: AttributeType;
  name?: string;
  description?: string;
  required: boolean;
  default?: unknown;
  /** Only for `enum`: the allowed values. */
  values?: string[];
}
export interface StatusDef { key: string; name: string; initial: boolean }
export interface RequirementDef { key: string; condition: string; message: string; enforce: boolean }
export interface TransitionDef { from: string[]; to: string; when: string[]; whenFailing: string[]; auto: boolean }
export interface EntityTypeDefinition {
  name: string;
  description?: string;
  attributes: AttributeDef[];
  statuses: StatusDef[];
  requirements: RequirementDef[];
  transitions: TransitionDef[];
}

/** Checks one expression; `knownFields` are the attribute keys (for unknown-field warnings). */
export type ExpressionChecker = (
  source: string,
  knownFields: readonly string[],
) => {
  errors: Array<{ code: string; message: string; position?: number; line?: number; column?: number; caret?: string }>;
  warnings: Array<{ code: string; message: string }>;
};

/**
 * Entity type definitions: the validation + normalisation of a PUT body (the types are in ./definitions.ts)
 * (see API.md "Entity types"). Expressions are checked by an injected function.
 */
import { z } from 'zod';
import { invalid, type FieldIssue } from './errors.js';
import { RESERVED_ATTRIBUTE_KEYS } from './keys.js';
import { validateAttributeValue } from './attributes.js';
import { fromZod, isRecord, key, text } from './schema-kit.js';
import { findAutoTransitionCycles } from './transitions.js';
import { ATTRIBUTE_TYPES, type EntityTypeDefinition, type ExpressionChecker, type TransitionDef } from './definitions.js';

// The definition types live in ./definitions.ts; re-exported for the modules that import them from here.
export { ATTRIBUTE_TYPES, type AttributeDef, type AttributeType, type EntityTypeDefinition, type ExpressionChecker, type RequirementDef, type StatusDef, type TransitionDef } from './definitions.js';
export { initialStatus } from './transitions.js';

export const ENTITY_TYPE_LIMITS = {
  attributes: 500, statuses: 100, requirements: 500, transitions: 1000,
  enumValues: 1000, name: 500, description: 5000, condition: 10_000,
} as const;
const L = ENTITY_TYPE_LIMITS;

const ref = text(L.name);

const TopSchema = z.strictObject({
  name: text(L.name, 1),
  description: text(L.description).optional(),
  attributes: z.array(z.unknown()).max(L.attributes).optional(),
  statuses: z.array(z.unknown()).max(L.statuses),
  requirements: z.array(z.unknown()).max(L.requirements).optional(),
  transitions: z.array(z.unknown()).max(L.transitions).optional(),
});
const AttributeSchema = z.strictObject({
  key,
  type: z.enum(ATTRIBUTE_TYPES),
  name: text(L.name, 1).optional(),
  description: text(L.description).optional(),
  required: z.boolean().optional(),
  default: z.unknown().optional(),
  values: z.array(text(L.name, 1)).max(L.enumValues).optional(),
});
const StatusSchema = z.strictObject({ key, name: text(L.name, 1).optional(), initial: z.boolean().optional() });
const RequirementSchema = z.strictObject({
  key,
  condition: text(L.condition, 1),
  message: text(L.name, 1),
  enforce: z.boolean().optional(),
});
const TransitionSchema = z.strictObject({
  from: z.array(ref).min(1).max(L.statuses),
  to: ref,
  when: z.array(ref).max(L.requirements).optional(),
  whenFailing: z.array(ref).max(L.requirements).optional(),
  auto: z.boolean().optional(),
});

/**
 * The PUT body as one schema, made of the pieces the parser below checks section by section (one bad
 * element must not hide the others' problems). The API documents the body with it (api/schemas/).
 */
export const EntityTypeBodySchema = TopSchema.extend({
  attributes: z.array(AttributeSchema).max(L.attributes).optional(),
  statuses: z.array(StatusSchema).max(L.statuses),
  requirements: z.array(RequirementSchema).max(L.requirements).optional(),
  transitions: z.array(TransitionSchema).max(L.transitions).optional(),
});

/**
 * Validates and normalises (fills defaults) an entity type PUT body. Throws AppError
 * ENTITY_TYPE_INVALID (EXPRESSION_INVALID when the only problems are expressions) with
 * `details.fields` listing every problem found (paths like `requirements[1].condition`).
 * Returns the expressions' warnings (e.g. unknown fields) as FieldIssues.
 */
export function parseEntityTypeDefinition(
  body: unknown,
  checkExpression: ExpressionChecker,
): { definition: EntityTypeDefinition; warnings: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const warnings: FieldIssue[] = [];
  const add = (path: string, code: string, message: string, extra: Record<string, unknown> = {}): void => {
    issues.push({ path, code, message, ...extra });
  };
  const top = TopSchema.safeParse(body);
  if (!top.success) issues.push(...fromZod(top.error, [], body, Object.keys(TopSchema.shape)));
  if (!isRecord(body)) throw invalid('ENTITY_TYPE_INVALID', issues);

  // Each element is parsed on its own so that one bad element does not hide the others' problems.
  // Invalid elements are undefined; their keys still count as declared (no knock-on "unknown" issues).
  function section<T extends z.ZodType>(name: string, schema: T & { shape: object }, max: number) {
    const raw = body as Record<string, unknown>;
    const list = Array.isArray(raw[name]) && raw[name].length <= max ? (raw[name] as unknown[]) : [];
    const parsed = list.map((el, i): z.output<T> | undefined => {
      const r = schema.safeParse(el);
      if (!r.success) issues.push(...fromZod(r.error, [name, i], el, Object.keys(schema.shape)));
      return r.success ? r.data : undefined;
    });
    const keys = list.map((el) => (isRecord(el) && typeof el.key === 'string' ? el.key : undefined));
    keys.forEach((k, i) => {
      const first = keys.indexOf(k);
      if (k !== undefined && first < i) add(`${name}[${i}].key`, 'duplicate', `"${k}" is already used by ${name}[${first}]`);
    });
    return { parsed, declared: new Set(keys.filter((k) => k !== undefined)), complete: parsed.every((p) => p !== undefined) };
  }
  const attributes = section('attributes', AttributeSchema, L.attributes);
  const statuses = section('statuses', StatusSchema, L.statuses);
  const requirements = section('requirements', RequirementSchema, L.requirements);
  const transitions = section('transitions', TransitionSchema, L.transitions);

  attributes.parsed.forEach((a, i) => {
    if (!a) return;
    const p = `attributes[${i}]`;
    if (RESERVED_ATTRIBUTE_KEYS.includes(a.key)) {
      add(`${p}.key`, 'reserved_key', `"${a.key}" is a name of the expression context (${RESERVED_ATTRIBUTE_KEYS.join(', ')})`);
    }
    let valuesOk = true;
    if (a.type === 'enum' && !a.values?.length) {
      valuesOk = false;
      add(`${p}.values`, 'values_required', 'an enum attribute needs a non-empty list of values');
    } else if (a.type !== 'enum' && a.values) {
      add(`${p}.values`, 'values_not_allowed', 'only enum attributes have values');
    }
    a.values?.forEach((v, j) => {
      if (a.values!.indexOf(v) < j) {
        valuesOk = false;
        add(`${p}.values[${j}]`, 'duplicate', `${JSON.stringify(v)} is listed twice`);
      }
    });
    if (a.default === undefined || !valuesOk) return;
    const problem = a.default === null
      ? { code: 'type', message: 'must not be null (leave default out instead)' }
      : validateAttributeValue({ ...a, required: false }, a.default);
    if (problem) add(`${p}.default`, 'invalid_default', `is not a valid ${a.type} value: ${problem.message}`, { reason: problem.code });
  });

  const initials = statuses.parsed.flatMap((s, i) => (s?.initial ? [i] : []));
  if (Array.isArray(body.statuses) && body.statuses.length === 0) add('statuses', 'no_statuses', 'at least one status is needed');
  else if (initials.length === 0 && statuses.complete && statuses.parsed.length > 0) {
    add('statuses', 'no_initial_status', 'exactly one status must have "initial": true');
  }
  for (const i of initials.slice(1)) {
    add(`statuses[${i}].initial`, 'multiple_initial_statuses', `only one status may be initial; statuses[${initials[0]}] already is`);
  }

  const knownFields = [...attributes.declared];
  const expressionIssues = new Set<FieldIssue>();
  requirements.parsed.forEach((r, i) => {
    if (!r) return;
    const path = `requirements[${i}].condition`;
    let result: ReturnType<ExpressionChecker>;
    try {
      result = checkExpression(r.condition, knownFields);
    } catch (e) {
      result = { errors: [{ code: 'expression', message: `could not be checked: ${e instanceof Error ? e.message : String(e)}` }], warnings: [] };
    }
    // Sub-codes are the expression checker's own codes (as everywhere else in the API).
    for (const { code, message, ...where } of result.errors) {
      const pos = where.line !== undefined ? ` (line ${where.line}, column ${where.column ?? '?'})` : '';
      const extra = Object.fromEntries(Object.entries(where).filter(([, v]) => v !== undefined));
      add(path, code, message + pos, extra);
      expressionIssues.add(issues[issues.length - 1]!);
    }
    for (const w of result.warnings) warnings.push({ path, code: w.code, message: w.message });
  });

  const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));
  const usable = transitions.parsed.map((t, i) => {
    if (!t) return undefined;
    const p = `transitions[${i}]`;
    const before = issues.length;
    const refs = (list: readonly string[], at: string, declared: Set<string>, code: string, what: string): void =>
      list.forEach((k, j) => {
        if (list.indexOf(k) < j) add(`${at}[${j}]`, 'duplicate', `"${k}" is listed twice`);
        else if (!declared.has(k)) add(`${at}[${j}]`, code, `"${k}" is not a ${what} of this entity type`);
      });
    const when = t.when ?? [];
    const whenFailing = t.whenFailing ?? [];
    refs(t.from, `${p}.from`, statuses.declared, 'unknown_status', 'status');
    if (!statuses.declared.has(t.to)) add(`${p}.to`, 'unknown_status', `"${t.to}" is not a status of this entity type`);
    else if (t.from.includes(t.to)) add(`${p}.to`, 'self_transition', `"${t.to}" is also in from; a transition must change the status`);
    refs(when, `${p}.when`, requirements.declared, 'unknown_requirement', 'requirement');
    refs(whenFailing, `${p}.whenFailing`, requirements.declared, 'unknown_requirement', 'requirement');
    whenFailing.forEach((k, j) => {
      if (when.includes(k)) add(`${p}.whenFailing[${j}]`, 'conflicting_requirement', `"${k}" is also in when; the transition could never be taken`);
    });
    const earlier = transitions.parsed.findIndex(
      (u, j) => j < i && u !== undefined && u.to === t.to && u.from.some((f) => t.from.includes(f)) &&
        sameSet(u.when ?? [], when) && sameSet(u.whenFailing ?? [], whenFailing),
    );
    if (earlier >= 0) add(p, 'duplicate_transition', `repeats transitions[${earlier}] (same target, source status and requirements)`);
    const def: TransitionDef = { from: t.from, to: t.to, when, whenFailing, auto: t.auto ?? false };
    return issues.slice(before).some((x) => x.code !== 'duplicate_transition') ? undefined : def;
  });
  for (const c of findAutoTransitionCycles(usable)) {
    const loop = [...c.statuses, c.statuses[0]].join(' → ');
    const cond = [...c.passing.map((k) => `${k} passes`), ...c.failing.map((k) => `${k} fails`)].join(' and ');
    if (c.undecided) {
      add('transitions', 'auto_transitions_too_complex', `the auto transitions between ${c.statuses.join(', ')} involve too many requirements to be checked for loops`, { statuses: c.statuses });
    } else {
      add('transitions', 'auto_transition_cycle', `auto transitions can loop forever: ${loop}${cond ? ` (when ${cond})` : ''}`, {
        statuses: c.statuses, transitions: c.transitions, passing: c.passing, failing: c.failing,
      });
    }
  }

  if (issues.length > 0 || !top.success) {
    throw invalid(issues.every((x) => expressionIssues.has(x)) ? 'EXPRESSION_INVALID' : 'ENTITY_TYPE_INVALID', issues);
  }
  const t = top.data;
  const definition: EntityTypeDefinition = {
    name: t.name,
    ...(t.description !== undefined && { description: t.description }),
    attributes: attributes.parsed.map((a) => ({
      key: a!.key,
      type: a!.type,
      ...(a!.name !== undefined && { name: a!.name }),
      ...(a!.description !== undefined && { description: a!.description }),
      required: a!.required ?? false,
      ...(a!.default !== undefined && { default: a!.default }),
      ...(a!.values !== undefined && { values: a!.values }),
    })),
    statuses: statuses.parsed.map((s) => ({ key: s!.key, name: s!.name ?? s!.key, initial: s!.initial ?? false })),
    requirements: requirements.parsed.map((r) => ({ key: r!.key, condition: r!.condition, message: r!.message, enforce: r!.enforce ?? false })),
    transitions: usable.map((x) => x!),
  };
  return { definition, warnings };
}

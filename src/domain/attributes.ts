/**
 * Attribute values: validation against an entity type's attribute definitions, and merging of
 * a create body or a PATCH partial into the stored attributes (step 1 of the save pipeline).
 */
import { invalid, type FieldIssue } from './errors.js';
import type { AttributeDef, EntityTypeDefinition } from './definitions.js';

/** Longest string value, in UTF-8 bytes. */
export const MAX_STRING_BYTES = 64 * 1024;
/** Deepest nesting of arrays/objects inside a `json` attribute (the top-level container is depth 1). */
export const MAX_JSON_DEPTH = 32;

// U+0000, or a surrogate that is not part of a pair (Postgres rejects both in text and jsonb).
const BAD_STRING = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when `s` holds no U+0000 and no lone surrogate. */
export function isCleanString(s: string): boolean {
  return !BAD_STRING.test(s);
}

/** Length of `s` in UTF-8 bytes (surrogate pairs count 4). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

function isCalendarDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0;
  return d <= days;
}

function isDate(s: string): boolean {
  const m = DATE.exec(s);
  return m !== null && isCalendarDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

function isDateTime(s: string): boolean {
  const m = DATETIME.exec(s);
  if (!m || !isCalendarDate(Number(m[1]), Number(m[2]), Number(m[3]))) return false;
  const n = (i: number): number => Number(m[i] ?? 0);
  return n(4) <= 23 && n(5) <= 59 && n(6) <= 59 && n(7) <= 23 && n(8) <= 59; // hh mm ss, zone hh mm
}

function stringIssue(path: string, s: string): FieldIssue | null {
  if (!isCleanString(s)) {
    return { path, code: 'invalid_string', message: 'must not contain U+0000 or unpaired surrogate characters' };
  }
  if (s.length > MAX_STRING_BYTES / 3 && utf8Length(s) > MAX_STRING_BYTES) {
    return { path, code: 'too_large', message: `must be at most ${MAX_STRING_BYTES} bytes (UTF-8)` };
  }
  return null;
}

/** True for `{…}` objects (what JSON.parse makes), false for arrays, null, class instances. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The JSON pointer of `trail` inside an attribute ("" for the value itself). */
function pointer(trail: ReadonlyArray<string | number>): string {
  let at = '';
  for (const step of trail) at += `/${typeof step === 'number' ? step : step.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  return at;
}

/** `issue` at `trail` inside the attribute: the pointer is added to the message and as `at`. */
function located(issue: FieldIssue, trail: ReadonlyArray<string | number>): FieldIssue {
  const at = pointer(trail);
  return { ...issue, message: issue.message + (at === '' ? '' : ` (at ${at})`), at };
}

/** Checks that `v` is a JSON value; `trail` is the way from the attribute to `v` (built into a pointer only for an issue). */
function jsonIssue(path: string, v: unknown, trail: Array<string | number>): FieldIssue | null {
  if (v === null || typeof v === 'boolean') return null;
  if (typeof v === 'number') {
    return Number.isFinite(v) ? null : located({ path, code: 'type', message: 'must be a JSON value: numbers must be finite' }, trail);
  }
  if (typeof v === 'string') {
    const issue = stringIssue(path, v);
    return issue && located(issue, trail);
  }
  if (!Array.isArray(v) && !isPlainObject(v)) return located({ path, code: 'type', message: 'must be a JSON value' }, trail);
  if (trail.length >= MAX_JSON_DEPTH) {
    return located({ path, code: 'too_large', message: `must not nest arrays/objects more than ${MAX_JSON_DEPTH} deep` }, trail);
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      trail.push(i);
      const issue = jsonIssue(path, v[i], trail);
      trail.pop();
      if (issue) return issue;
    }
    return null;
  }
  for (const k of Object.keys(v)) {
    if (!isCleanString(k)) {
      return located({ path, code: 'invalid_string', message: 'object keys must not contain U+0000 or unpaired surrogates' }, trail);
    }
    trail.push(k);
    const issue = jsonIssue(path, v[k], trail);
    trail.pop();
    if (issue) return issue;
  }
  return null;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function typeIssue(path: string, message: string, value: unknown): FieldIssue {
  return { path, code: 'type', message: `${message}, got ${describe(value)}` };
}

/** Checks one (present, non-null) value against its attribute definition; null means valid. */
export function validateAttributeValue(attr: AttributeDef, value: unknown): FieldIssue | null {
  const path = `attributes.${attr.key}`;
  if (value === null || value === undefined) {
    return { path, code: 'type', message: 'must not be null (leave the attribute out instead)' };
  }
  switch (attr.type) {
    case 'string':
      return typeof value === 'string' ? stringIssue(path, value) : typeIssue(path, 'must be a string', value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : typeIssue(path, 'must be a finite number', value);
    case 'integer':
      return Number.isSafeInteger(value) ? null : typeIssue(path, 'must be an integer between -(2^53-1) and 2^53-1', value);
    case 'boolean':
      return typeof value === 'boolean' ? null : typeIssue(path, 'must be true or false', value);
    case 'date':
      if (typeof value !== 'string') return typeIssue(path, 'must be a date string (YYYY-MM-DD)', value);
      return isDate(value) ? null : { path, code: 'format', message: 'must be a real calendar date written YYYY-MM-DD' };
    case 'datetime':
      if (typeof value !== 'string') return typeIssue(path, 'must be a date-time string', value);
      return isDateTime(value)
        ? null
        : { path, code: 'format', message: 'must be an ISO 8601 date-time with a zone, e.g. 2025-01-31T09:30:00Z or …+02:00' };
    case 'enum': {
      const values = attr.values ?? [];
      if (typeof value === 'string' && values.includes(value)) return null;
      return { path, code: 'enum', message: `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`, allowed: values };
    }
    case 'json':
      return jsonIssue(path, value, []);
  }
}

/** Deep equality of JSON values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra);
  if (ka.length !== Object.keys(rb).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && jsonEqual(ra[k], rb[k]));
}

/**
 * Validates a create body's or a PATCH's `attributes` against the definition and merges it.
 * `null` in a patch removes the attribute; defaults fill missing attributes on create; required
 * attributes must be present in the result on create and update. Attributes stored earlier that
 * the definition no longer declares are kept as they are.
 * Throws AppError ATTRIBUTES_INVALID listing every problem (paths `attributes.<key>`; sub-codes
 * unknown, type, required, enum, format, invalid_string, too_large, not_object).
 * `changed` lists, sorted, the keys whose value differs from `current`.
 */
export function applyAttributePatch(
  def: EntityTypeDefinition,
  current: Record<string, unknown> | undefined,
  patch: unknown,
  mode: 'create' | 'update',
): { attributes: Record<string, unknown>; changed: string[] } {
  if (patch !== undefined && !isPlainObject(patch)) {
    throw invalid('ATTRIBUTES_INVALID', [{ path: 'attributes', code: 'not_object', message: `must be an object, got ${describe(patch)}` }]);
  }
  const find = attributeFinder(def.attributes);
  const issues: FieldIssue[] = [];
  const merged: Record<string, unknown> = mode === 'create' ? {} : { ...current };
  const values = (patch ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(values)) {
    const value = values[key];
    const attr = find(key);
    if (!attr) {
      issues.push({ path: `attributes.${key}`, code: 'unknown', message: `is not an attribute of ${def.name}` });
      continue;
    }
    if (value === undefined) continue;
    if (value === null) {
      delete merged[key];
      continue;
    }
    const issue = validateAttributeValue(attr, value);
    if (issue) issues.push(issue);
    else merged[key] = value;
  }
  for (const attr of def.attributes) {
    const missing = merged[attr.key] === undefined || merged[attr.key] === null;
    if (missing && mode === 'create' && attr.default !== undefined && attr.default !== null) {
      merged[attr.key] = typeof attr.default === 'object' ? structuredClone(attr.default) : attr.default;
    } else if (missing && attr.required && !issues.some((i) => i.path === `attributes.${attr.key}`)) {
      issues.push({ path: `attributes.${attr.key}`, code: 'required', message: 'is required' });
    }
  }
  if (issues.length > 0) throw invalid('ATTRIBUTES_INVALID', issues);
  // Nothing before: every attribute is a change (merged never holds undefined).
  if (current === undefined) return { attributes: merged, changed: Object.keys(merged).sort() };
  const changed: string[] = [];
  for (const k of Object.keys(current)) if (!jsonEqual(current[k], merged[k])) changed.push(k);
  for (const k of Object.keys(merged)) if (!Object.prototype.hasOwnProperty.call(current, k) && !jsonEqual(undefined, merged[k])) changed.push(k);
  return { attributes: merged, changed: changed.sort() };
}

/** Looks attribute definitions up by key: a scan for the usual handful, a map for many. */
function attributeFinder(attributes: readonly AttributeDef[]): (key: string) => AttributeDef | undefined {
  if (attributes.length > 16) {
    const byKey = new Map(attributes.map((a) => [a.key, a]));
    return (key) => byKey.get(key);
  }
  return (key) => {
    for (const a of attributes) if (a.key === key) return a;
    return undefined;
  };
}

/**
 * API process definitions (API.md "Processes"): validation and normalisation of a PUT body against
 * the entity type, the registry of task kinds and the expression checker (all injected).
 */
import { z } from 'zod';
import { invalid, type FieldIssue } from './errors.js';
import type { EntityTypeDefinition, ExpressionChecker } from './definitions.js';
import { fromZod, isRecord, key, text } from './schema-kit.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';

export interface TaskDef {
  key: string;
  kind: string;
  /** Connection key, for task kinds that talk to a provider. */
  connection?: string;
  /** JSONata condition; the task is skipped unless it gives exactly true. */
  when?: string;
  input: Record<string, unknown>;
}

export interface ProcessSettings {
  retry: RetryPolicy;
  /** Time limit of one step attempt. */
  timeoutMs: number;
  /** Most runs of this process running at once (all workers together). */
  concurrency: number;
}

export type ProcessTrigger = { status: string } | { manual: true };

export interface ProcessDefinition {
  name: string;
  description?: string;
  entityType: string;
  trigger: ProcessTrigger;
  enabled: boolean;
  settings: ProcessSettings;
  tasks: TaskDef[];
}

/** What the definition parser needs to know of a task kind (the run function lives in connectors/). */
export interface TaskKindSpec {
  kind: string;
  /** Shape of `input` as written in the definition (before expressions are evaluated). */
  inputSchema: z.ZodType;
  /** Input fields whose string values (or whose object's string values) are JSONata expressions. */
  expressionFields: readonly string[];
  /** Whether the task needs a connection, and of which providers. */
  connection?: { required: boolean; providers: readonly string[] };
  /** Present when steps of this kind can share provider batch calls of up to `maxSize` (docs/provider-batching.md). */
  batch?: { maxSize: number };
}

export interface ProcessParseContext {
  /** The entity type named by `entityType`, or undefined when there is none. */
  entityType: EntityTypeDefinition | undefined;
  taskKinds: ReadonlyMap<string, TaskKindSpec>;
  checkExpression: ExpressionChecker;
  /** Provider of a connection key, or undefined when it does not exist. */
  connectionProvider?: (key: string) => string | undefined;
}

/**
 * `settings.concurrency` when none is given. Above one worker's slots (STATUSFLOW_WORKER_CONCURRENCY, 64),
 * so that out of the box a process is bounded by the worker and its connection's rate limit, not by a
 * cap it never asked for (10 allowed only ~33 runs/s against a provider answering in 300 ms); still a
 * ceiling, so that many workers on Postgres do not open hundreds of calls at once to one endpoint.
 * See docs/processes.md "Concurrency".
 */
export const DEFAULT_CONCURRENCY = 100;

/**
 * `settings.concurrency` when none is given, for a process with a batchable task: room for one grouped call in
 * flight, the next one gathering, the one after on its way (claimed, input being evaluated) and the runs
 * committing — 4 × the largest batch (400 for HubSpot's 100). With 100, a call in flight held its members'
 * slots and calls averaged ~50 records; with 250 (2.5 ×), bench/batch's calls averaged 61–64 records, with 400
 * 80–96 (docs/provider-batching.md "Defaults").
 */
export function defaultConcurrency(tasks: readonly TaskDef[], taskKinds: ReadonlyMap<string, TaskKindSpec>): number {
  const largest = Math.max(0, ...tasks.map((t) => taskKinds.get(t.kind)?.batch?.maxSize ?? 0));
  return Math.min(PROCESS_LIMITS.concurrency, Math.max(DEFAULT_CONCURRENCY, largest * 4));
}

export const PROCESS_LIMITS = { tasks: 50, timeoutMs: 3_600_000, concurrency: 1000, maxAttempts: 20, delayMs: 86_400_000 } as const;

const RetrySchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(PROCESS_LIMITS.maxAttempts).optional(),
  initialDelayMs: z.number().int().min(0).max(PROCESS_LIMITS.delayMs).optional(),
  maxDelayMs: z.number().int().min(0).max(PROCESS_LIMITS.delayMs).optional(),
});
const SettingsSchema = z.strictObject({
  retry: RetrySchema.optional(),
  timeoutMs: z.number().int().min(100).max(PROCESS_LIMITS.timeoutMs).optional(),
  concurrency: z.number().int().min(1).max(PROCESS_LIMITS.concurrency).optional(),
});
const TaskSchema = z.strictObject({
  key,
  kind: text(100, 1),
  connection: key.optional(),
  when: text(10_000, 1).optional(),
  input: z.record(z.string(), z.unknown()).optional(),
});
/** A process PUT body's outline (parseProcessDefinition checks the rest); the API documents the body with it. */
export const ProcessSchema = z.strictObject({
  name: text(500, 1),
  description: text(5000).optional(),
  entityType: key,
  trigger: z.union([z.strictObject({ status: key }), z.strictObject({ manual: z.literal(true) })]),
  enabled: z.boolean().optional(),
  settings: SettingsSchema.optional(),
  tasks: z.array(TaskSchema).min(1).max(PROCESS_LIMITS.tasks),
});

/** Task keys an expression reads through `tasks.<key>` (a textual scan; strings rarely hold such a path). */
export function referencedTasks(source: string): string[] {
  return [...new Set([...source.matchAll(/\btasks\s*\.\s*([a-z][a-z0-9_]*)/g)].map((m) => m[1]!))];
}

/** The expressions of a task's input: `[path, source]` pairs, e.g. `['input.headers.Authorization', "'Bearer ' & token"]`. */
export function taskExpressions(task: TaskDef, spec: TaskKindSpec): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const field of spec.expressionFields) {
    const value = task.input[field];
    if (typeof value === 'string') out.push([`input.${field}`, value]);
    else if (isRecord(value)) {
      for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out.push([`input.${field}.${k}`, v]);
    }
  }
  return out;
}

/**
 * Validates and normalises a process PUT body. Throws AppError PROCESS_INVALID (EXPRESSION_INVALID when
 * only expressions are wrong) listing every problem in `details.fields`; returns expression warnings.
 */
export function parseProcessDefinition(body: unknown, ctx: ProcessParseContext): { definition: ProcessDefinition; warnings: FieldIssue[] } {
  const parsed = ProcessSchema.safeParse(body);
  if (!parsed.success) throw invalid('PROCESS_INVALID', fromZod(parsed.error, [], body, Object.keys(ProcessSchema.shape)));
  const raw = parsed.data;
  const issues: FieldIssue[] = [];
  const exprIssues: FieldIssue[] = [];
  const warnings: FieldIssue[] = [];
  const type = ctx.entityType;
  if (!type) issues.push({ path: 'entityType', code: 'unknown_entity_type', message: `there is no entity type "${raw.entityType}"` });
  if (type && 'status' in raw.trigger && !type.statuses.some((s) => s.key === (raw.trigger as { status: string }).status)) {
    issues.push({ path: 'trigger.status', code: 'unknown_status', message: `"${raw.trigger.status}" is not a status of ${raw.entityType}`, allowed: type.statuses.map((s) => s.key) });
  }
  const retry = { ...DEFAULT_RETRY, ...raw.settings?.retry };
  if (retry.maxDelayMs < retry.initialDelayMs) {
    issues.push({ path: 'settings.retry.maxDelayMs', code: 'too_small', message: 'must be at least initialDelayMs' });
  }
  const known = type ? type.attributes.map((a) => a.key) : [];
  const checkExpr = (path: string, source: string, earlierTasks: ReadonlySet<string>) => {
    const result = ctx.checkExpression(source, known);
    for (const e of result.errors) exprIssues.push({ path, code: e.code, message: e.message, ...pick(e) });
    for (const w of result.warnings) warnings.push({ path, code: w.code, message: w.message });
    for (const ref of referencedTasks(source)) {
      if (!earlierTasks.has(ref)) {
        issues.push({ path, code: 'unknown_task_reference', message: `tasks.${ref} must name an earlier task of this process` });
      }
    }
  };

  const seen = new Set<string>();
  const tasks: TaskDef[] = raw.tasks.map((t, i) => {
    const p = `tasks[${i}]`;
    if (seen.has(t.key)) issues.push({ path: `${p}.key`, code: 'duplicate', message: `"${t.key}" is already used by an earlier task` });
    const task: TaskDef = { key: t.key, kind: t.kind, input: t.input ?? {} };
    if (t.connection) task.connection = t.connection;
    if (t.when) task.when = t.when;
    const spec = ctx.taskKinds.get(t.kind);
    if (!spec) {
      issues.push({ path: `${p}.kind`, code: 'unknown_task_kind', message: `"${t.kind}" is not a task kind`, allowed: [...ctx.taskKinds.keys()].sort() });
    } else {
      const input = spec.inputSchema.safeParse(task.input);
      if (!input.success) issues.push(...fromZod(input.error, ['tasks', i, 'input'], task.input, []));
      checkConnection(spec, task, p, ctx, issues);
      if (task.when) checkExpr(`${p}.when`, task.when, seen);
      for (const [path, source] of taskExpressions(task, spec)) checkExpr(`${p}.${path}`, source, seen);
    }
    seen.add(t.key);
    return task;
  });

  if (issues.length > 0 || exprIssues.length > 0) {
    throw invalid(issues.length > 0 ? 'PROCESS_INVALID' : 'EXPRESSION_INVALID', [...issues, ...exprIssues]);
  }
  const definition: ProcessDefinition = {
    name: raw.name,
    entityType: raw.entityType,
    trigger: 'status' in raw.trigger ? { status: raw.trigger.status } : { manual: true },
    enabled: raw.enabled ?? true,
    settings: { retry, timeoutMs: raw.settings?.timeoutMs ?? 30_000, concurrency: raw.settings?.concurrency ?? defaultConcurrency(tasks, ctx.taskKinds) },
    tasks,
  };
  if (raw.description) definition.description = raw.description;
  return { definition, warnings };
}

function checkConnection(spec: TaskKindSpec, task: TaskDef, p: string, ctx: ProcessParseContext, issues: FieldIssue[]): void {
  if (!spec.connection) {
    if (task.connection) issues.push({ path: `${p}.connection`, code: 'connection_not_allowed', message: `${task.kind} does not use a connection` });
    return;
  }
  if (!task.connection) {
    if (spec.connection.required) issues.push({ path: `${p}.connection`, code: 'required', message: `${task.kind} needs a connection` });
    return;
  }
  const provider = ctx.connectionProvider?.(task.connection);
  if (provider === undefined) {
    issues.push({ path: `${p}.connection`, code: 'unknown_connection', message: `there is no connection "${task.connection}"` });
  } else if (!spec.connection.providers.includes(provider)) {
    issues.push({ path: `${p}.connection`, code: 'wrong_provider', message: `${task.kind} needs a ${spec.connection.providers.join(' or ')} connection; "${task.connection}" is ${provider}` });
  }
}

function pick(e: { position?: number; line?: number; column?: number; caret?: string }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (e.position !== undefined) out.position = e.position;
  if (e.line !== undefined) out.line = e.line;
  if (e.column !== undefined) out.column = e.column;
  if (e.caret !== undefined) out.caret = e.caret;
  return out;
}

/**
 * Secret values in an applied document. Exports show each set secret as `"set"`, so a document that
 * was exported, edited and applied again keeps the stored values: `"set"` means "keep the one stored".
 * `${NAME}` references are resolved from the environment by the statusflow CLI, never by the server
 * (a server that expanded them would hand its own environment to whoever may apply), so one that
 * reaches the server is refused rather than stored as a token.
 */
import type { FieldIssue } from '../../domain/errors.js';
import { isRecord } from '../../domain/schema-kit.js';

/** The value exports show for a secret that is set, and that apply reads as "keep the stored value". */
export const KEEP_STORED = 'set';

/** `${NAME}`: an environment reference, as the CLI resolves them. */
export const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/;

/** What is stored for the connection: its secrets, none (new connection), or unreadable (wrong key). */
export type StoredSecrets = Record<string, unknown> | undefined | 'unreadable';

function firstReference(value: unknown): string | undefined {
  if (typeof value === 'string') return ENV_REFERENCE.exec(value)?.[0];
  if (Array.isArray(value)) return value.map(firstReference).find((r) => r !== undefined);
  if (isRecord(value)) return Object.values(value).map(firstReference).find((r) => r !== undefined);
  return undefined;
}

/**
 * Replaces each `"set"` by the stored value of that secret. `stored` is only called when a `"set"` is
 * present. Problems are reported under `secrets.<name>` (the caller adds the object's place).
 */
export function resolveSecrets(secrets: unknown, stored: () => StoredSecrets): { secrets: unknown; issues: FieldIssue[] } {
  if (!isRecord(secrets)) return { secrets, issues: [] };
  const issues: FieldIssue[] = [];
  const out: Record<string, unknown> = {};
  let held: StoredSecrets | null = null;
  for (const [name, value] of Object.entries(secrets)) {
    const path = `secrets.${name}`;
    if (value === KEEP_STORED) {
      held ??= stored();
      if (held === 'unreadable') {
        issues.push({ path, code: 'unreadable', message: '"set" keeps the stored value, but the stored secrets cannot be read with the configured key; give the value' });
      } else if (held === undefined || !(name in held)) {
        issues.push({ path, code: 'not_stored', message: '"set" keeps the stored value, but none is stored; give the value (the statusflow CLI takes "${SOME_VARIABLE}" from its environment)' });
      } else out[name] = held[name];
      continue;
    }
    const reference = firstReference(value);
    if (reference !== undefined) {
      issues.push({ path, code: 'unresolved_reference', message: `holds ${reference}, which the statusflow CLI resolves from its environment; through the API, send the value itself` });
      continue;
    }
    out[name] = value;
  }
  return { secrets: out, issues };
}

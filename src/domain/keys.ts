/** Keys of entity types, statuses, attributes, requirements, processes, tasks and connections. */
export const KEY_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

/** True when `s` is a string that may be used as a key. */
export function isKey(s: unknown): boolean {
  return typeof s === 'string' && KEY_PATTERN.test(s);
}

/**
 * Names of the expression context (`entity`, `tasks.<key>.output`, `run`, `links`, `now`).
 * Attributes are also exposed at the top level of that context, so an attribute may not use them.
 */
export const RESERVED_ATTRIBUTE_KEYS: readonly string[] = ['entity', 'tasks', 'run', 'links', 'now'];

/** The built-in functions of JSONata 2.x (names without `$`). Rebinding one is refused. */
export const BUILTIN_FUNCTIONS: readonly string[] = [
  'sum', 'count', 'max', 'min', 'average', 'string', 'substring', 'substringBefore', 'substringAfter',
  'lowercase', 'uppercase', 'length', 'trim', 'pad', 'match', 'contains', 'replace', 'split', 'join',
  'formatNumber', 'formatBase', 'formatInteger', 'parseInteger', 'number', 'floor', 'ceil', 'round', 'abs',
  'sqrt', 'power', 'random', 'boolean', 'not', 'map', 'zip', 'filter', 'single', 'reduce', 'sift', 'keys',
  'lookup', 'append', 'exists', 'spread', 'merge', 'reverse', 'each', 'error', 'assert', 'type', 'sort',
  'shuffle', 'distinct', 'base64encode', 'base64decode', 'encodeUrlComponent', 'encodeUrl',
  'decodeUrlComponent', 'decodeUrl', 'eval', 'toMillis', 'fromMillis', 'clone', 'now', 'millis',
];

/** Built-ins that are refused outright: `$eval` parses and runs a string as a new expression. */
export const FORBIDDEN_FUNCTIONS: readonly string[] = ['eval'];

/** Context objects every expression can read (the entity, its tasks' outputs, the run, links, the time). */
export const RESERVED_CONTEXT_NAMES: readonly string[] = ['entity', 'tasks', 'run', 'links', 'now'];

/** Readable diffs for a dry run: each object before and after, as YAML, in unified diff form. */
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';

/** A unified diff of one object; `before`/`after` undefined for a creation/deletion. `label` names it, e.g. `process/copy_to_hubspot`. */
export function objectDiff(label: string, before: unknown, after: unknown): string {
  const text = (v: unknown) => (v === undefined ? '' : stringify(v, { lineWidth: 0 }));
  const patch = createTwoFilesPatch(before === undefined ? '/dev/null' : `a/${label}`, after === undefined ? '/dev/null' : `b/${label}`, text(before), text(after), '', '', { context: 3 });
  // The first line of the library's patch is a row of `=`: noise in a report.
  return patch.replace(/^=+\n/, '');
}

/** Line, column and caret for a 0-based offset in an expression's source. */
export interface SourceLocation {
  position: number;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
  /** The source line, '\n', then spaces (tabs kept, so it aligns) and '^' under the column. */
  caret: string;
}

/** Longest source line shown in a caret; longer lines are cut around the column, marked with '…'. */
const CARET_WIDTH = 100;

/** Locate `position` (clamped to the source) as line/column with a caret. */
export function locate(source: string, position: number): SourceLocation {
  const pos = Math.max(0, Math.min(Math.trunc(position), source.length));
  const lineStart = source.lastIndexOf('\n', pos - 1) + 1;
  let lineEnd = source.indexOf('\n', pos);
  if (lineEnd === -1) lineEnd = source.length;
  let line = 1;
  for (let i = source.indexOf('\n'); i !== -1 && i < lineStart; i = source.indexOf('\n', i + 1)) line++;
  const column = pos - lineStart + 1;

  let from = lineStart;
  let to = source[lineEnd - 1] === '\r' ? lineEnd - 1 : lineEnd;
  if (to - from > CARET_WIDTH) {
    from = Math.max(lineStart, Math.min(pos - CARET_WIDTH / 2, to - CARET_WIDTH));
    to = Math.min(to, from + CARET_WIDTH);
  }
  const head = from > lineStart ? '…' : '';
  const tail = to < lineEnd && source[to] !== '\r' ? '…' : '';
  const pad = head.length + pos - from;
  const before = source.slice(from, pos);
  const spaces = before.includes('\t') ? ' '.repeat(head.length) + before.replace(/[^\t]/g, ' ') : ' '.repeat(pad);
  return { position: pos, line, column, caret: `${head}${source.slice(from, to)}${tail}\n${spaces}^` };
}

/**
 * Start of the offending token of a JSONata syntax error. JSONata reports `position` as
 * the lexer position, usually just after the token; when the token is found right
 * before (or at) that position, point at its first character instead.
 */
export function syntaxErrorStart(source: string, position: number, token: unknown): number {
  if (token === undefined || token === null || token === '(end)') return position;
  const text = String(token);
  if (text.length > 0) {
    if (source.startsWith(text, position - text.length)) return position - text.length;
    if (source.startsWith(text, position)) return position;
  }
  return position;
}

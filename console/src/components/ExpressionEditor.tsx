/**
 * A JSONata expression editor on CodeMirror 6: highlighting, and the API's error shown as a squiggle
 * at its line and column with the message below (the API checks the expression; the editor only shows it).
 */
import { useEffect, useRef, useState } from 'react';
import { EditorView, placeholder as placeholderExt, keymap } from '@codemirror/view';
import { EditorState, Compartment } from '@codemirror/state';
import { HighlightStyle, StreamLanguage, syntaxHighlighting } from '@codemirror/language';
import { setDiagnostics } from '@codemirror/lint';
import { tags as t } from '@lezer/highlight';

type Checker = (src: string) => ExprError | null;
let checker: Promise<Checker> | null = null;
/** The in-browser syntax check (JSONata itself, ~24 KB gzipped) loads with the first editor that asks for it. */
function useChecker(enabled: boolean): Checker | null {
  const [fn, setFn] = useState<Checker | null>(null);
  useEffect(() => {
    if (!enabled) return;
    checker ??= import('./check').then((m) => m.checkExpression);
    let live = true;
    void checker.then((f) => live && setFn(() => f));
    return () => {
      live = false;
    };
  }, [enabled]);
  return fn;
}

export interface ExprError {
  message: string;
  line?: number;
  column?: number;
  code?: string;
}

const jsonata = StreamLanguage.define<{ inComment: boolean }>({
  startState: () => ({ inComment: false }),
  token(stream, state) {
    if (state.inComment) {
      if (stream.skipTo('*/')) {
        stream.match('*/');
        state.inComment = false;
      } else stream.skipToEnd();
      return 'comment';
    }
    if (stream.eatSpace()) return null;
    if (stream.match('/*')) {
      state.inComment = true;
      return 'comment';
    }
    if (stream.match(/^"(?:[^"\\]|\\.)*"?/) || stream.match(/^'(?:[^'\\]|\\.)*'?/)) return 'string';
    if (stream.match(/^`[^`]*`?/)) return 'variableName';
    if (stream.match(/^-?\d+(\.\d+)?([eE][+-]?\d+)?/)) return 'number';
    if (stream.match(/^\$[A-Za-z_]\w*/)) return 'function';
    if (stream.match(/^\$/)) return 'keyword';
    if (stream.match(/^(and|or|in|true|false|null)\b/)) return 'keyword';
    if (stream.match(/^[A-Za-z_]\w*/)) return 'variableName';
    if (stream.match(/^(:=|!=|<=|>=|~>|\?:|\?\?|[=<>&+\-*/%.?:!^#@|])/)) return 'operator';
    stream.next();
    return 'punctuation';
  },
});

const highlight = HighlightStyle.define([
  { tag: t.string, color: 'var(--ok)' },
  { tag: t.number, color: 'var(--wait)' },
  { tag: t.keyword, color: 'var(--accent)', fontWeight: '600' },
  { tag: t.function(t.variableName), color: 'var(--run)' },
  { tag: t.comment, color: 'var(--muted)', fontStyle: 'italic' },
  { tag: t.operator, color: 'var(--muted)' },
]);

const theme = EditorView.theme({
  '&': { backgroundColor: 'var(--panel)', color: 'var(--text)' },
  '.cm-content': { fontFamily: 'var(--mono)', padding: '6px 0', caretColor: 'var(--text)' },
  '.cm-line': { padding: '0 9px' },
  '.cm-placeholder': { color: 'var(--muted)' },
  '.cm-lintRange-error': { backgroundImage: 'none', textDecoration: 'underline wavy var(--bad)', textUnderlineOffset: '3px' },
});

function offsetOf(state: EditorState, line = 1, column = 1): number {
  const l = state.doc.line(Math.min(Math.max(line, 1), state.doc.lines));
  return Math.min(l.from + Math.max(column - 1, 0), l.to);
}

export function ExpressionEditor(props: { value: string; onChange(v: string): void; label: string; error?: ExprError | null; placeholder?: string; readOnly?: boolean; id?: string; onEnter?(): void; check?: boolean }) {
  const check = useChecker(!!props.check);
  const local = check ? check(props.value) : null;
  const shown = props.error ?? local;
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;
  const onEnter = useRef(props.onEnter);
  onEnter.current = props.onEnter;
  const ro = useRef(new Compartment());
  const attrs = useRef(new Compartment());
  const contentAttributes = () => EditorView.contentAttributes.of({ 'aria-label': props.label, 'aria-multiline': 'true', ...(props.id ? { id: props.id } : {}) });

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: props.value,
        extensions: [
          jsonata,
          syntaxHighlighting(highlight),
          theme,
          EditorView.lineWrapping,
          placeholderExt(props.placeholder ?? ''),
          ro.current.of(EditorState.readOnly.of(!!props.readOnly)),
          attrs.current.of(contentAttributes()),
          keymap.of([{ key: 'Enter', run: () => (onEnter.current ? (onEnter.current(), true) : false) }]),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChange.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
  }, []);

  useEffect(() => {
    view.current?.dispatch({ effects: [attrs.current.reconfigure(contentAttributes()), ro.current.reconfigure(EditorState.readOnly.of(!!props.readOnly))] });
  }, [props.label, props.id, props.readOnly]);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== props.value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.value } });
  }, [props.value]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const e = shown;
    const diags = [];
    if (e && v.state.doc.length > 0) {
      const from = offsetOf(v.state, e.line, e.column);
      const to = Math.min(from + 1, v.state.doc.length);
      diags.push({ from: Math.min(from, Math.max(to - 1, 0)), to, severity: 'error' as const, message: e.message });
    }
    v.dispatch(setDiagnostics(v.state, diags));
  }, [shown?.message, shown?.line, shown?.column]);

  const e = shown;
  return (
    <div>
      <div ref={host} className={`cm-wrap${e ? ' invalid' : ''}`} />
      {e ? (
        <div className="field-error" role="alert">
          {e.code ? <code>{e.code}</code> : null} {e.line ? `line ${e.line}, column ${e.column}: ` : ''}
          {e.message}
        </div>
      ) : null}
    </div>
  );
}

/** The first expression error in an API error's `details.fields` (optionally for one path). */
export function exprErrorOf(err: unknown, path?: string): ExprError | null {
  const d = (err as { details?: { fields?: { path: string; code: string; message: string; line?: number; column?: number }[] } } | null)?.details;
  const f = d?.fields?.find((x) => (path ? x.path === path : true));
  if (!f) return null;
  return { message: f.message, line: f.line, column: f.column, code: f.code };
}

// ESLint rule `statusflow/no-import-cycle`: no file may reach itself through relative imports, type-only
// imports included. Why our own: import-x/no-cycle skips `import type` by design (hard-coded in its
// lib/rules/no-cycle.js, no option), and a type cycle is still a cycle in the design: src/domain had one
// (attributes ↔ entity-type ↔ transitions ↔ schema-kit) because the definition types lived in a parser.
//
// Each file's imports are read once per lint run (TypeScript's parser, top-level statements only) and
// kept by path and mtime; a breadth-first walk from each import looks for the importing file. Dynamic
// `import()` is not followed: it is how a module defers a dependency on purpose.
import { readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';

/** path → { mtimeMs, imports: absolute paths of the relative imports that resolve to a .ts file } */
const graph = new Map();

/** `./x.js` (the NodeNext spelling) → x.ts; also x.ts as written and x/index.ts. Undefined when none exists. */
function resolveSpecifier(from, specifier) {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined;
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, `${base}/index.ts`];
  for (const c of candidates) {
    try {
      if (c.endsWith('.ts') && statSync(c).isFile()) return c;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** The specifiers of the static imports and re-exports of a source text (type-only ones too). */
function specifiersOf(fileName, text) {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out = [];
  for (const s of source.statements) {
    if ((ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier)) out.push(s.moduleSpecifier.text);
    else if (ts.isImportEqualsDeclaration(s) && ts.isExternalModuleReference(s.moduleReference) && ts.isStringLiteral(s.moduleReference.expression)) {
      out.push(s.moduleReference.expression.text);
    }
  }
  return out;
}

function importsOf(file) {
  let mtimeMs;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    return [];
  }
  const known = graph.get(file);
  if (known && known.mtimeMs === mtimeMs) return known.imports;
  const imports = [];
  for (const spec of specifiersOf(file, readFileSync(file, 'utf8'))) {
    const target = resolveSpecifier(file, spec);
    if (target) imports.push(target);
  }
  graph.set(file, { mtimeMs, imports });
  return imports;
}

/** The route from `start` back to `file` (a list of paths ending with `file`), or undefined. */
function routeBack(start, file) {
  const cameFrom = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const at = queue.shift();
    for (const next of importsOf(at)) {
      if (next === file) {
        const route = [file];
        for (let p = at; p !== undefined; p = cameFrom.get(p)) route.unshift(p);
        return route;
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, at);
        queue.push(next);
      }
    }
  }
  return undefined;
}

export const noImportCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'Forbid import cycles between files, counting type-only imports.' },
    schema: [],
    messages: { cycle: 'Import cycle (type-only imports count): {{route}}' },
  },
  create(context) {
    const file = context.physicalFilename;
    if (!file.endsWith('.ts')) return {};
    const check = (node) => {
      const spec = node.source?.value;
      if (typeof spec !== 'string') return;
      const target = resolveSpecifier(file, spec);
      if (target === undefined || target === file) return;
      const route = routeBack(target, file);
      if (route) context.report({ node, messageId: 'cycle', data: { route: [file, ...route].map((p) => relative(context.cwd, p)).join(' → ') } });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check };
  },
};

export default { rules: { 'no-import-cycle': noImportCycle } };

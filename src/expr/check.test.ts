import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkExpression, MAX_SOURCE_LENGTH } from './index.js';

const ORDER_REQUIREMENTS = [
  '$contains(order_number, /^ORD-[0-9]+$/)',
  "$exists(customer_email) and customer_email != ''",
  'total > 0',
  'paid = true',
];
const ORDER_FIELDS = ['order_number', 'customer_email', 'total', 'paid'];

function onlyError(source: string) {
  const check = checkExpression(source);
  assert.equal(check.ok, false, `expected ${source} to be refused`);
  assert.equal(check.errors.length, 1, JSON.stringify(check.errors));
  return check.errors[0]!;
}

describe('checkExpression: syntax errors', () => {
  it('points at an unexpected token with line, column and caret', () => {
    const error = onlyError('total >< 0');
    assert.equal(error.code, 'EXPR_SYNTAX');
    assert.equal(error.position, 7);
    assert.equal(error.line, 1);
    assert.equal(error.column, 8);
    assert.equal(error.caret, 'total >< 0\n       ^');
  });

  it('points after the last character when the expression ends too early', () => {
    const error = onlyError('(total > 0');
    assert.match(error.message, /Expected "\)" before end of expression/);
    assert.equal(error.column, 11);
    assert.equal(error.caret, '(total > 0\n          ^');
  });

  it('finds the line and column in a multi-line expression', () => {
    const error = onlyError('total > 0\n  and paid = true\n  and foo bar');
    assert.equal(error.line, 3);
    assert.equal(error.column, 11);
    assert.equal(error.position, 38);
    assert.equal(error.caret, '  and foo bar\n          ^');
  });

  it('keeps tabs in the caret line so it aligns', () => {
    const error = onlyError('paid = true and\n\ttotal >< 0');
    assert.equal(error.line, 2);
    assert.equal(error.column, 9);
    assert.equal(error.caret, '\ttotal >< 0\n\t       ^');
  });

  it('reports unterminated strings, regexes and empty expressions', () => {
    assert.match(onlyError('a = "abc').message, /String literal must be terminated/);
    assert.match(onlyError('$contains(a, /abc)').message, /No terminating \//);
    assert.equal(onlyError('   ').message, 'Expression is empty');
  });

  it('refuses expressions that are too long or nested too deeply', () => {
    const long = onlyError('1 + '.repeat(MAX_SOURCE_LENGTH / 4) + '1');
    assert.equal(long.code, 'EXPR_TOO_LONG');
    const deep = onlyError('('.repeat(1900) + '1' + ')'.repeat(1900));
    assert.equal(deep.code, 'EXPR_SYNTAX');
  });
});

describe('checkExpression: references', () => {
  it('lists the Order requirements\' fields', () => {
    for (const source of ORDER_REQUIREMENTS) {
      const check = checkExpression(source, { knownFields: ORDER_FIELDS });
      assert.deepEqual([check.errors, check.warnings], [[], []], source);
    }
    assert.deepEqual(checkExpression("total > 0 and customer_email != ''").references, ['customer_email', 'total']);
  });

  it('reads only top-level fields of the input', () => {
    const refs = (source: string) => checkExpression(source).references;
    assert.deepEqual(refs('items[price > 0].qty'), ['items']);
    assert.deepEqual(refs('entity.status = "new" and tasks.create_deal.output.id'), ['entity', 'tasks']);
    assert.deepEqual(refs('$.total + $$.tax'), ['tax', 'total']);
    assert.deepEqual(refs('items.($$.rate * price)'), ['items', 'rate']);
    assert.deepEqual(refs('($x := total; $x.y + $x)'), ['total']);
    assert.deepEqual(refs('{"sum": $sum(lines.amount), "who": `first name`}'), ['first name', 'lines']);
    assert.deepEqual(refs('paid ? $string(total) : $uppercase(status)'), ['paid', 'status', 'total']);
    assert.deepEqual(refs('[a, b][0] ~> $string()'), ['a', 'b']);
    assert.deepEqual(refs('"x" & 1'), []);
  });

  it('warns about unknown fields, once each, but not about reserved names', () => {
    const check = checkExpression('totl > 0 and entity.id and now and totl < 9 and paid', { knownFields: ORDER_FIELDS });
    assert.equal(check.ok, true);
    assert.deepEqual(check.references, ['entity', 'now', 'paid', 'totl']);
    assert.equal(check.warnings.length, 1);
    const warning = check.warnings[0]!;
    assert.equal(warning.code, 'EXPR_UNKNOWN_FIELD');
    assert.equal(warning.message, 'Unknown field "totl"');
    assert.equal(warning.caret, 'totl > 0 and entity.id and now and totl < 9 and paid\n^');
  });

  it('warns only when knownFields is given, and honours custom reserved names', () => {
    assert.deepEqual(checkExpression('whatever').warnings, []);
    const check = checkExpression('entity.id and ctx.x', { knownFields: [], reserved: ['ctx'] });
    assert.deepEqual(check.warnings.map((w) => w.message), ['Unknown field "entity"']);
  });
});

describe('checkExpression: forbidden constructs', () => {
  it('refuses user-defined functions in either spelling', () => {
    for (const source of ['$reduce([1..40], function($a, $b){ $a & $a })', 'total ~> λ($x){ $x }']) {
      const error = onlyError(source);
      assert.equal(error.code, 'EXPR_FORBIDDEN');
      assert.match(error.message, /User-defined functions/);
      assert.equal(source.slice(error.position).startsWith('function') || source.slice(error.position).startsWith('λ'), true);
    }
  });

  it('refuses $eval, called or passed along', () => {
    for (const source of ['$eval("1 + 1")', '$map(["1"], $eval)']) {
      const error = onlyError(source);
      assert.equal(error.code, 'EXPR_FORBIDDEN');
      assert.equal(error.message, '$eval is not allowed');
      assert.equal(source.slice(error.position, error.position! + 5), '$eval');
    }
  });

  it('refuses rebinding a built-in function', () => {
    const error = onlyError('($string := $uppercase; $string(name))');
    assert.equal(error.code, 'EXPR_FORBIDDEN');
    assert.equal(error.message, 'Cannot assign to the built-in $string');
    assert.equal(error.column, 2);
    assert.equal(checkExpression('($s := $uppercase; $s(name))').ok, true);
  });

  it('refuses regexes that can backtrack catastrophically, or are too long', () => {
    const error = onlyError("$match(name, /(a+)+$/)");
    assert.equal(error.code, 'EXPR_UNSAFE_REGEX');
    assert.equal(error.column, 14);
    assert.equal(onlyError(`$contains(name, /${'a'.repeat(300)}/)`).code, 'EXPR_UNSAFE_REGEX');
    assert.equal(checkExpression('$contains(email, /^[^@ ]+@[^@ ]+\\.[a-z]{2,}$/i)').ok, true);
  });

  it('reports every violation, each located', () => {
    const check = checkExpression('$eval(x) and $match(y, /(x*)*$/)');
    assert.deepEqual(check.errors.map((e) => [e.code, e.column]), [['EXPR_FORBIDDEN', 1], ['EXPR_UNSAFE_REGEX', 24]]);
  });
});

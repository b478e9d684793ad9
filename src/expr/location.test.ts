import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { locate, syntaxErrorStart } from './location.js';

describe('locate', () => {
  it('gives 1-based line and column and a caret under the column', () => {
    assert.deepEqual(locate('a = 1\nb >< 2', 8), { position: 8, line: 2, column: 3, caret: 'b >< 2\n  ^' });
    assert.deepEqual(locate('abc', 3), { position: 3, line: 1, column: 4, caret: 'abc\n   ^' });
    assert.equal(locate('abc', 99).position, 3);
  });

  it('handles CRLF line ends and keeps tabs for alignment', () => {
    assert.equal(locate('a\r\n\tb c', 6).caret, '\tb c\n\t  ^');
    assert.equal(locate('x = 1\r\ny', 2).caret, 'x = 1\n  ^');
  });

  it('cuts long lines around the column', () => {
    const source = 'a'.repeat(300) + 'XY' + 'b'.repeat(300);
    const { caret, column } = locate(source, 300);
    assert.equal(column, 301);
    const [text, marker] = caret.split('\n') as [string, string];
    assert.ok(text.startsWith('…') && text.endsWith('…') && text.length === 102);
    assert.equal(text[marker.length - 1], 'X');
    assert.equal(locate(source, 0).caret.split('\n')[1], '^');
    assert.ok(locate(source, source.length).caret.endsWith('b\n' + ' '.repeat(101) + '^'));
  });
});

describe('syntaxErrorStart', () => {
  it('points at the start of the token JSONata reports after', () => {
    assert.equal(syntaxErrorStart('foo bar', 7, 'bar'), 4);
    assert.equal(syntaxErrorStart('"\\q"', 2, 'q'), 2);
    assert.equal(syntaxErrorStart('(a', 2, '(end)'), 2);
    assert.equal(syntaxErrorStart('1 2', 3, 2), 2);
  });
});

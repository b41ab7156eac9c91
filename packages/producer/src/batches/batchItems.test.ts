import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readManifest, type BatchEntry } from './batchItems.js';
import { globToRegExp, PathFilter } from './globFilter.js';

const all = async (text: string) => {
  const out: BatchEntry[] = [];
  for await (const e of readManifest(Readable.from([text]), 'p/', '/base')) out.push(e);
  return out;
};

describe('rclone-style globs', () => {
  it.each([
    ['*.jpg', 'a.jpg', true],
    ['*.jpg', 'x/y/a.jpg', true],
    ['*.jpg', 'a.jpeg', false],
    ['/*.jpg', 'x/a.jpg', false],
    ['/*.jpg', 'a.jpg', true],
    ['b/*.jpg', 'a/b/c.jpg', true],
    ['b/*.jpg', 'ab/c.jpg', false],
    ['**/tmp/**', 'a/tmp/x/y', true],
    ['dir/**', 'dir/a/b', true],
    ['?.txt', 'a.txt', true],
    ['?.txt', 'ab.txt', false],
    ['[a-c].txt', 'b.txt', true],
    ['[!a-c].txt', 'b.txt', false],
    ['*.{jpg,png}', 'x/a.png', true],
    ['a.b', 'aXb', false],
    ['file (1).txt', 'file (1).txt', true],
  ])('%s on %s → %s', (glob, path, match) => {
    expect(globToRegExp(glob).test(path)).toBe(match);
  });

  it('refuses broken globs naming the flag', () => {
    expect(() => globToRegExp('[abc', 'include')).toThrow(/include: has an unclosed "\["/);
    expect(() => globToRegExp('{a,b', 'exclude')).toThrow(/exclude: has an unclosed "\{"/);
  });

  it('excludes win over includes; no include takes everything', () => {
    const f = new PathFilter(['*.log', '*.txt'], ['secret/**']);
    expect(f.matches('a/b.log')).toBe(true);
    expect(f.matches('a/b.bin')).toBe(false);
    expect(f.matches('secret/x.txt')).toBe(false);
    expect(new PathFilter().matches('anything/at/all')).toBe(true);
  });
});

describe('manifests', () => {
  it('reads JSON Lines, resolving relative paths and prefixing keys', async () => {
    const out = await all('{"source":"a.bin","key":"k/a"}\n\n# note\n{"source":"/abs/b","key":"b","contentType":"text/plain","metadata":{"x":"1"}}\n{"source":"https://h/x","key":"u"}\n');
    expect(out).toEqual([
      { kind: 'file', source: '/base/a.bin', key: 'p/k/a', line: 1 },
      { kind: 'file', source: '/abs/b', key: 'p/b', contentType: 'text/plain', metadata: { x: '1' }, line: 4 },
      { kind: 'url', source: 'https://h/x', key: 'p/u', line: 5 },
    ]);
  });

  it('reads CSV with a header and RFC 4180 quoting', async () => {
    const out = await all('source,key\n/a,"x,y"\n"/b ""q""",z\n');
    expect(out).toEqual([
      { kind: 'file', source: '/a', key: 'p/x,y', line: 2 },
      { kind: 'file', source: '/b "q"', key: 'p/z', line: 3 },
    ]);
  });

  it('names the line and field of every bad line', async () => {
    const out = await all('{"source":"/a","key":"a"}\n{bad\n{"key":"x"}\n{"source":"/a","key":""}\n{"source":"/a","key":"k","metadata":{"n":1}}\n[1]\n');
    expect(out.slice(1).map((e) => ('problem' in e ? [e.problem.line, e.problem.field] : e))).toEqual([
      [2, 'line'],
      [3, 'source'],
      [4, 'key'],
      [5, 'metadata'],
      [6, 'line'],
    ]);
    const csv = await all('/a,b,c\n"/unterminated,b\n');
    expect(csv.map((e) => ('problem' in e ? [e.problem.line, e.problem.field] : e))).toEqual([
      [1, 'line'],
      [2, 'line'],
    ]);
  });
});

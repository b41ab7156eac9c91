import { describe, expect, it } from 'vitest';
import { completeMultipartXml, decodeXmlText, escapeXml, parseXml, XmlSyntaxError } from './xml.js';

function syntaxError(fn: () => unknown): XmlSyntaxError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(XmlSyntaxError);
    return err as XmlSyntaxError;
  }
  throw new Error('expected an XmlSyntaxError');
}

describe('decodeXmlText', () => {
  it.each([
    ['&#34;abc-3&#34;', '"abc-3"'],
    ['&#x22;abc&#x22;', '"abc"'],
    ['&#x0022;&#0000034;', '""'],
    ['&quot;&amp;&lt;&gt;&apos;', `"&<>'`],
    ['a&amp;#34;b', 'a&#34;b'], // decoded once, not twice
    ['&#9;&#xA;&#13;', '\t\n\r'],
    ['&#x1F600;', '\u{1F600}'],
    ['&#xD7FF;&#xE000;&#xFFFD;&#x10FFFF;', '\uD7FF\uE000\uFFFD\u{10FFFF}'],
    ['no references', 'no references'],
  ])('%s → %j', (raw, want) => {
    expect(decodeXmlText(raw)).toBe(want);
  });

  it.each([
    ['&#0;', 'character reference &#0; is not an XML character'],
    ['&#x0;', 'character reference &#x0; is not an XML character'],
    ['&#1;', 'character reference &#1; is not an XML character'],
    ['&#xD800;', 'character reference &#xD800; is not an XML character'],
    ['&#xFFFE;', 'character reference &#xFFFE; is not an XML character'],
    ['&#x110000;', 'character reference &#x110000; is not an XML character'],
    ['&#99999999999999999999;', 'character reference &#99999999999999999999; is not an XML character'],
    ['&nbsp;', 'unknown entity &nbsp;'],
    ['&QUOT;', 'unknown entity &QUOT;'],
    ['& b', "'&' must start a reference such as &amp; or &#34;"],
    ['&#34', "'&' must start a reference such as &amp; or &#34;"],
    ['&#X22;', "'&' must start a reference such as &amp; or &#34;"],
    ['&#;', "'&' must start a reference such as &amp; or &#34;"],
    ['&#x;', "'&' must start a reference such as &amp; or &#34;"],
    ['&#-1;', "'&' must start a reference such as &amp; or &#34;"],
  ])('%s is refused: %s', (raw, rule) => {
    const err = syntaxError(() => decodeXmlText(`xy${raw}`, 10));
    expect(err).toMatchObject({ code: 'OBSQ_STORAGE', permanent: true, rule, offset: 12 });
  });
});

describe('parseXml', () => {
  it('Complete body: parts sorted ascending, ETags escaped', () => {
    const xml = completeMultipartXml([
      { partNumber: 3, etag: '"c"' },
      { partNumber: 1, etag: '"a&<b>"' },
    ]);
    expect(xml).toBe(
      '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;a&amp;&lt;b&gt;&quot;</ETag></Part>' +
        '<Part><PartNumber>3</PartNumber><ETag>&quot;c&quot;</ETag></Part></CompleteMultipartUpload>',
    );
    const back = parseXml(xml).CompleteMultipartUpload as { Part: Array<{ ETag: string }> };
    expect(back.Part[0]!.ETag).toBe('"a&<b>"');
  });

  it('keeps values as strings and drops namespaces', () => {
    const doc = parseXml('<InitiateMultipartUploadResult xmlns="http://obs/doc/2015-06-30/"><Bucket>b</Bucket><Key>007</Key><UploadId>0123</UploadId></InitiateMultipartUploadResult>');
    expect(doc.InitiateMultipartUploadResult).toEqual({ Bucket: 'b', Key: '007', UploadId: '0123' });
  });

  it('reads the Go encoder’s output: numeric references, prefixes, declaration, CDATA, comments', () => {
    const doc = parseXml(
      '\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<!-- c --><s3:R xmlns:s3="urn:x" a=\'1 &amp; 2\'>' +
        '<s3:ETag>&#34;abc-3&#34;</s3:ETag><K> sp ace </K><C><![CDATA[&#34;<raw>]]>&#34;</C><E/><E2></E2>' +
        '<Part><N>1</N></Part><X>1</X><X>2</X><?pi data?></s3:R>\n<!-- after -->\n',
    );
    expect(doc.R).toEqual({
      ETag: '"abc-3"',
      K: ' sp ace ',
      C: '&#34;<raw>"',
      E: '',
      E2: '',
      Part: [{ N: '1' }],
      X: ['1', '2'],
    });
  });

  it('normalises raw line ends as XML does; &#13; keeps a CR', () => {
    expect(parseXml('<K>a\r\nb\rc&#13;d</K>').K).toBe('a\nb\nc\rd');
    expect(parseXml(`<K>${escapeXml('x\ry')}</K>`).K).toBe('x\ry');
  });

  it('raw characters pass unchecked (a key with a control character still lists); references do not', () => {
    expect(parseXml('<K>a\u0001b</K>').K).toBe('a\u0001b');
    expect(syntaxError(() => parseXml('<K>a&#1;b</K>')).rule).toBe('character reference &#1; is not an XML character');
  });

  it('an element named __proto__ is a plain key, not a prototype', () => {
    const doc = parseXml('<R><__proto__><polluted>yes</polluted></__proto__></R>');
    const r = doc.R as Record<string, unknown>;
    expect(Object.keys(r)).toEqual(['__proto__']);
    expect((r as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it.each([
    ['', 'no root element'],
    ['   ', 'no root element'],
    ['<a>', 'element <a> is not closed'],
    ['<a></b>', 'end tag </b> does not match <a>'],
    ['</a>', 'end tag </a> does not match any open element'],
    ['<a></a><b></b>', 'more than one root element'],
    ['<a></a>junk', 'text outside the root element'],
    ['junk<a></a>', 'text outside the root element'],
    ['<a>x & y</a>', "'&' must start a reference such as &amp; or &#34;"],
    ['<a>&#0;</a>', 'character reference &#0; is not an XML character'],
    ['<a>&#x110000;</a>', 'character reference &#x110000; is not an XML character'],
    ['<a>&bogus;</a>', 'unknown entity &bogus;'],
    ['<a b="&#0;"></a>', 'character reference &#0; is not an XML character'],
    ['<a b="1" b="2"></a>', 'attribute b repeated'],
    ['<a b=1></a>', 'attribute b value is not quoted'],
    ['<a b></a>', 'attribute b has no value'],
    ['<a b="<"></a>', "'<' in attribute b"],
    ['<a b="1"c="2"></a>', 'tag <a> is not well-formed'],
    ['< a></a>', "'<' must start a tag"],
    ['<a>]]></a>', "']]>' in text"],
    ['<a><![CDATA[x</a>', 'CDATA section is not closed'],
    ['<a><!-- x</a>', 'comment is not closed'],
    ['<a><?pi x</a>', 'processing instruction is not closed'],
    ['<a></a><?xml version="1.0"?>', 'XML declaration not at the start'],
    ['<a></a  x>', 'end tag </a> is not closed'],
    ['<!DOCTYPE a><a/>', 'DOCTYPE and other declarations are not accepted'],
    ['<a><!ENTITY x "y"></a>', 'DOCTYPE and other declarations are not accepted'],
  ])('%j is refused: %s', (text, rule) => {
    expect(syntaxError(() => parseXml(text)).rule).toBe(rule);
  });

  it('refuses billion laughs before expanding anything', () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
      Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
      ']><lolz>&lol9;</lolz>';
    const err = syntaxError(() => parseXml(laughs));
    expect(err.rule).toBe('DOCTYPE and other declarations are not accepted');
    // Without the DOCTYPE the reference is just an unknown entity.
    expect(syntaxError(() => parseXml('<lolz>&lol9;</lolz>')).rule).toBe('unknown entity &lol9;');
  });

  it('stays linear on large hostile input', () => {
    const started = performance.now();
    syntaxError(() => parseXml(`<a${' '.repeat(1_000_000)}`));
    syntaxError(() => parseXml(`<a>${'&amp;'.repeat(200_000)}&x`));
    syntaxError(() => parseXml('<a>'.repeat(100_000)));
    // Quadratic work on these sizes would take minutes; the bound is loose for a loaded machine.
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

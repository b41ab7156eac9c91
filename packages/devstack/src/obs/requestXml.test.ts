import { describe, expect, it } from 'vitest';
import { S3Error } from '../errors/index.js';
import { parseCompleteBody } from './handlers/index.js';
import { parseRequestXml } from './requestXml.js';

function malformed(fn: () => unknown): S3Error {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(S3Error);
    expect(err).toMatchObject({ s3Code: 'MalformedXML', status: 400 });
    return err as S3Error;
  }
  throw new Error('expected MalformedXML');
}

const NS = ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

describe('parseCompleteBody', () => {
  it('decodes the ETag quotes Go writes as &#34; (rclone, aws-sdk-go)', () => {
    const go =
      `<CompleteMultipartUpload${NS}><Part><ETag>&#34;0a1b2c-1&#34;</ETag><PartNumber>1</PartNumber></Part>` +
      '<Part><ETag>&#x22;0a1b2c-2&#x22;</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>';
    expect(parseCompleteBody(go)).toEqual([
      { partNumber: 1, etag: '"0a1b2c-1"' },
      { partNumber: 2, etag: '"0a1b2c-2"' },
    ]);
    expect(parseCompleteBody(Buffer.from(go))).toEqual(parseCompleteBody(go));
  });

  it('decodes named references, prefixes, comments and CDATA', () => {
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<s3:CompleteMultipartUpload xmlns:s3="urn:s3"><!-- esdk -->' +
      '<s3:Part><s3:PartNumber> 3 </s3:PartNumber><s3:ETag>&quot;e&amp;&lt;&gt;&apos;&quot;</s3:ETag></s3:Part>' +
      '<s3:Part><s3:PartNumber>4</s3:PartNumber><s3:ETag><![CDATA["raw&#34;"]]></s3:ETag></s3:Part></s3:CompleteMultipartUpload>';
    expect(parseCompleteBody(body)).toEqual([
      { partNumber: 3, etag: `"e&<>'"` },
      { partNumber: 4, etag: '"raw&#34;"' },
    ]);
  });

  it('an empty part list is left to the store', () => {
    expect(parseCompleteBody('<CompleteMultipartUpload/>')).toEqual([]);
    expect(parseCompleteBody('<CompleteMultipartUpload>\n</CompleteMultipartUpload>')).toEqual([]);
  });

  it.each([
    ['empty', ''],
    ['not XML', 'parts please'],
    ['truncated', '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>'],
    ['&#0;', '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&#0;x&#0;</ETag></Part></CompleteMultipartUpload>'],
    ['&#x110000;', '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&#x110000;</ETag></Part></CompleteMultipartUpload>'],
    ['&#xD800; (surrogate)', '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&#xD800;</ETag></Part></CompleteMultipartUpload>'],
    ['unknown entity', '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&ldquo;x&rdquo;</ETag></Part></CompleteMultipartUpload>'],
    ['bare &', '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a&b</ETag></Part></CompleteMultipartUpload>'],
    ['reference in a part number', '<CompleteMultipartUpload><Part><PartNumber>&#49;&#0;</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>'],
    ['DOCTYPE', '<!DOCTYPE CompleteMultipartUpload><CompleteMultipartUpload/>'],
    ['external entity', '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&xxe;</ETag></Part></CompleteMultipartUpload>'],
    ['another root', '<CompleteMultipart><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipart>'],
    ['part number 0', '<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>'],
    ['part number 10001', '<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>'],
    ['part number in hex', '<CompleteMultipartUpload><Part><PartNumber>0x1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>'],
    ['no ETag', '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>'],
    ['ETag with children', '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag><a/></ETag></Part></CompleteMultipartUpload>'],
    ['empty Part', '<CompleteMultipartUpload><Part/></CompleteMultipartUpload>'],
  ])('%s → MalformedXML', (_what, body) => {
    malformed(() => parseCompleteBody(body));
  });

  it('billion laughs is refused before anything is expanded', () => {
    const entities = Array.from({ length: 10 }, (_, i) =>
      i === 0 ? '<!ENTITY l0 "lol">' : `<!ENTITY l${i} "${`&l${i - 1};`.repeat(10)}">`,
    ).join('');
    const err = malformed(() =>
      parseCompleteBody(`<?xml version="1.0"?><!DOCTYPE c [${entities}]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&l9;</ETag></Part></CompleteMultipartUpload>`),
    );
    expect((err.cause as Error).message).toMatch(/DOCTYPE/);
  });

  it('bytes that are not UTF-8 are MalformedXML', () => {
    malformed(() => parseCompleteBody(Buffer.from([0x3c, 0x61, 0xff, 0xfe, 0x3e])));
  });
});

describe('parseRequestXml', () => {
  it('returns the root element, text or children', () => {
    expect(parseRequestXml('<CreateBucketConfiguration><LocationConstraint>eu&#45;1</LocationConstraint></CreateBucketConfiguration>', 'CreateBucketConfiguration'))
      .toEqual({ LocationConstraint: 'eu-1' });
    expect(parseRequestXml('<CreateBucketConfiguration/>', 'CreateBucketConfiguration')).toBe('');
  });

  it('names the wrong root in the cause', () => {
    const err = malformed(() => parseRequestXml('<Delete/>', 'CreateBucketConfiguration'));
    expect((err.cause as Error).message).toBe('root element must be <CreateBucketConfiguration>, got <Delete>');
  });
});

import { describe, it, expect } from 'vitest';
import { parseXml, decodeXmlBytes, descendants, path, DEFAULT_XML_LIMITS } from './xml.ts';
import { InvalidInput } from './errors.ts';

/** The InvalidInput code thrown by f, or 'no error' / 'not InvalidInput: …'. */
function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof InvalidInput ? e.code : `not InvalidInput: ${String(e)}`;
  }
  return 'no error';
}

describe('xml: what it parses', () => {
  it('elements, attributes, text, CDATA, comments, PIs and the declaration', () => {
    const r = parseXml(`<?xml version="1.0" encoding="UTF-8"?>
<!-- leading comment -->
<?some-pi data?>
<a x="1" y='two'>
  hello <!-- inner --> <b/><c k="v">t<![CDATA[<raw & stuff>]]>u</c>
  <?inner pi?>
</a>
<!-- trailing -->`);
    expect(r.name).toBe('a');
    expect({ ...r.attrs }).toEqual({ x: '1', y: 'two' });
    expect(r.children.map((c) => c.name)).toEqual(['b', 'c']);
    expect(r.children[1].text).toBe('t<raw & stuff>u');
    expect(r.text.replace(/\s+/g, ' ').trim()).toBe('hello');
  });

  it('decodes the five predefined entities and numeric character references only', () => {
    const r = parseXml('<a t="&lt;&gt;&amp;&quot;&apos;&#65;&#x42;">&lt;x&gt; &#x1F600; &#233;</a>');
    expect(r.attrs.t).toBe(`<>&"'AB`);
    expect(r.text).toBe('<x> 😀 é');
  });

  it('normalises literal TAB/CR/LF in attribute values to spaces', () => {
    expect(parseXml('<a t="x\ty\nz"/>').attrs.t).toBe('x y z');
  });

  it('resolves namespaces and reduces names to local names', () => {
    const v2 = parseXml('<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="s" ivorn="i"><Who/></voe:VOEvent>');
    expect(v2).toMatchObject({ name: 'VOEvent', ns: 'http://www.ivoa.net/xml/VOEvent/v2.0' });
    expect({ ...v2.attrs }).toEqual({ schemaLocation: 's', ivorn: 'i' });
    expect(v2.children[0]).toMatchObject({ name: 'Who', ns: '' }); // unprefixed children of a prefixed root: no namespace
    const dflt = parseXml('<VOEvent xmlns="http://www.ivoa.net/xml/VOEvent/v1.1"><Who/></VOEvent>');
    expect(dflt.children[0]).toMatchObject({ name: 'Who', ns: 'http://www.ivoa.net/xml/VOEvent/v1.1' });
    const bare = parseXml('<VOEvent><Who/></VOEvent>');
    expect(bare).toMatchObject({ name: 'VOEvent', ns: '' });
    // a nested default namespace (STC inside VOEvent 1.1) applies to the subtree only
    const nested = parseXml('<r xmlns="A"><s xmlns="B"><t/></s><u/></r>');
    expect([nested.ns, nested.children[0].ns, nested.children[0].children[0].ns, nested.children[1].ns]).toEqual(['A', 'B', 'B', 'A']);
  });

  it('an unprefixed attribute wins a clash of local names; "__proto__" is just a name', () => {
    const r = parseXml('<a xmlns:p="P" p:id="prefixed" id="plain" __proto__="x"/>');
    expect(r.attrs.id).toBe('plain');
    expect(Object.getOwnPropertyDescriptor(r.attrs, '__proto__')?.value).toBe('x');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('accepts a UTF-8 BOM, UTF-16 with BOM and ISO-8859-1 when declared', () => {
    const doc = '<?xml version="1.0"?><a>é</a>';
    expect(parseXml(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(doc)])).text).toBe('é');
    expect(parseXml(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(doc, 'utf16le')])).text).toBe('é');
    expect(parseXml(Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><a>\xe9</a>', 'latin1')).text).toBe('é');
    expect(decodeXmlBytes(Buffer.from('<a/>'))).toBe('<a/>');
  });

  it('navigation helpers', () => {
    const r = parseXml('<a><b><c>1</c></b><b><c>2</c></b></a>');
    expect(path(r, 'b', 'c')?.text).toBe('1');
    expect(path(r, 'b', 'x', 'c')).toBeUndefined();
    expect(descendants(r, 'c').map((c) => c.text)).toEqual(['1', '2']);
  });
});

describe('xml: what it refuses', () => {
  it('DOCTYPE and ENTITY declarations (billion laughs, XXE) → voevent.entity_declared, fast', () => {
    const lol = ['<!ENTITY lol "lol">'];
    for (let k = 1; k <= 9; k++) lol.push(`<!ENTITY lol${k} "${`&lol${k === 1 ? '' : k - 1};`.repeat(10)}">`);
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [${lol.join('')}]><lolz>&lol9;</lolz>`;
    const t = performance.now();
    expect(code(() => parseXml(laughs))).toBe('voevent.entity_declared');
    expect(performance.now() - t).toBeLessThan(50);
    expect(code(() => parseXml('<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>'))).toBe('voevent.entity_declared');
    expect(code(() => parseXml('<!doctype html><x/>'))).toBe('voevent.entity_declared');
    expect(code(() => parseXml('<x/><!ENTITY a "b">'))).toBe('voevent.entity_declared');
  });

  it('references to undeclared entities are not well-formed (no expansion ever happens)', () => {
    expect(code(() => parseXml('<x>&xxe;</x>'))).toBe('voevent.malformed_xml');
    expect(code(() => parseXml('<x a="&nbsp;"/>'))).toBe('voevent.malformed_xml');
    expect(code(() => parseXml('<x>a & b</x>'))).toBe('voevent.malformed_xml');
  });

  it('size: over maxBytes → voevent.too_large before parsing; exactly maxBytes is fine', () => {
    const pad = (n: number) => `<a>${' '.repeat(n - 7)}</a>`;
    expect(pad(DEFAULT_XML_LIMITS.maxBytes).length).toBe(DEFAULT_XML_LIMITS.maxBytes);
    expect(code(() => parseXml(pad(DEFAULT_XML_LIMITS.maxBytes)))).toBe('no error');
    expect(code(() => parseXml(pad(DEFAULT_XML_LIMITS.maxBytes + 1)))).toBe('voevent.too_large');
    expect(code(() => parseXml(Buffer.from(pad(DEFAULT_XML_LIMITS.maxBytes + 1))))).toBe('voevent.too_large');
    // multi-byte characters count as bytes, not UTF-16 units
    expect(code(() => parseXml(`<a>${'é'.repeat(600_000)}</a>`))).toBe('voevent.too_large');
    expect(code(() => parseXml('<a>12345</a>', { maxBytes: 10 }))).toBe('voevent.too_large');
  });

  it('depth and element-count limits', () => {
    const deep = (n: number) => '<a>'.repeat(n) + '</a>'.repeat(n);
    expect(code(() => parseXml(deep(64)))).toBe('no error');
    expect(code(() => parseXml(deep(65)))).toBe('voevent.malformed_xml');
    expect(code(() => parseXml(deep(100_000)))).toBe('voevent.malformed_xml');
    expect(code(() => parseXml(`<a>${'<b/>'.repeat(11)}</a>`, { maxElements: 10 }))).toBe('voevent.malformed_xml');
  });

  it.each([
    ['empty document', ''],
    ['plain text', 'not xml at all'],
    ['unclosed root', '<a><b></b>'],
    ['mismatched end tag', '<a><b></a></b>'],
    ['end tag without start', '</a>'],
    ['two roots', '<a/><b/>'],
    ['text after root', '<a/>tail'],
    ['unquoted attribute', '<a x=1/>'],
    ['attribute without value', '<a x/>'],
    ['duplicate attribute', '<a x="1" x="2"/>'],
    ['< in attribute value', '<a x="<"/>'],
    ['attributes not separated', '<a x="1"y="2"/>'],
    ['unterminated comment', '<a><!-- x</a>'],
    ['unterminated CDATA', '<a><![CDATA[x</a>'],
    ['CDATA outside root', '<![CDATA[x]]><a/>'],
    ['XML declaration not first', '<a/><?xml version="1.0"?>'],
    ['bad name', '<1a/>'],
    ['control character', '<a>\u0001</a>'],
    ['invalid character reference', '<a>&#0;</a>'],
    ['surrogate character reference', '<a>&#xD800;</a>'],
    ['unterminated start tag', '<a'],
    ['unknown markup', '<a><!FOO></a>'],
  ])('%s → voevent.malformed_xml', (_what, doc) => {
    expect(code(() => parseXml(doc))).toBe('voevent.malformed_xml');
  });

  it('bytes invalid in the declared encoding, and unsupported encodings', () => {
    expect(code(() => parseXml(Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x61, 0x3e])))).toBe('voevent.malformed_xml');
    expect(code(() => parseXml(Buffer.from('<?xml version="1.0" encoding="EBCDIC"?><a/>')))).toBe('voevent.malformed_xml');
    expect(code(() => parseXml(Buffer.from('<?xml version="1.0" encoding="US-ASCII"?><a>\xe9</a>', 'latin1')))).toBe('voevent.malformed_xml');
  });

  it('error messages say where', () => {
    try {
      parseXml('<a>\n  <b>\n</a>');
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/line 3, column 1/);
    }
  });

  it('stays linear on large inputs (1 MiB of elements in well under a second)', () => {
    const doc = `<a>${'<b x="1">t</b>'.repeat(70_000)}</a>`;
    const t = performance.now();
    expect(parseXml(doc).children.length).toBe(70_000);
    expect(performance.now() - t).toBeLessThan(1000);
  });
});

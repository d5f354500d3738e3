import { describe, expect, it } from 'vitest';
import { escapeHtml, html, trusted } from './html.ts';
import { safeNext } from './context.ts';
import { Router } from './router.ts';

describe('html escaping', () => {
  it('escapes every interpolated value, keeps nested html and trusted markup', () => {
    const evil = `<script>alert("x")</script>' onload='x`;
    const out = String(html`<p title="${evil}">${evil}${html`<b>${'&'}</b>`}${trusted('<i>ok</i>')}${[1, '<', null, undefined, false]}</p>`);
    expect(out).not.toContain('<script>');
    expect(out).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onload=&#39;x');
    expect(out).toContain('<b>&amp;</b><i>ok</i>1&lt;');
    expect(escapeHtml(`"'<>&`)).toBe('&quot;&#39;&lt;&gt;&amp;');
  });
});

describe('redirect after login', () => {
  it('only allows local paths', () => {
    expect(safeNext('/products?burst=sb1')).toBe('/products?burst=sb1');
    for (const bad of ['//evil.example/', 'https://evil.example/', '/\\evil', 'javascript:alert(1)', '', null, '/api/stages', '/login', '/x\r\nSet-Cookie: a=b']) expect(safeNext(bad)).toBe('/');
  });
});

describe('router', () => {
  it('matches patterns with decoded parameters, HEAD as GET, and reports other methods', () => {
    const r = new Router();
    r.get('/products/:id/thumb/:hdu', 'view', () => {});
    r.post('/shifts/:id', 'shifts.edit', () => {});
    const m = r.match('HEAD', '/products/sb1%2F2/thumb/3');
    expect(m.route?.access).toBe('view');
    expect(m.params).toEqual({ id: 'sb1/2', hdu: '3' });
    expect(r.match('GET', '/shifts/abc').allowed).toEqual(['POST']);
    expect(r.match('GET', '/products/x').route).toBeUndefined();
    expect(r.match('GET', '/products/%E0%A4%A/thumb/1').route).toBeUndefined(); // malformed escape
  });
});

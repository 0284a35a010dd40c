import { describe, expect, it } from 'vitest';
import { escapeHtml, html, rawText } from '../../functions/web/html.ts';

describe('html', () => {
  it('escapes every interpolated value, including inside attributes', () => {
    const value = `"><script>alert('x')</script>&`;
    expect(html`<input value="${value}">`.value).toBe(
      '<input value="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">',
    );
    expect(escapeHtml('a<b')).toBe('a&lt;b');
  });

  it('passes nested html through once and joins lists', () => {
    const items = ['<1>', '2'].map((i) => html`<li>${i}</li>`);
    expect(html`<ul>${items}</ul>`.value).toBe('<ul><li>&lt;1&gt;</li><li>2</li></ul>');
  });

  it('keeps script text intact but cannot be closed early', () => {
    expect(rawText('a < b && c').value).toBe('a < b && c');
    expect(rawText('x = "</script><b>"').value).toBe('x = "<\\/script><b>"');
  });
});

// Every word of the hub console exists in both languages, and the 简体中文 console has no
// English word but names a Chinese office uses as they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { keys, translator } from '../../crates/hub/console/i18n.js';

const html = readFileSync(new URL('../../crates/hub/console/index.html', import.meta.url), 'utf8');
const ALLOWED = new Set(['PrintRelay', 'ID', 'RTT', 'PDF', 'HTML', 'OS', 'ms']);
const zh = translator('zh-CN');

/** Latin-letter words of `text` a zh-CN reader should not see. */
function foreignWords(text) {
  return (String(text).match(/[A-Za-z]+/g) || []).filter((word) => !ALLOWED.has(word));
}

test('en and zh-CN have the same keys', () => {
  const en = new Set(keys('en'));
  const cn = new Set(keys('zh-CN'));
  assert.deepEqual([...en].filter((k) => !cn.has(k)), [], 'missing in zh-CN');
  assert.deepEqual([...cn].filter((k) => !en.has(k)), [], 'missing in en');
});

test('every zh-CN string, filled in, is Chinese', () => {
  for (const key of keys('zh-CN')) {
    const value = zh(key, 2, 5, 3);
    assert.equal(typeof value, 'string', key);
    assert.deepEqual(foreignWords(value), [], `${key}: "${value}"`);
  }
});

test('every data-i18n key of index.html exists', () => {
  const known = new Set(keys('en'));
  const used = [...html.matchAll(/data-i18n(?:-placeholder|-aria-label)?="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(used.length > 40, 'the page is translated');
  assert.deepEqual(used.filter((key) => !known.has(key)), []);
});

test('every visible text of index.html is translated; no inline script or style (the CSP forbids them)', () => {
  const body = html.slice(html.indexOf('<body>'));
  // Text between tags whose element carries no data-i18n: only the brand and the language names.
  const literal = [...body.matchAll(/<([a-z0-9]+)((?:\s[^>]*)?)>([^<]*[A-Za-z\u4e00-\u9fff][^<]*)</g)]
    .filter(([, , attrs]) => !/data-i18n=/.test(attrs)).map(([, , , text]) => text.trim());
  assert.deepEqual(literal, ['PrintRelay', 'English', '简体中文']);
  assert.doesNotMatch(html, /\sstyle=/);
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)/);
  assert.doesNotMatch(html, /\son[a-z]+=/);
  const labels = [...html.matchAll(/<[^>]*\saria-label="[^"]*"[^>]*>/g)].map((m) => m[0])
    .filter((tag) => !tag.includes('data-i18n-aria-label='));
  assert.deepEqual(labels, [], 'every aria-label has a data-i18n-aria-label key');
});

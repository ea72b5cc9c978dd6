// Every word a user of the 简体中文 window and tray sees is Chinese: each state, error
// code, settings problem, warning, notification and tray tooltip Rust can send
// (tests/ui/contract.json), rendered by the UI's own code (the tray's texts rendered by
// Rust into the contract), holds no Latin-letter word but names a Chinese office uses
// as they are. The samples' own data (titles, ids, printer names, addresses, the raw
// technical detail) is the user's, not the window's, and is taken out first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  commandErrorText, describeConnection, describeConnectionEvent, describeHeartbeat, describeJob,
  describePrinter, documentKindText, jobDetails, jobErrorText, warningText,
} from '../../ui/view.js';
import { keys, translator } from '../../ui/i18n.js';

const contract = JSON.parse(readFileSync(new URL('./contract.json', import.meta.url)));
const html = readFileSync(new URL('../../ui/index.html', import.meta.url), 'utf8');
const zh = translator('zh-CN');
const SERVER = 'http://10.0.0.5:3000';
const NOW = 1_764_000_001_000;
// Acronyms, setting values typed as they are (`system`, `none` for the proxy), and the
// product an administrator installs to print web pages (Chromium).
const ALLOWED = new Set(['PrintRelay', 'ID', 'IP', 'URL', 'PDF', 'B', 'KB', 'MB', 'GB', 'KiB', 'MiB', 'CA', 'PEM',
  'system', 'none', 'WebSocket', 'HTTP', 'Chromium']);
const DATA_FIELDS = new Set(['title', 'jobId', 'printer', 'systemName', 'name', 'clientId', 'serverUrl',
  'sid', 'lastError', 'detail', 'message', 'reason', 'token', 'reprintOf']);

/** The data strings of the samples, longest first. */
function sampleData() {
  const found = new Set(['raw detail', SERVER, '10.0.0.5:3000', 'pc-1']);
  const walk = (value, key) => {
    if (typeof value === 'string') {
      if (DATA_FIELDS.has(key) && value) found.add(value);
    } else if (Array.isArray(value)) {
      value.forEach((v) => walk(v, key));
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  walk(contract, '');
  return [...found].sort((a, b) => b.length - a.length);
}
const DATA = sampleData();

/** Latin-letter words of `text` that a zh-CN user should not see. */
function foreignWords(text) {
  // Addresses and paths (`/socket.io/`) are typed as they are, in any language.
  let rest = String(text).replace(/https?:\/\/\S*/g, ' ').replace(/(^|\s)\/[\w./-]*/g, ' ');
  for (const data of DATA) rest = rest.split(data).join(' ');
  return (rest.match(/[A-Za-z]+/g) || []).filter((word) => !ALLOWED.has(word));
}

function assertChinese(text, what) {
  const words = foreignWords(text);
  assert.deepEqual(words, [], `${what}: "${text}" has ${words.join(', ')}`);
}

test('every string of the window, filled in, is Chinese', () => {
  for (const key of keys()) {
    const value = zh(key, 2, 5, 3);
    assertChinese(value, key);
  }
});

test('every connection state, history entry and the heartbeat read in Chinese', () => {
  const states = contract.events.filter((e) => e.event.type === 'connection').map((e) => e.event.payload);
  for (const state of states) {
    const view = describeConnection(state, zh, NOW, SERVER);
    assertChinese(view.label, `${state.state} label`);
    assertChinese(view.detail, `${state.state} detail`);
  }
  for (const problem of contract.connectionProblems) {
    const view = describeConnection({ state: 'gaveUp', attempts: 5, lastError: 'raw detail', problem, retryAt: NOW },
      zh, NOW, SERVER);
    assertChinese(view.detail, problem);
  }
  const entries = contract.snapshot.connectionEvents;
  entries.forEach((entry, i) => {
    assertChinese(describeConnectionEvent(entry, entries[i - 1], zh, SERVER).text, entry.event.state);
  });
  assertChinese(describeHeartbeat(contract.snapshot.heartbeat, zh, NOW), 'heartbeat');
});

test('every job, job error, printer, settings problem, command error and warning reads in Chinese', () => {
  const jobs = contract.events.filter((e) => e.event.type === 'job').map((e) => e.event.payload);
  for (const job of jobs) {
    for (const [cell, value] of Object.entries(describeJob(job, zh))) assertChinese(value, `${job.state} ${cell}`);
    for (const [label, value] of jobDetails(job, zh)) {
      assertChinese(zh(label), `label ${label}`);
      // The technical line is the raw detail on purpose, one click away.
      if (label !== 'technical') assertChinese(value, `${job.state} ${label}`);
    }
  }
  for (const code of contract.jobErrorCodes) assertChinese(jobErrorText({ code, message: 'raw detail' }, zh), code);
  for (const kind of contract.documentKinds) assertChinese(documentKindText(kind, zh), kind);
  for (const printer of contract.printers) {
    const view = describePrinter(printer.systemName, contract.printers, zh);
    assertChinese(view.state, printer.systemName);
  }
  for (const problem of contract.settingsProblems) assertChinese(commandErrorText(problem, zh), problem.field);
  for (const code of contract.commandErrorCodes) {
    assertChinese(commandErrorText({ code, message: 'raw detail' }, zh), code);
  }
  for (const warning of contract.snapshot.warnings) assertChinese(warningText(warning, zh), warning.code);
});

test('the tray says everything in Chinese: tooltips, menu and notifications', () => {
  const shell = contract.shell['zh-CN'];
  for (const tooltip of shell.tooltips) assertChinese(tooltip, 'tooltip');
  for (const item of shell.menu) assertChinese(item, 'menu');
  for (const { title, body } of shell.notifications) {
    assertChinese(title, 'notification title');
    assertChinese(body, 'notification body');
  }
  // Chinese punctuation in Chinese text.
  assert.ok(shell.tooltips.every((t) => t.includes('：') && !t.includes(': ')), 'full-width colons');
});

test('labels for screen readers are translated too', () => {
  const literal = [...html.matchAll(/<[^>]*\saria-label="[^"]*"[^>]*>/g)].map((m) => m[0])
    .filter((tag) => !tag.includes('data-i18n-aria-label='));
  assert.deepEqual(literal, [], 'every aria-label has a data-i18n-aria-label key');
});

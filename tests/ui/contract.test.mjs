// The UI reads what Rust sends: samples serialized by the Rust types (tests/ui/contract.json,
// kept current by src-tauri/src/contract.rs) go through the UI's own code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { channels } from '../../ui/api.js';
import {
  commandErrorText, describeConnection, describeConnectionEvent, describeHeartbeat, describeJob, describePrinter,
  documentKindText, jobDetails, normalizeDraft,
} from '../../ui/view.js';
import { translator } from '../../ui/i18n.js';

const contract = JSON.parse(readFileSync(new URL('./contract.json', import.meta.url)));
const html = readFileSync(new URL('../../ui/index.html', import.meta.url), 'utf8');
const languages = [translator('en'), translator('zh-CN')];
const untranslated = (text) => /undefined|NaN|null|\[object/.test(text) || /^(state|job|printer|event)\./.test(text);

test('every event Rust emits arrives on a channel the UI listens to', () => {
  const known = new Set(Object.values(channels));
  for (const { channel } of contract.events) assert.ok(known.has(channel), channel);
  // ...and every channel the UI knows is one Rust uses.
  assert.deepEqual(new Set(contract.events.map((e) => e.channel)), known);
});

test('every connection state renders in both languages', () => {
  for (const t of languages) {
    for (const { event } of contract.events.filter((e) => e.event.type === 'connection')) {
      const view = describeConnection(event.payload, t, 1_764_000_001_000);
      assert.ok(!untranslated(view.label), view.label);
      assert.ok(!untranslated(view.detail), `${event.payload.state}: ${view.detail}`);
    }
  }
});

test('every connection problem Rust can report is put into words in both languages', () => {
  assert.ok(contract.connectionProblems.length >= 9, 'the list of codes');
  for (const t of languages) {
    const seen = new Set();
    for (const problem of contract.connectionProblems) {
      const view = describeConnection(
        { state: 'gaveUp', attempts: 5, lastError: 'os error 10061', problem, retryAt: null }, t, 0, 'http://10.0.0.5:3000');
      assert.ok(!view.detail.includes('os error'), `${problem}: the raw text is not the sentence`);
      assert.ok(!/problem\./.test(view.detail), `${problem} has no words: ${view.detail}`);
      seen.add(view.detail);
    }
    assert.equal(seen.size, contract.connectionProblems.length, 'each code its own sentence');
  }
});

test('every job error code Rust can send is put into words in both languages', () => {
  assert.ok(contract.jobErrorCodes.length >= 20, 'the list of codes');
  for (const t of languages) {
    const seen = new Set();
    for (const code of contract.jobErrorCodes) {
      const job = { jobId: 'j', title: 'Invoice', state: 'failed', receivedAt: 0, updatedAt: 0, sizeBytes: 1,
        copies: 1, error: { code, message: 'raw detail (os error 5)' } };
      const { state } = describeJob(job, t);
      assert.ok(!state.includes('raw detail'), `${code}: the raw text is not the sentence: ${state}`);
      seen.add(state);
      const details = new Map(jobDetails(job, t));
      assert.equal(details.get('technical'), `${code}: raw detail (os error 5)`, 'the raw words one click away');
    }
    assert.equal(seen.size, contract.jobErrorCodes.length, 'each code its own sentence');
  }
});

test('every kind of document Rust can record is named in both languages, each its own way', () => {
  assert.equal(contract.documentKinds.length, 9, 'the list of kinds');
  for (const t of languages) {
    const names = contract.documentKinds.map((kind) => documentKindText(kind, t));
    for (const [index, name] of names.entries()) {
      assert.ok(!name.includes('_'), `${contract.documentKinds[index]}: no raw name: ${name}`);
    }
    assert.equal(new Set(names).size, names.length, names.join(', '));
    // The sample job is an HTML one: its row and its details name the kind.
    const job = contract.events.find((e) => e.event.type === 'job').event.payload;
    assert.equal(describeJob(job, t).kind, t('kind.html'));
    assert.equal(new Map(jobDetails(job, t)).get('kind'), t('kind.html'));
  }
  // A job rejected before it had a document shows no kind.
  assert.equal(documentKindText(null, languages[0]), '—');
});

test('the heartbeat sample renders as exact text in both languages', () => {
  const hb = contract.events.find((e) => e.event.type === 'heartbeat').event.payload;
  // Exact text: the age (2 s), the interval and timeout from the sample, and the RTT.
  const expected = [
    ['2 s ago (every 25 s, timeout 20 s), round trip 3 ms', '0 s ago (every 25 s, timeout 20 s), round trip 3 ms'],
    ['2 秒前（间隔 25 秒，超时 20 秒），延迟 3 毫秒', '0 秒前（间隔 25 秒，超时 20 秒），延迟 3 毫秒'],
  ];
  languages.forEach((t, index) => {
    assert.equal(describeHeartbeat(hb, t, hb.lastPingAt + 2_000), expected[index][0]);
    assert.equal(describeHeartbeat(hb, t, hb.lastPingAt), expected[index][1]);
  });
});

test('job events render without holes', () => {
  for (const t of languages) {
    for (const { event } of contract.events.filter((e) => e.event.type === 'job')) {
      const cells = describeJob(event.payload, t);
      for (const value of Object.values(cells)) assert.ok(!untranslated(value), value);
      for (const [key, value] of jobDetails(event.payload, t)) {
        assert.notEqual(t(key), key, `label ${key}`);
        assert.ok(!untranslated(value), `${key}: ${value}`);
      }
    }
  }
});

test('the snapshot has every field the window reads', () => {
  const snap = contract.snapshot;
  for (const key of ['connection', 'heartbeat', 'settings', 'connectionEvents', 'paused', 'autostart', 'locked', 'warnings']) {
    assert.ok(key in snap, key);
  }
  assert.equal(typeof snap.autostart.enabled, 'boolean');
  const events = snap.connectionEvents;
  events.forEach((entry, i) => {
    const line = describeConnectionEvent(entry, events[i + 1] || null, translator('en'));
    assert.ok(!untranslated(line.text), line.text);
  });
});

test('the settings form sends back exactly what Rust sent', () => {
  const settings = contract.snapshot.settings;
  for (const key of ['serverUrl', 'clientId', 'token', 'printer', 'allowServerPrinterChoice', 'reconnect', 'autostart', 'notifications', 'language']) {
    assert.ok(key in settings, key);
  }
  assert.deepEqual(normalizeDraft(structuredClone(settings)), settings);
  assert.deepEqual(Object.keys(contract.savedSettings).sort(), ['autostart', 'settings']);
});

test('every field Rust can blame has a place for its message in the form', () => {
  for (const problem of contract.settingsProblems) {
    assert.ok(problem.code && problem.message, JSON.stringify(problem));
    assert.ok(html.includes(`id="err-${problem.field}"`), `no err-${problem.field} in index.html`);
  }
});

test('a field the policy locked is a field of the form, and a refused change says who set it', () => {
  assert.ok(contract.snapshot.locked.length > 0);
  for (const field of contract.snapshot.locked) {
    assert.ok(html.includes(`name="${field}"`), `no input named ${field} in index.html`);
  }
  const locked = contract.settingsProblems.find((p) => p.code === 'locked_by_policy');
  assert.ok(locked, 'a locked_by_policy sample');
  for (const t of languages) {
    const text = commandErrorText(locked, t);
    assert.equal(text, t('commandError.locked_by_policy'));
    assert.ok(!untranslated(text), text);
  }
});

test('printer states render', () => {
  for (const t of languages) {
    for (const printer of contract.printers) {
      const line = describePrinter(printer.systemName, contract.printers, t);
      assert.ok(!untranslated(line.state), line.state);
    }
    assert.equal(describePrinter('Office', contract.printers, t).ok, false);
    assert.equal(describePrinter('Gone', contract.printers, t).ok, false);
  }
});

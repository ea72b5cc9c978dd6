// UI logic tests (node --test): what the window shows for the agent's data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeConnection, describeHeartbeat, mergeJob } from '../../ui/view.js';
import { pickLanguage, translator } from '../../ui/i18n.js';

const en = translator('en');
const zh = translator('zh-CN');

test('reconnecting shows attempt k of n, the countdown and the last error', () => {
  const view = describeConnection(
    { state: 'reconnecting', attempt: 2, maxAttempts: 5, retryAt: 10_500, lastError: 'refused (os error 111)', problem: 'server_unreachable' },
    en, 8_000, 'http://10.0.0.5:3000');
  assert.equal(view.label, 'Reconnecting');
  assert.equal(view.detail, 'attempt 2 of 5 · next try in 3 s · The server does not answer at 10.0.0.5:3000. Is it running?');
  assert.equal(view.technical, 'refused (os error 111)', 'the raw text stays one click away');
  assert.equal(view.canReconnect, true);
});

test('gave up offers Reconnect; connected does not', () => {
  assert.equal(describeConnection({ state: 'gaveUp', attempts: 5, lastError: 'x' }, en, 0).canReconnect, true);
  assert.equal(describeConnection({ state: 'connected', since: 0, sid: 's' }, en, 0).canReconnect, false);
  assert.equal(describeConnection({ state: 'gaveUp', attempts: 5, lastError: 'x' }, zh, 0).label, '离线');
});

test('connected says how packets travel: long-polling is named as the network refusing WebSocket', () => {
  const polling = describeConnection({ state: 'connected', since: 0, sid: 's', transport: 'polling' }, en, 0);
  assert.match(polling.detail, / · HTTP long-polling \(the network refuses WebSocket\)$/);
  const websocket = describeConnection({ state: 'connected', since: 0, sid: 's', transport: 'websocket' }, zh, 0);
  assert.match(websocket.detail, / · WebSocket$/);
});

test('gave up says when the background retry comes, or nothing when it is off', () => {
  const at = Date.UTC(2026, 11, 1, 14, 5, 0);
  const on = describeConnection({ state: 'gaveUp', attempts: 5, lastError: 'x', problem: 'token_refused', retryAt: at }, en, at);
  assert.equal(on.detail, `Couldn't connect after 5 tries: The server refused the token. Check the token in Settings. · trying again in the background at ${new Date(at).toLocaleTimeString('en')}`);
  assert.equal(on.canReconnect, true);
  const off = describeConnection({ state: 'gaveUp', attempts: 5, lastError: 'x', problem: 'timeout', retryAt: null }, en, 0, 'https://hub.example:8443/print');
  assert.equal(off.detail, "Couldn't connect after 5 tries: The server hub.example:8443 did not answer in time.");
  const zhOn = describeConnection({ state: 'gaveUp', attempts: 5, lastError: 'x', retryAt: at }, zh, at);
  assert.match(zhOn.detail, /在后台再次尝试$/);
});

test('heartbeat line counts seconds since the last ping and shows RTT when known', () => {
  const hb = { lastPingAt: 1_000, pingIntervalMs: 10_000, pingTimeoutMs: 5_000, deadAt: 16_000, rttMs: null };
  assert.equal(describeHeartbeat(hb, en, 4_200), '3 s ago (every 10 s, timeout 5 s)');
  assert.equal(describeHeartbeat({ ...hb, rttMs: 4 }, en, 4_200), '3 s ago (every 10 s, timeout 5 s), round trip 4 ms');
  assert.equal(describeHeartbeat({ lastPingAt: null }, en, 0), '—');
});

test('job updates replace the record with the same id, newest first', () => {
  let jobs = [];
  jobs = mergeJob(jobs, { jobId: 'a', receivedAt: 1, state: 'received' });
  jobs = mergeJob(jobs, { jobId: 'b', receivedAt: 2, state: 'received' });
  jobs = mergeJob(jobs, { jobId: 'a', receivedAt: 1, state: 'completed' });
  assert.deepEqual(jobs.map((j) => [j.jobId, j.state]), [['b', 'received'], ['a', 'completed']]);
});

test('language follows the setting, then the system', () => {
  assert.equal(pickLanguage('en', ['zh-CN']), 'en');
  assert.equal(pickLanguage('system', ['zh-TW', 'en']), 'zh-CN');
  assert.equal(pickLanguage('system', ['de-DE']), 'en');
});

test('both languages have every string', async () => {
  const { missingKeys } = await import('../../ui/i18n.js');
  assert.deepEqual(missingKeys(), []);
});

test('job filters, actions and the connection history read as a person would', async () => {
  const { jobMatches, jobActions, describeConnectionEvent, normalizeDraft, localProblems } = await import('../../ui/view.js');
  const job = { jobId: 'INV-7', title: 'Invoice', state: 'spooled' };
  assert.equal(jobMatches(job, 'waiting', 'inv'), true);
  assert.equal(jobMatches(job, 'failed', ''), false);
  assert.deepEqual(jobActions(job), { cancel: true, reprint: true });
  assert.deepEqual(jobActions({ ...job, state: 'completed' }), { cancel: false, reprint: true });
  const lost = describeConnectionEvent({ at: 0, event: { state: 'reconnecting', lastError: 'reset', problem: 'connection_lost' } }, { at: 0, event: { state: 'connected' } }, en);
  assert.equal(lost.text, 'Connection lost');
  const retrying = describeConnectionEvent({ at: 0, event: { state: 'reconnecting', lastError: 'x', problem: 'certificate_untrusted' } }, { at: 0, event: { state: 'reconnecting' } }, zh, 'https://hub.example');
  assert.equal(retrying.text, '正在重试：服务器 hub.example 的证书不受信任。');
  const kicked = describeConnection({ state: 'kicked', reason: 'replaced' }, zh, 0);
  assert.equal(kicked.detail, '另一台电脑使用相同的客户端 ID 连接了服务器。');
  const back = describeConnectionEvent({ at: 1, event: { state: 'connected' } }, { at: 0, event: { state: 'reconnecting' } }, zh);
  assert.equal(back.text, '已重新连接');
  const draft = normalizeDraft({ serverUrl: ' http://x ', clientId: 'a', token: '', printer: '', reconnect: { attempts: '3', delayMs: '', delayMaxMs: '5', connectTimeoutMs: '100', backgroundRetryMs: '0' } });
  assert.equal(draft.serverUrl, 'http://x');
  assert.equal(draft.token, null);
  assert.deepEqual(localProblems(draft, en).map((p) => p.field), ['reconnect.delayMs']);
});

test('a job error reads in the language, and a code this window does not know shows its message', async () => {
  const { describeJob } = await import('../../ui/view.js');
  const job = { jobId: 'j', title: 't', state: 'failed', receivedAt: 0, sizeBytes: 1,
    error: { code: 'printer_not_found', message: 'no printer "Labels"' } };
  assert.equal(describeJob(job, zh).state, '失败：本机没有安装该打印机。');
  assert.equal(describeJob(job, en).state, 'Failed: The printer is not installed on this computer.');
  const newer = { ...job, error: { code: 'some_new_code', message: 'what a newer agent says' } };
  assert.equal(describeJob(newer, en).state, 'Failed: what a newer agent says');
});

test('times follow the language', async () => {
  const { describeJob } = await import('../../ui/view.js');
  const job = { jobId: 'j', title: 't', state: 'completed', receivedAt: Date.UTC(2026, 10, 26, 15, 4), sizeBytes: 1 };
  assert.match(describeJob(job, zh).time, /^2026\/11\/2[67]/);
  assert.match(describeJob(job, en).time, /^11\/2[67]\/2026/);
});

test('zh-CN times: two-digit month and day, 24-hour clock; a time not today shows its date', async () => {
  const { formatDateTime, formatWhen } = await import('../../ui/view.js');
  const at = new Date(2026, 11, 1, 21, 6, 56).getTime();
  assert.equal(formatDateTime(at, 'zh-CN'), '2026/12/01 21:06:56');
  assert.equal(formatWhen(at, 'zh-CN', at + 60_000), '21:06:56');
  assert.equal(formatWhen(at, 'zh-CN', at + 86_400_000), '2026/12/01 21:06:56');
});

test('reconnect delays are typed in seconds and kept in milliseconds', async () => {
  const { secondsToMs, msToSeconds, normalizeDraft, localProblems } = await import('../../ui/view.js');
  assert.equal(secondsToMs('1.5'), 1500);
  assert.equal(secondsToMs(' 60 '), 60000);
  assert.equal(secondsToMs('0.1'), 100);
  assert.equal(msToSeconds(5000), '5');
  assert.equal(msToSeconds(100), '0.1');
  const draft = normalizeDraft({ reconnect: { attempts: '5', delayMs: secondsToMs('1,5'),
    delayMaxMs: secondsToMs('5'), connectTimeoutMs: secondsToMs('10'), backgroundRetryMs: secondsToMs('0') } });
  assert.deepEqual(localProblems(draft, en).map((p) => p.field), ['reconnect.delayMs'], 'a comma is not a number');
  assert.equal(draft.reconnect.backgroundRetryMs, 0);
});

test('a page read while a job changed keeps the newer record of that job', async () => {
  const { freshest } = await import('../../ui/view.js');
  const page = [
    { jobId: 'a', state: 'received', updatedAt: 10 },
    { jobId: 'b', state: 'completed', updatedAt: 20 },
  ];
  const known = [
    { jobId: 'a', state: 'failed', updatedAt: 10 },
    { jobId: 'b', state: 'spooled', updatedAt: 15 },
  ];
  assert.deepEqual(freshest(page, known).map((j) => j.state), ['failed', 'completed']);
});

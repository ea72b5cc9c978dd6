// Console logic tests (node --test): what the hub console shows for the hub's data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ageText, apiErrorText, applyJobEvent, applyJobEventToList, buildTimeline, bytesToBase64, createSseParser,
  describeClient, describeJobRow, eventMatchesFilters, formatDateTime, isCancellable, jobErrorText, jobsQuery,
  oldestWaitingText, pcMatches, printBody, printerOptions, sortClients, startOfDay, waitingPerClient,
} from '../../crates/hub/console/view.js';
import { pickLanguage, translator } from '../../crates/hub/console/i18n.js';

const en = translator('en');
const zh = translator('zh-CN');

test('SSE: events split anywhere, comments skipped, data lines joined', () => {
  const stream = ': subscribed\n\nevent: job\ndata: {"jobId":"a","state":"queued"}\n\n'
    + 'event: client\r\ndata: {"clientId":"pc-1",\r\ndata: "connected":true}\r\n\r\n'
    + ':keep-alive\n\ndata: plain\n\n';
  const expected = [
    { event: 'job', data: '{"jobId":"a","state":"queued"}' },
    { event: 'client', data: '{"clientId":"pc-1",\n"connected":true}' },
    { event: 'message', data: 'plain' },
  ];
  // Whole, then one character at a time (a CR and its LF in different chunks too).
  assert.deepEqual(createSseParser().feed(stream), expected);
  const parser = createSseParser();
  const events = [];
  for (const ch of stream) events.push(...parser.feed(ch));
  assert.deepEqual(events, expected);
  assert.deepEqual(JSON.parse(events[1].data), { clientId: 'pc-1', connected: true });
});

test('SSE: bytes split inside a UTF-8 character still decode; an unfinished event is dropped at the end', () => {
  const bytes = new TextEncoder().encode('event: job\ndata: {"message":"打印机缺纸"}\n\nevent: job\ndata: half');
  const parser = createSseParser();
  const events = [];
  for (let i = 0; i < bytes.length; i += 1) events.push(...parser.feed(bytes.subarray(i, i + 1)));
  events.push(...parser.end());
  assert.deepEqual(events, [{ event: 'job', data: '{"message":"打印机缺纸"}' }]);
  assert.deepEqual(createSseParser().feed('data:x\nevent:lagged\ndata:{"missed":3}\n\n'),
    [{ event: 'lagged', data: 'x\n{"missed":3}' }], 'the space after the colon is optional');
});

const job = {
  jobId: 'j1', clientId: 'pc-1', state: 'completed', createdAt: 1000, updatedAt: 5000, expiresAt: null,
  deliveredAt: 2000, cancelRequestedAt: null, error: null,
  events: [
    { jobId: 'j1', state: 'received', at: 3000, printer: 'HP' },
    { jobId: 'j1', state: 'spooled', at: 4000, printer: 'HP', spoolerJobId: 12 },
    { jobId: 'j1', state: 'completed', at: 5000, printer: 'HP' },
  ],
};

test('timeline: queued, delivered, each status; a hub-side cancel or expiry closes it', () => {
  assert.deepEqual(buildTimeline(job).map((e) => [e.state, e.at]),
    [['queued', 1000], ['delivered', 2000], ['received', 3000], ['spooled', 4000], ['completed', 5000]]);
  assert.equal(buildTimeline(job)[3].spoolerJobId, 12);
  const expired = { ...job, state: 'expired', deliveredAt: null, events: [], updatedAt: 9000,
    error: { code: 'expired', message: 'ttl passed' } };
  const timeline = buildTimeline(expired);
  assert.deepEqual(timeline.map((e) => e.state), ['queued', 'expired']);
  assert.equal(timeline[1].at, 9000);
  assert.equal(timeline[1].byHub, true);
  assert.equal(timeline[1].error.code, 'expired');
  // The PC reported the cancel itself: no second entry.
  const cancelled = { ...job, state: 'cancelled', events: [{ jobId: 'j1', state: 'cancelled', at: 3500, printer: 'HP' }] };
  assert.deepEqual(buildTimeline(cancelled).map((e) => e.state), ['queued', 'delivered', 'cancelled']);
});

test('only a job that has not printed nor ended may be cancelled', () => {
  for (const state of ['queued', 'delivered', 'received', 'spooled']) assert.equal(isCancellable({ state }), true, state);
  for (const state of ['completed', 'failed', 'rejected', 'expired', 'cancelled']) assert.equal(isCancellable({ state }), false, state);
});

test('ages read in words in both languages; the oldest waiting job names its PC', () => {
  assert.equal(ageText(45_000, en), '45 s');
  assert.equal(ageText(3 * 60_000 + 20_000, en), '3 min');
  assert.equal(ageText(3 * 60_000, zh), '3 分钟');
  assert.equal(ageText(2 * 3_600_000 + 5 * 60_000, en), '2 h 5 min');
  assert.equal(ageText(26 * 3_600_000, zh), '1 天 2 小时');
  assert.equal(ageText(-5, en), '0 s', 'a clock a little ahead never shows a negative age');
  const oldest = { jobId: 'j', clientId: 'pc-7', createdAt: 1_000 };
  assert.equal(oldestWaitingText(oldest, 1_000 + 180_000, en), '3 min (pc-7)');
  assert.equal(oldestWaitingText(oldest, 1_000 + 180_000, zh), '3 分钟（pc-7）');
  assert.equal(oldestWaitingText(null, 0, zh), '无');
  const now = new Date(2026, 2, 4, 15, 30).getTime();
  assert.equal(startOfDay(now), new Date(2026, 2, 4).getTime());
});

const clients = [
  { clientId: 'front-desk', connected: true, socketId: 's1', lastSeen: 0, lastHeartbeatAt: 90_000, rttMs: 12,
    info: { clientId: 'front-desk', protocol: 1, app: { name: 'PrintRelay', version: '1.4.0' },
      host: { hostname: 'RECEPTION-PC', os: 'windows', arch: 'x86_64' },
      printers: [{ name: 'Label printer', systemName: 'ZDesigner', isDefault: false, state: 'ready', rawQueue: true },
        { name: 'Office', systemName: 'HP_Office', isDefault: true, state: 'paused', rawQueue: false }],
      selectedPrinter: 'ZDesigner' } },
  { clientId: 'warehouse', connected: false, socketId: null, lastSeen: 0, lastHeartbeatAt: null, rttMs: null, info: null },
  { clientId: 'accounts', connected: false, socketId: null, lastSeen: 0, lastHeartbeatAt: null, rttMs: null, info: null },
];

test('PC search covers id, host and printers; the filter splits online from offline', () => {
  assert.deepEqual(clients.filter((c) => pcMatches(c, 'reception', 'all')).map((c) => c.clientId), ['front-desk']);
  assert.deepEqual(clients.filter((c) => pcMatches(c, 'zdesign', 'all')).map((c) => c.clientId), ['front-desk']);
  assert.deepEqual(clients.filter((c) => pcMatches(c, '', 'offline')).map((c) => c.clientId), ['warehouse', 'accounts']);
  assert.deepEqual(clients.filter((c) => pcMatches(c, 'WARE', 'online')), []);
});

test('waiting jobs are counted per PC; offline PCs with waiting jobs come first and stand out', () => {
  const waiting = waitingPerClient([{ clientId: 'warehouse' }, { clientId: 'warehouse' }], [{ clientId: 'front-desk' }]);
  assert.deepEqual(waiting, { warehouse: 2, 'front-desk': 1 });
  assert.deepEqual(sortClients(clients, waiting).map((c) => c.clientId), ['warehouse', 'accounts', 'front-desk']);
  const now = 95_000;
  const online = describeClient(clients[0], waiting, en, now);
  assert.equal(online.state, 'Online');
  assert.equal(online.heartbeat, '5 s ago');
  assert.equal(online.rtt, '12 ms');
  assert.equal(online.agent, 'PrintRelay 1.4.0');
  assert.equal(online.host, 'RECEPTION-PC · windows x86_64');
  assert.deepEqual(online.printers.map((p) => [p.name, p.state, p.selected, p.isDefault]),
    [['Label printer', 'Ready', true, false], ['Office', 'Paused', false, true]]);
  assert.equal(online.stuck, false);
  const stuck = describeClient(clients[1], waiting, zh, now);
  assert.equal(stuck.state, '离线');
  assert.equal(stuck.agent, '尚未上报');
  assert.equal(stuck.stuck, true);
  assert.equal(describeClient(clients[2], waiting, zh, now).waiting, 0);
  assert.equal(describeClient(clients[0], waiting, zh, now).heartbeat, '5 秒前');
});

test('job errors read in words; an unknown code shows its message; API refusals too', () => {
  assert.equal(jobErrorText({ code: 'printer_not_found', message: 'no printer "X"' }, en), 'The printer is not installed on the PC.');
  assert.equal(jobErrorText({ code: 'renderer_missing', message: 'm' }, zh), '打印网页所需的浏览器组件没有安装在电脑上，请联系管理员安装。');
  assert.equal(jobErrorText({ code: 'brand_new', message: 'what a newer agent says' }, en), 'what a newer agent says');
  assert.equal(jobErrorText(null, en), '');
  const row = describeJobRow({ ...job, state: 'failed', error: { code: 'print_failed', message: 'driver' } }, zh);
  assert.equal(row.state, '失败：打印机或其驱动程序未能打印此任务。');
  assert.equal(apiErrorText({ status: 409, code: 'job_finished', message: 'job j1 is completed' }, en), 'The job has already finished.');
  assert.equal(apiErrorText({ status: 422, code: 'empty_content', message: 'content is empty' }, zh), '文档为空。');
  assert.equal(apiErrorText({ status: 0, code: 'network', message: 'Failed to fetch' }, zh), '无法连接中心服务器，请检查网络。');
  assert.equal(apiErrorText({ status: 400, code: 'invalid_query', message: 'limit must be 1 to 1000' }, en), 'limit must be 1 to 1000');
});

test('base64 of bytes matches Buffer, also for inputs far over 100 KB', () => {
  for (const size of [0, 1, 2, 3, 24_575, 24_576, 24_577, 150_000, 10 * 1024 * 1024 + 1]) {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 1) bytes[i] = (i * 131 + 7) & 0xff;
    assert.equal(bytesToBase64(bytes), Buffer.from(bytes).toString('base64'), `${size} bytes`);
  }
});

test('job filters become the query; live events are matched against them', () => {
  const since = '2026-03-04T08:00';
  const filters = { clientId: 'pc-1', state: 'failed', text: ' inv ', since, until: '' };
  const query = new URLSearchParams(jobsQuery(filters, 50).slice(1));
  assert.deepEqual(Object.fromEntries(query), {
    clientId: 'pc-1', state: 'failed', q: 'inv', since: String(new Date(2026, 2, 4, 8).getTime()), limit: '50' });
  assert.equal(jobsQuery({}, 100, 200), '?limit=100&offset=200');
  const event = { jobId: 'INV-7', clientId: 'pc-1', state: 'failed', at: new Date(2026, 2, 4, 9).getTime() };
  assert.equal(eventMatchesFilters(event, filters), true);
  assert.equal(eventMatchesFilters({ ...event, state: 'queued' }, filters), false);
  assert.equal(eventMatchesFilters({ ...event, at: new Date(2026, 2, 4, 7).getTime() }, filters), false);
  assert.equal(eventMatchesFilters({ ...event, jobId: 'x', clientId: 'pc-1' }, { text: 'PC-1' }), true);
});

test('a job event updates its row in place and never moves a job backwards', () => {
  const list = [{ jobId: 'a', state: 'delivered', updatedAt: 10, error: null }, { jobId: 'b', state: 'queued', updatedAt: 5, error: null }];
  const { jobs, found } = applyJobEventToList(list, { jobId: 'a', state: 'failed', at: 20, error: { code: 'print_failed', message: 'm' } });
  assert.equal(found, true);
  assert.deepEqual(jobs[0], { jobId: 'a', state: 'failed', updatedAt: 20, error: { code: 'print_failed', message: 'm' } });
  assert.equal(applyJobEventToList(list, { jobId: 'z', state: 'queued', at: 1 }).found, false);
  const done = { jobId: 'a', state: 'completed', updatedAt: 30, error: null };
  assert.equal(applyJobEvent(done, { jobId: 'a', state: 'spooled', at: 25 }), done, 'a late spooled does not undo completed');
});

test('the print form: body, printer choices and times', () => {
  assert.deepEqual(printBody({ clientId: 'pc', jobId: 'console-1', type: 'pdf', content: 'JVBE', printer: '', title: ' ' }),
    { clientId: 'pc', jobId: 'console-1', contentType: 'pdf_base64', content: 'JVBE' });
  assert.deepEqual(printBody({ clientId: 'pc', jobId: 'j', type: 'html', content: '<p>', printer: 'HP', title: 'T' }),
    { clientId: 'pc', jobId: 'j', contentType: 'html', content: '<p>', printer: 'HP', title: 'T' });
  const options = printerOptions(clients[0], en);
  assert.deepEqual(options.map((o) => o.value), ['', 'ZDesigner', 'HP_Office']);
  assert.equal(options[0].label, "The PC's chosen printer (ZDesigner)");
  assert.equal(options[2].label, 'Office (Paused)');
  assert.deepEqual(printerOptions(undefined, zh), [{ value: '', label: '电脑选用的打印机' }]);
  const at = new Date(2026, 11, 1, 21, 6, 56).getTime();
  assert.equal(formatDateTime(at, 'zh-CN'), '2026/12/01 21:06:56');
  assert.match(formatDateTime(at, 'en'), /^12\/01\/2026, 09:06:56\sPM$/);
});

test('language: zh* browsers get 简体中文, others English; the switch wins', () => {
  assert.equal(pickLanguage(null, ['zh-TW', 'en']), 'zh-CN');
  assert.equal(pickLanguage(null, ['de-DE', 'zh']), 'zh-CN');
  assert.equal(pickLanguage(null, ['en-GB', 'fr']), 'en');
  assert.equal(pickLanguage(null, undefined), 'en');
  assert.equal(pickLanguage('en', ['zh-CN']), 'en');
  assert.equal(pickLanguage('zh-CN', ['en-US']), 'zh-CN');
  assert.equal(pickLanguage('klingon', ['en-US']), 'en');
  assert.equal(translator('zh-CN').locale, 'zh-CN');
  assert.equal(translator('fr').locale, 'en');
});

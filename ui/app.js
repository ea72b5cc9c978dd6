// Wires the window: loads a snapshot, then follows agent events.

import * as api from './api.js';
import { pickLanguage, translator } from './i18n.js';
import { describeConnection, describeHeartbeat, mergeJob } from './view.js';

const $ = (id) => document.getElementById(id);
const model = { connection: { state: 'idle' }, heartbeat: null, settings: {}, jobs: [] };
let t = translator('en');

function render() {
  const now = Date.now();
  const view = describeConnection(model.connection, t, now);
  $('state-badge').textContent = view.label;
  $('state-badge').dataset.state = model.connection.state;
  $('state-detail').textContent = view.detail;
  $('reconnect').hidden = !view.canReconnect;
  $('server').textContent = model.settings.serverUrl || '—';
  $('client-id').textContent = model.settings.clientId || '—';
  $('printer').textContent = model.settings.printer || t('systemDefault');
  $('heartbeat').textContent = describeHeartbeat(model.heartbeat, t, now);
  renderJobs();
}

function renderJobs() {
  const body = $('jobs');
  body.replaceChildren(...model.jobs.slice(0, 50).map((job) => {
    const row = document.createElement('tr');
    row.dataset.state = job.state;
    const cells = [
      new Date(job.receivedAt).toLocaleTimeString(),
      job.title || job.jobId,
      job.printer || '—',
      job.error ? `${t(`job.${job.state}`)}: ${job.error.message}` : t(`job.${job.state}`),
    ];
    for (const text of cells) {
      const cell = document.createElement('td');
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
  $('no-jobs').hidden = model.jobs.length > 0;
}

function translatePage() {
  for (const element of document.querySelectorAll('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n);
  }
}

async function main() {
  const snap = await api.snapshot();
  Object.assign(model, snap);
  const language = pickLanguage(model.settings.language, navigator.languages);
  document.documentElement.lang = language;
  t = translator(language);
  translatePage();
  await api.on(api.channels.connection, (state) => { model.connection = state; render(); });
  await api.on(api.channels.heartbeat, (hb) => { model.heartbeat = hb; render(); });
  await api.on(api.channels.job, (job) => { model.jobs = mergeJob(model.jobs, job); render(); });
  await api.on(api.channels.settings, (settings) => { model.settings = settings; render(); });
  await api.on(api.channels.warning, (text) => { $('warning').textContent = text; $('warning').hidden = false; });
  $('reconnect').addEventListener('click', () => api.reconnect());
  render();
  // Countdown and "seconds since heartbeat" tick without events.
  setInterval(render, 1000);
}

main().catch((error) => {
  $('warning').textContent = String(error && error.message ? error.message : error);
  $('warning').hidden = false;
});

// The Jobs view: the hub's jobs newest first, filtered by PC, state, text and time; a job's
// timeline; cancel and print again; rows follow job events in place.

import * as api from './api.js';
import {
  applyJobEvent, applyJobEventToList, buildTimeline, describeJobRow, errorTechnical, eventMatchesFilters,
  formatDateTime, isCancellable, jobErrorText, jobsQuery,
} from './view.js';
import { cell, replaceRows } from './pcs.js';

const $ = (id) => document.getElementById(id);
const PAGE = 100;
const list = {
  filters: { clientId: '', state: '', text: '', since: '', until: '' },
  jobs: [], limit: PAGE, more: false, detail: null, seq: 0,
};
let textTimer = null;
let reloadTimer = null;

export function mount(ctx) {
  const filter = (id, key, event = 'change') => $(id).addEventListener(event, (e) => {
    list.filters[key] = e.target.value;
    list.limit = PAGE;
    reload(ctx);
  });
  filter('filter-client', 'clientId');
  filter('filter-state', 'state');
  filter('filter-since', 'since');
  filter('filter-until', 'until');
  $('filter-text').addEventListener('input', (event) => {
    list.filters.text = event.target.value;
    clearTimeout(textTimer);
    textTimer = setTimeout(() => { list.limit = PAGE; reload(ctx); }, 250);
  });
  $('filter-clear').addEventListener('click', () => {
    list.filters = { clientId: '', state: '', text: '', since: '', until: '' };
    for (const id of ['filter-client', 'filter-state', 'filter-text', 'filter-since', 'filter-until']) $(id).value = '';
    list.limit = PAGE;
    reload(ctx);
  });
  $('more-jobs').addEventListener('click', () => { list.limit = Math.min(1000, list.limit + PAGE); reload(ctx); });
  $('detail-close').addEventListener('click', () => closeDetail(ctx));
  $('detail-cancel').addEventListener('click', () => list.detail && cancel(ctx, list.detail.jobId));
  $('detail-reprint').addEventListener('click', () => list.detail && reprint(ctx, list.detail.jobId));
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && list.detail) { event.preventDefault(); closeDetail(ctx); }
  });
}

/** Shows the jobs of one PC (from the PCs view). */
export function filterByClient(ctx, clientId) {
  list.filters.clientId = clientId;
  list.limit = PAGE;
  render(ctx);
  $('filter-client').value = clientId;
  reload(ctx);
}

/** Re-reads the list (and the open job). */
export async function reload(ctx) {
  const seq = ++list.seq;
  try {
    const jobs = await api.jobs(jobsQuery(list.filters, list.limit));
    if (seq !== list.seq) return; // a newer filter's answer is on its way
    list.jobs = jobs;
    list.more = jobs.length >= list.limit && list.limit < 1000;
    render(ctx);
  } catch (error) {
    if (seq === list.seq) ctx.fail(error);
  }
  if (list.detail) refreshDetail(ctx, list.detail.jobId);
}

function scheduleReload(ctx) {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => reload(ctx), 300);
}

/** A job event: the row changes in place, or the list is re-read when a new job matches. */
export function jobEvent(ctx, event) {
  const { jobs, found } = applyJobEventToList(list.jobs, event);
  if (found) {
    list.jobs = jobs;
    render(ctx);
  } else if (eventMatchesFilters(event, list.filters)) {
    scheduleReload(ctx);
  }
  if (list.detail && list.detail.jobId === event.jobId) {
    list.detail = applyJobEvent(list.detail, event);
    render(ctx);
    refreshDetail(ctx, event.jobId);
  }
}

async function refreshDetail(ctx, jobId) {
  try {
    const job = await api.job(jobId);
    if (list.detail && list.detail.jobId === jobId) {
      list.detail = job;
      render(ctx);
    }
  } catch (error) {
    if (error.status !== 404) ctx.fail(error);
  }
}

function openDetail(ctx, job) {
  list.detail = { ...job, events: job.events || [] };
  render(ctx);
  $('detail-heading').focus();
  refreshDetail(ctx, job.jobId);
}

/** Closes the job detail (Escape, Close, or leaving the Jobs view), focus back on its row. */
export function closeDetail(ctx) {
  if (!list.detail) return;
  const id = list.detail && list.detail.jobId;
  list.detail = null;
  render(ctx);
  const row = [...$('jobs').rows].find((r) => r.dataset.jobId === id);
  if (row) row.focus();
}

async function cancel(ctx, jobId) {
  try {
    const { status, body } = await api.cancel(jobId);
    ctx.notify(ctx.t(status === 200 ? 'notice.cancelled' : 'notice.cancelAsked', jobId));
    const known = list.jobs.find((j) => j.jobId === jobId) || list.detail;
    if (body && body.state && known) jobEvent(ctx, { jobId, clientId: known.clientId, state: body.state, at: Date.now() });
  } catch (error) {
    ctx.fail(error);
  }
  reload(ctx);
}

async function reprint(ctx, jobId) {
  try {
    const body = await api.reprint(jobId);
    ctx.notify(ctx.t('notice.reprinted', body.jobId));
  } catch (error) {
    ctx.fail(error);
  }
  reload(ctx);
}

function button(className, text, action) {
  const element = document.createElement('button');
  element.type = 'button';
  element.className = className;
  element.textContent = text;
  element.addEventListener('click', (event) => { event.stopPropagation(); action(); });
  return element;
}

function row(ctx, job) {
  const { t } = ctx;
  const cells = describeJobRow(job, t);
  const tr = document.createElement('tr');
  tr.dataset.jobId = job.jobId;
  tr.dataset.state = job.state;
  tr.tabIndex = 0;
  tr.setAttribute('aria-selected', String(Boolean(list.detail && list.detail.jobId === job.jobId)));
  const actions = cell(null, 'row-actions');
  if (isCancellable(job)) actions.append(button('cancel danger small', t('cancel'), () => cancel(ctx, job.jobId)));
  actions.append(button('reprint secondary small', t('reprint'), () => reprint(ctx, job.jobId)));
  const state = cell(cells.state, 'state-cell');
  if (job.error) state.title = errorTechnical(job.error);
  tr.append(cell(cells.created, 'nowrap'), cell(cells.jobId, 'id'), cell(cells.clientId, 'id'), state,
    cell(cells.updated, 'nowrap'), actions);
  tr.addEventListener('click', () => openDetail(ctx, job));
  tr.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && event.target === tr) { event.preventDefault(); openDetail(ctx, job); }
  });
  return tr;
}

function renderClientFilter(ctx) {
  const select = $('filter-client');
  const ids = [...new Set([...ctx.model.clients.map((c) => c.clientId), list.filters.clientId].filter(Boolean))].sort();
  const have = [...select.options].slice(1).map((o) => o.value);
  if (have.join('\n') !== ids.join('\n')) {
    select.replaceChildren(select.options[0], ...ids.map((id) => new Option(id, id)));
  }
  select.value = list.filters.clientId;
}

function entry(ctx, item) {
  const { t } = ctx;
  const li = document.createElement('li');
  li.dataset.state = item.state;
  const time = document.createElement('time');
  time.dateTime = new Date(item.at).toISOString();
  time.textContent = formatDateTime(item.at, t.locale);
  const state = document.createElement('span');
  state.className = 'state';
  state.textContent = t(`state.${item.state}`);
  li.append(time, state);
  const notes = [];
  if (item.printer) notes.push(t('timeline.printer', item.printer));
  if (item.spoolerJobId != null) notes.push(t('timeline.spooler', item.spoolerJobId));
  if (item.duplicate) notes.push(t('timeline.duplicate'));
  if (item.byHub) notes.push(t('timeline.byHub'));
  if (notes.length) li.append(` · ${notes.join(' · ')}`);
  if (item.error) li.append(errorLine(ctx, item.error));
  return li;
}

function errorLine(ctx, error) {
  const span = document.createElement('span');
  span.className = 'error';
  span.textContent = jobErrorText(error, ctx.t);
  const technical = document.createElement('span');
  technical.className = 'technical';
  technical.textContent = `${ctx.t('technical')}${ctx.t('colon')}${errorTechnical(error)}`;
  span.append(technical);
  return span;
}

function renderDetail(ctx) {
  const { t } = ctx;
  const job = list.detail;
  $('job-detail').hidden = !job;
  if (!job) return;
  $('detail-heading').textContent = `${t('detail.title')} ${job.jobId}`;
  const facts = [['fact.pc', job.clientId], ['fact.state', t(`state.${job.state}`)],
    ['fact.created', formatDateTime(job.createdAt, t.locale)], ['fact.updated', formatDateTime(job.updatedAt, t.locale)]];
  if (job.expiresAt != null) facts.push(['fact.expires', formatDateTime(job.expiresAt, t.locale)]);
  if (job.cancelRequestedAt != null) facts.push(['fact.cancelRequested', formatDateTime(job.cancelRequestedAt, t.locale)]);
  $('detail-facts').replaceChildren(...facts.flatMap(([key, value]) => {
    const dt = document.createElement('dt');
    dt.textContent = t(key);
    const dd = document.createElement('dd');
    dd.textContent = value;
    return [dt, dd];
  }));
  if (job.error) {
    const dt = document.createElement('dt');
    dt.textContent = t('fact.error');
    const dd = document.createElement('dd');
    dd.append(errorLine(ctx, job.error));
    $('detail-facts').append(dt, dd);
  }
  $('detail-cancel').hidden = !isCancellable(job);
  $('timeline').replaceChildren(...buildTimeline(job).map((item) => entry(ctx, item)));
}

export function render(ctx) {
  renderClientFilter(ctx);
  replaceRows($('jobs'), list.jobs.map((job) => row(ctx, job)), 'jobId');
  $('no-jobs').hidden = list.jobs.length > 0;
  $('more-jobs').hidden = !list.more;
  renderDetail(ctx);
}

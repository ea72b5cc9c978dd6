// The Jobs view: the agent's history, filtered and searched in the store; details, reprint
// and cancel; rows update live from job events.

import * as api from './api.js';
import {
  commandErrorText, describeJob, freshest, jobActions, jobDetails, jobGroups, jobMatches, mergeJob,
} from './view.js';

const $ = (id) => document.getElementById(id);
const PAGE = 50;
const list = { group: 'all', text: '', jobs: [], total: 0, selected: null, message: '' };
let searchTimer = null;

export function mount(ctx) {
  $('job-filter').addEventListener('change', (event) => { list.group = event.target.value; load(ctx); });
  $('job-search').addEventListener('input', (event) => {
    list.text = event.target.value.trim();
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => load(ctx), 250);
  });
  $('more-jobs').addEventListener('click', () => load(ctx, list.jobs.length));
  $('job-close').addEventListener('click', () => { list.selected = null; render(ctx); });
  $('job-reprint').addEventListener('click', () => act(ctx, () => api.reprint(list.selected.jobId)));
  $('job-cancel').addEventListener('click', () => act(ctx, () => api.cancelJob(list.selected.jobId)));
}

export function shown(ctx) {
  load(ctx);
}

/** A job event: update its row, or add it when it matches the filter. */
export function jobChanged(ctx, job) {
  const known = list.jobs.some((j) => j.jobId === job.jobId);
  if (known || jobMatches(job, list.group, list.text)) {
    list.jobs = mergeJob(list.jobs, job, Math.max(list.jobs.length, PAGE));
    if (!known) list.total += 1;
  }
  if (list.selected && list.selected.jobId === job.jobId) list.selected = job;
}

async function load(ctx, offset = 0) {
  try {
    const page = await api.queryJobs({
      states: jobGroups[list.group], text: list.text || null, offset, limit: PAGE,
    });
    // Job events that arrived while the page was read are newer than the page.
    const fresh = freshest(page.jobs, ctx.model.jobs);
    list.jobs = offset ? [...list.jobs, ...fresh] : fresh;
    list.total = page.total;
    if (!offset) {
      const oldest = page.jobs.length ? page.jobs[page.jobs.length - 1].receivedAt : 0;
      for (const job of ctx.model.jobs) {
        const listed = list.jobs.some((j) => j.jobId === job.jobId);
        if (!listed && job.receivedAt >= oldest && jobMatches(job, list.group, list.text)) {
          list.jobs = mergeJob(list.jobs, job, Math.max(list.jobs.length + 1, PAGE));
          list.total += 1;
        }
      }
    }
    render(ctx);
  } catch (error) {
    ctx.showError(error);
  }
}

async function act(ctx, action) {
  try {
    const result = await action();
    list.message = typeof result === 'string' ? result : '';
  } catch (error) {
    list.message = commandErrorText(error, ctx.t);
  }
  render(ctx);
}

export function render(ctx) {
  const { t } = ctx;
  $('jobs').replaceChildren(...list.jobs.map((job) => {
    const row = document.createElement('tr');
    row.dataset.state = job.state;
    row.dataset.jobId = job.jobId;
    row.tabIndex = 0;
    row.setAttribute('aria-selected', String(list.selected?.jobId === job.jobId));
    const cells = describeJob(job, t);
    for (const key of ['time', 'title', 'kind', 'printer', 'size', 'state']) {
      const cell = document.createElement('td');
      cell.textContent = cells[key];
      row.append(cell);
    }
    const select = () => { list.selected = job; list.message = ''; render(ctx); };
    row.addEventListener('click', select);
    row.addEventListener('keydown', (event) => { if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); select(); } });
    return row;
  }));
  $('no-jobs').hidden = list.jobs.length > 0;
  $('more-jobs').hidden = list.jobs.length >= list.total;
  $('job-total').textContent = t('shown', list.jobs.length, list.total);
  const job = list.selected;
  $('job-detail').hidden = !job;
  if (!job) return;
  $('job-facts').replaceChildren(...jobDetails(job, t).flatMap(([key, value]) => {
    const term = document.createElement('dt');
    term.textContent = t(key);
    const detail = document.createElement('dd');
    detail.textContent = value;
    return [term, detail];
  }));
  const actions = jobActions(job);
  $('job-reprint').hidden = !actions.reprint;
  $('job-cancel').hidden = !actions.cancel;
  $('job-message').textContent = list.message;
}

// The Print view: an online PC, one of its printers, and text, a PDF file or HTML; the sent
// job's state follows the event stream on the same screen until it is final.

import * as api from './api.js';
import {
  apiErrorText, applyJobEvent, bytesToBase64, isFinal, jobErrorText, printBody, printerOptions,
} from './view.js';

const $ = (id) => document.getElementById(id);
const form = { error: null, sending: false, result: null, accepted: false };

export function mount(ctx) {
  $('print-type').addEventListener('change', () => { form.error = null; render(ctx); });
  $('print-client').addEventListener('change', () => { form.error = null; render(ctx); });
  $('print-form').addEventListener('submit', (event) => {
    event.preventDefault();
    send(ctx);
  });
}

/** A job event: the sent job's state moves on. */
export function jobEvent(ctx, event) {
  if (!form.result || form.result.jobId !== event.jobId) return;
  form.result = applyJobEvent(form.result, event);
  render(ctx);
}

/** After a reconnect: re-read the sent job, which may have moved on meanwhile. */
export async function reload(ctx) {
  const result = form.result;
  if (!result || !form.accepted || isFinal(result.state)) return;
  try {
    const job = await api.job(result.jobId);
    if (form.result && form.result.jobId === job.jobId) {
      form.result = applyJobEvent(form.result, { state: job.state, at: job.updatedAt, error: job.error });
      render(ctx);
    }
  } catch (error) {
    if (error.status === 401) ctx.fail(error);
  }
}

function problem(key) {
  form.error = { key };
}

async function content(type) {
  if (type === 'text') return $('print-text').value;
  if (type === 'html') return $('print-html').value;
  const file = $('print-file').files[0];
  if (!file) return null;
  if (file.type !== 'application/pdf' && !/\.pdf$/i.test(file.name)) throw Object.assign(new Error('not pdf'), { key: 'print.notPdf' });
  try {
    return bytesToBase64(new Uint8Array(await file.arrayBuffer()));
  } catch {
    throw Object.assign(new Error('unreadable'), { key: 'print.readFailed' });
  }
}

async function send(ctx) {
  if (form.sending) return;
  form.error = null;
  const clientId = $('print-client').value;
  const type = $('print-type').value;
  if (!clientId) { problem('print.needPc'); render(ctx); return; }
  form.sending = true;
  render(ctx);
  try {
    const text = await content(type);
    if (!text) {
      problem(type === 'pdf' ? 'print.needFile' : 'print.needText');
      return;
    }
    const jobId = `console-${crypto.randomUUID()}`;
    // Known before the hub answers: the job's first events may come before the answer.
    form.result = { jobId, clientId, state: 'queued', updatedAt: 0, error: null };
    form.accepted = false;
    const body = printBody({
      clientId, jobId, type, content: text, printer: $('print-printer').value, title: $('print-title').value,
    });
    const answer = await api.submit(body);
    form.accepted = true;
    form.result = applyJobEvent(form.result, { state: answer.state || 'queued', at: 0 });
    reload(ctx);
  } catch (error) {
    if (!form.accepted) form.result = null;
    if (error.key) problem(error.key);
    else if (error.status === 401) ctx.fail(error);
    else form.error = { error };
  } finally {
    form.sending = false;
    render(ctx);
  }
}

function syncOptions(select, options) {
  const value = select.value;
  const same = select.options.length === options.length
    && options.every((o, i) => select.options[i].value === o.value && select.options[i].text === o.label);
  if (!same) select.replaceChildren(...options.map((o) => new Option(o.label, o.value)));
  select.value = options.some((o) => o.value === value) ? value : '';
}

export function render(ctx) {
  const { t } = ctx;
  const online = ctx.model.clients.filter((c) => c.connected).sort((a, b) => a.clientId.localeCompare(b.clientId));
  syncOptions($('print-client'), [{ value: '', label: t('print.choosePc') },
    ...online.map((c) => ({ value: c.clientId, label: c.info && c.info.host ? `${c.clientId} (${c.info.host.hostname})` : c.clientId }))]);
  $('print-no-online').hidden = online.length > 0;
  const client = online.find((c) => c.clientId === $('print-client').value);
  syncOptions($('print-printer'), printerOptions(client, t));
  const type = $('print-type').value;
  $('field-text').hidden = type !== 'text';
  $('field-pdf').hidden = type !== 'pdf';
  $('field-html').hidden = type !== 'html';
  $('print-submit').disabled = form.sending;
  $('print-submit').textContent = t(form.sending ? 'print.sending' : 'print.submit');
  const { error } = form;
  $('print-error').textContent = !error ? '' : error.key ? t(error.key) : apiErrorText(error.error, t);
  const result = $('print-result');
  const job = form.accepted ? form.result : null;
  result.hidden = !job;
  if (!job) {
    delete result.dataset.jobId;
    delete result.dataset.state;
    return;
  }
  result.dataset.jobId = job.jobId;
  result.dataset.state = job.state;
  const state = t(`state.${job.state}`);
  result.textContent = t('print.result', job.jobId, job.error ? `${state}${t('colon')}${jobErrorText(job.error, t)}` : state);
}

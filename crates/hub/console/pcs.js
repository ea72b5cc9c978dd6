// The PCs view: every PC the hub knows, searched and filtered; offline PCs with waiting jobs first.

import { describeClient, pcMatches, sortClients } from './view.js';

const $ = (id) => document.getElementById(id);
const state = { text: '', filter: 'all' };

/**
 * Replaces a table's rows, keeping keyboard focus on the same row (or the same button in
 * it) when the focused row is still there: tables re-render every few seconds.
 */
export function replaceRows(tbody, rows, key) {
  const active = document.activeElement;
  const row = active && tbody.contains(active) ? active.closest('tr') : null;
  const wanted = row ? row.dataset[key] : null;
  const buttonClass = row && active !== row && active.classList.length ? active.classList[0] : null;
  tbody.replaceChildren(...rows);
  if (wanted == null) return;
  const again = rows.find((r) => r.dataset[key] === wanted);
  if (!again) return;
  const target = buttonClass ? again.querySelector(`button.${buttonClass}`) : null;
  (target || again).focus();
}

/** A table cell with text and optional class. */
export function cell(text, className) {
  const td = document.createElement('td');
  if (className) td.className = className;
  if (text != null) td.textContent = text;
  return td;
}

export function mount(ctx) {
  $('pc-search').addEventListener('input', (event) => { state.text = event.target.value; render(ctx); });
  $('pc-filter').addEventListener('change', (event) => { state.filter = event.target.value; render(ctx); });
}

function printersCell(printers, t) {
  const td = cell(null);
  if (!printers.length) {
    td.textContent = t('pc.noPrinters');
    return td;
  }
  const list = document.createElement('ul');
  list.className = 'printers';
  for (const printer of printers) {
    const item = document.createElement('li');
    item.dataset.selected = String(printer.selected);
    item.textContent = t('printerWithState', printer.name, printer.state);
    for (const [on, key] of [[printer.selected, 'pc.selected'], [printer.isDefault, 'pc.default']]) {
      if (!on) continue;
      const tag = document.createElement('span');
      tag.className = 'tag';
      tag.textContent = t(key);
      item.append(tag);
    }
    list.append(item);
  }
  td.append(list);
  return td;
}

function row(ctx, client, now) {
  const { t } = ctx;
  const view = describeClient(client, ctx.model.waiting, t, now);
  const tr = document.createElement('tr');
  tr.dataset.clientId = client.clientId;
  tr.dataset.online = String(Boolean(client.connected));
  tr.dataset.waiting = String(view.waiting);
  tr.tabIndex = 0;
  if (view.stuck) tr.classList.add('stuck');
  const state = cell(null, 'nowrap');
  const words = document.createElement('span');
  words.className = 'pc-state';
  words.textContent = view.state;
  const since = document.createElement('span');
  since.className = 'sub';
  since.textContent = view.since;
  state.append(words, since);
  const waiting = cell(null, 'nowrap');
  const count = document.createElement('span');
  count.className = 'waiting';
  count.textContent = String(view.waiting);
  waiting.append(count);
  if (view.stuck) {
    const note = document.createElement('span');
    note.className = 'sub bad';
    note.textContent = t('pc.stuck');
    waiting.append(note);
  }
  const jobs = document.createElement('button');
  jobs.type = 'button';
  jobs.className = 'pc-jobs secondary small';
  jobs.textContent = t('pcs.showJobs');
  jobs.setAttribute('aria-label', t('pcs.showJobsOf', client.clientId));
  jobs.addEventListener('click', (event) => { event.stopPropagation(); ctx.showJobsOf(client.clientId); });
  waiting.append(' ', jobs);
  tr.append(
    cell(client.clientId, 'id'), state, cell(view.heartbeat, 'nowrap'), cell(view.rtt, 'nowrap'),
    cell(view.agent), cell(view.host), printersCell(view.printers, t), waiting,
  );
  // Enter on a PC opens its jobs.
  tr.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && event.target === tr) { event.preventDefault(); ctx.showJobsOf(client.clientId); }
  });
  return tr;
}

export function render(ctx) {
  const now = Date.now();
  const shown = sortClients(ctx.model.clients, ctx.model.waiting)
    .filter((client) => pcMatches(client, state.text, state.filter));
  replaceRows($('pcs'), shown.map((client) => row(ctx, client, now)), 'clientId');
  $('no-pcs').hidden = shown.length > 0;
}

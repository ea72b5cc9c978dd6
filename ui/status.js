// The Status view: connection state, heartbeat, Reconnect, printer, today's counts, history.

import * as api from './api.js';
import { describeConnection, describeConnectionEvent, describeHeartbeat, describePrinter, startOfDay } from './view.js';

const $ = (id) => document.getElementById(id);
const counts = { completed: 0, failed: 0, waiting: 0 };
let countTimer = null;

export function mount(ctx) {
  $('reconnect').addEventListener('click', () => api.reconnect().catch(ctx.showError));
  $('pause').addEventListener('click', () => api.setPaused(!ctx.model.paused).catch(ctx.showError));
  refreshCounts(ctx);
  refreshPrinters(ctx);
}

export function shown(ctx) {
  refreshPrinters(ctx);
}

/** Keeps the connection history in step with live state changes, as the agent stores it. */
export function connectionChanged(ctx, state) {
  const events = ctx.model.connectionEvents;
  ctx.model.connection = state;
  if (!events.length || events[0].event.state !== state.state) {
    ctx.model.connectionEvents = [{ at: Date.now(), event: state }, ...events].slice(0, 50);
  }
}

export function jobChanged(ctx) {
  clearTimeout(countTimer);
  countTimer = setTimeout(() => refreshCounts(ctx), 300);
}

/** Asks the spooler for the printers, for the printer's state line. */
export async function refreshPrinters(ctx) {
  try {
    ctx.model.printers = await api.printers();
    ctx.render();
  } catch (error) {
    ctx.showError(error);
  }
}

async function refreshCounts(ctx) {
  const since = startOfDay(Date.now());
  const groups = { completed: ['completed'], failed: ['failed', 'rejected', 'expired'], waiting: ['received', 'spooled'] };
  try {
    for (const [name, states] of Object.entries(groups)) {
      const page = await api.queryJobs({ states, since: name === 'waiting' ? null : since, limit: 1 });
      counts[name] = page.total;
    }
    render(ctx);
  } catch (error) {
    ctx.showError(error);
  }
}

export function render(ctx) {
  const { model, t } = ctx;
  const now = Date.now();
  const view = describeConnection(model.connection, t, now, model.settings.serverUrl);
  $('state-badge').textContent = view.label;
  $('state-badge').dataset.state = model.connection.state;
  $('paused-badge').hidden = !model.paused;
  $('state-detail').textContent = view.detail;
  // The technical text stays one hover (or long press) away.
  $('state-detail').title = view.technical ? `${t('technical')}: ${view.technical}` : '';
  $('reconnect').hidden = !view.canReconnect;
  $('reconnect').classList.toggle('prominent', view.urgent);
  $('connection-card').dataset.state = model.connection.state;
  $('pause').textContent = t(model.paused ? 'resume' : 'pause');
  $('server').textContent = model.settings.serverUrl || '—';
  $('client-id').textContent = model.settings.clientId || '—';
  const printer = describePrinter(model.settings.printer, model.printers, t);
  $('printer').textContent = printer.name;
  $('printer-state').textContent = printer.state ? t('printerState', printer.state) : '';
  $('printer-state').dataset.ok = String(printer.ok);
  $('heartbeat').textContent = describeHeartbeat(model.heartbeat, t, now);
  for (const [name, value] of Object.entries(counts)) $(`count-${name}`).textContent = String(value);
  const events = model.connectionEvents;
  $('events').replaceChildren(...events.slice(0, 20).map((entry, index) => {
    const line = describeConnectionEvent(entry, events[index + 1] || null, t, model.settings.serverUrl);
    const item = document.createElement('li');
    item.dataset.state = line.state;
    const time = document.createElement('time');
    time.textContent = line.time;
    item.append(time, ` ${line.text}`);
    return item;
  }));
  $('no-events').hidden = events.length > 0;
}

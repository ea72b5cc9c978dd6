// The Settings view: a form over the agent's typed settings, checked by the agent as the
// user types (inline errors by field), saved and applied without restart.

import * as api from './api.js';
import {
  commandErrorText, describePrinter, localProblems, msToSeconds, normalizeDraft, secondsFields, secondsToMs,
} from './view.js';

const $ = (id) => document.getElementById(id);
const form = () => $('settings');
const numberFields = ['reconnect.attempts', 'reconnect.delayMs', 'reconnect.delayMaxMs', 'reconnect.connectTimeoutMs',
  'reconnect.backgroundRetryMs'];
let checkTimer = null;
let dirty = false;

export function mount(ctx) {
  // A change makes an earlier "Saved" stale: the message goes until the next save.
  form().addEventListener('input', () => { dirty = true; message(''); scheduleCheck(ctx); });
  form().addEventListener('submit', (event) => { event.preventDefault(); save(ctx); });
  $('printers-refresh').addEventListener('click', () => loadPrinters(ctx));
  $('printer-select').addEventListener('change', () => showPrinterState(ctx));
  $('test-print').addEventListener('click', async () => {
    try {
      const id = await api.testPrint($('printer-select').value || null);
      message(ctx.t('testQueued', id));
    } catch (error) {
      message(commandErrorText(error, ctx.t), true);
    }
  });
}

export async function shown(ctx) {
  dirty = false;
  fill(ctx.model.settings, ctx.model.autostart, ctx.t);
  lock(ctx.model.locked ?? [], ctx.t);
  showErrors([], ctx.t);
  message('');
  await loadPrinters(ctx);
}

function fill(settings, autostart, t) {
  const f = form().elements;
  f.serverUrl.value = settings.serverUrl ?? '';
  f.clientId.value = settings.clientId ?? '';
  f.token.value = settings.token ?? '';
  f.socketPath.value = settings.socketPath ?? '';
  f.proxy.value = settings.proxy ?? 'system';
  f.caFile.value = settings.caFile ?? '';
  f.allowServerPrinterChoice.checked = !!settings.allowServerPrinterChoice;
  for (const name of numberFields) {
    const key = name.split('.')[1];
    const value = settings.reconnect?.[key];
    // Delays in the seconds people think in; the settings keep milliseconds.
    f[name].value = secondsFields.includes(key) ? msToSeconds(value) : (value ?? '');
  }
  // The OS's real autostart state, not what the file says.
  f.autostart.checked = !!autostart.enabled;
  // In words; the OS's own message one hover away.
  $('err-autostart').textContent = autostart.error ? t('commandError.autostart') : '';
  $('err-autostart').title = autostart.error || '';
  f.notifications.checked = settings.notifications !== false;
  f.language.value = settings.language || 'system';
  $('printer-select').dataset.value = settings.printer || '';
}

/** Fields the administrator's policy fixed: shown, not editable, and said so. */
function lock(locked, t) {
  for (const note of form().querySelectorAll('.locked-note')) note.remove();
  for (const input of form().querySelectorAll('[data-locked]')) {
    input.disabled = false;
    delete input.dataset.locked;
  }
  for (const name of locked) {
    const input = name === 'printer' ? $('printer-select') : form().elements[name];
    if (!input || !input.after) continue;
    input.disabled = true;
    input.dataset.locked = 'true';
    const note = document.createElement('p');
    note.className = 'locked-note';
    note.id = `locked-${name}`;
    note.textContent = t('lockedByPolicy');
    input.after(note);
  }
}

/** The form as settings: fields the form does not show are kept from the agent's. */
function draft(ctx) {
  const f = form().elements;
  const reconnect = {};
  for (const name of numberFields) {
    const key = name.split('.')[1];
    reconnect[key] = secondsFields.includes(key) ? secondsToMs(f[name].value) : f[name].value;
  }
  return normalizeDraft({
    ...ctx.model.settings,
    serverUrl: f.serverUrl.value,
    clientId: f.clientId.value,
    token: f.token.value,
    socketPath: f.socketPath.value,
    proxy: f.proxy.value,
    caFile: f.caFile.value,
    printer: $('printer-select').value,
    allowServerPrinterChoice: f.allowServerPrinterChoice.checked,
    reconnect,
    autostart: f.autostart.checked,
    notifications: f.notifications.checked,
    language: f.language.value,
  });
}

async function loadPrinters(ctx) {
  const select = $('printer-select');
  const wanted = dirty ? select.value : select.dataset.value;
  try {
    ctx.model.printers = await api.printers();
  } catch (error) {
    ctx.showError(error);
    return;
  }
  const options = [{ value: '', label: ctx.t('systemDefault') }].concat(
    ctx.model.printers.map((p) => ({ value: p.systemName, label: p.name.includes(p.systemName) ? p.name : `${p.name} (${p.systemName})` })),
  );
  if (wanted && !options.some((o) => o.value === wanted)) options.push({ value: wanted, label: wanted });
  select.replaceChildren(...options.map(({ value, label }) => new Option(label, value)));
  select.value = wanted || '';
  showPrinterState(ctx);
}

function showPrinterState(ctx) {
  const printer = describePrinter($('printer-select').value || null, ctx.model.printers, ctx.t);
  $('printer-select-state').textContent = printer.state ? ctx.t('printerState', printer.state) : '';
  $('printer-select-state').dataset.ok = String(printer.ok);
}

function scheduleCheck(ctx) {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(() => check(ctx), 200);
}

/** Asks the agent what is wrong with the draft; numbers that are not numbers never leave the form. */
async function check(ctx) {
  const settings = draft(ctx);
  const local = localProblems(settings, ctx.t);
  if (local.length) {
    showErrors(local, ctx.t);
    return false;
  }
  try {
    const problems = await api.checkSettings(settings);
    showErrors(problems, ctx.t);
    return problems.length === 0;
  } catch (error) {
    message(commandErrorText(error, ctx.t), true);
    return false;
  }
}

function showErrors(problems, t) {
  for (const element of form().querySelectorAll('.field-error')) {
    if (element.id !== 'err-autostart') element.textContent = '';
  }
  for (const input of form().querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  for (const problem of problems) {
    const target = $(`err-${problem.field}`);
    if (target) target.textContent = commandErrorText(problem, t);
    const input = problem.field === 'printer' ? $('printer-select') : form().elements[problem.field];
    if (input) input.setAttribute('aria-invalid', 'true');
  }
}

async function save(ctx) {
  clearTimeout(checkTimer);
  if (!(await check(ctx))) return;
  try {
    const saved = await api.saveSettings(draft(ctx));
    ctx.model.settings = saved.settings;
    ctx.model.autostart = saved.autostart;
    dirty = false;
    fill(saved.settings, saved.autostart, ctx.t);
    ctx.applyLanguage();
    message(ctx.t('saved'));
  } catch (error) {
    if (error && error.field) showErrors([error], ctx.t);
    message(commandErrorText(error, ctx.t), true);
  }
}

function message(text, bad = false) {
  $('settings-message').textContent = text;
  $('settings-message').classList.toggle('bad', bad);
}

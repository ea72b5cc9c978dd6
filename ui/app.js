// Wires the window: loads a snapshot, follows agent events, switches views and language.

import * as api from './api.js';
import { pickLanguage, translator } from './i18n.js';
import { commandErrorText, mergeJob, warningText } from './view.js';
import * as status from './status.js';
import * as jobs from './jobs.js';
import * as settings from './settings.js';

const $ = (id) => document.getElementById(id);

/** What the window knows; views read it, events and commands update it. */
const ctx = {
  model: {
    connection: { state: 'idle' }, heartbeat: null, settings: {}, jobs: [], connectionEvents: [],
    paused: false, autostart: { enabled: false, error: null }, warnings: [], printers: null,
  },
  t: translator('en'),
  render: () => {},
};

const views = { status, jobs, settings };

function showView(name) {
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const selected = tab.dataset.view === name;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`view-${tab.dataset.view}`).hidden = !selected;
  }
  views[name].shown(ctx);
}

function setupTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  tabs.forEach((tab, index) => {
    tab.addEventListener('click', () => showView(tab.dataset.view));
    // Arrow keys move between tabs, as in any tab list.
    tab.addEventListener('keydown', (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = tabs[(index + step + tabs.length) % tabs.length];
      next.focus();
      showView(next.dataset.view);
    });
  });
}

/** Applies the language setting to every static text and to the views. */
function applyLanguage() {
  const language = pickLanguage(ctx.model.settings.language, navigator.languages);
  document.documentElement.lang = language;
  ctx.t = translator(language);
  for (const element of document.querySelectorAll('[data-i18n]')) {
    element.textContent = ctx.t(element.dataset.i18n);
  }
  for (const element of document.querySelectorAll('[data-i18n-placeholder]')) {
    element.placeholder = ctx.t(element.dataset.i18nPlaceholder);
  }
  for (const element of document.querySelectorAll('[data-i18n-aria-label]')) {
    element.setAttribute('aria-label', ctx.t(element.dataset.i18nAriaLabel));
  }
  ctx.render();
}

function renderWarnings() {
  const { warnings } = ctx.model;
  $('warnings').textContent = warnings.map((w) => warningText(w, ctx.t)).join(' · ');
  // The technical detail (paths, OS errors) one hover away.
  $('warnings').title = warnings.map((w) => (w && w.detail) || '').filter(Boolean).join('\n');
  $('warnings').hidden = warnings.length === 0;
}

/** Shows a failed command's error, in words, where the user looks. */
export function showError(error) {
  const text = commandErrorText(error, ctx.t);
  ctx.model.warnings = [...ctx.model.warnings.filter((w) => w !== text), text];
  renderWarnings();
}

async function main() {
  setupTabs();
  Object.assign(ctx.model, await api.snapshot());
  ctx.render = () => {
    status.render(ctx);
    jobs.render(ctx);
    renderWarnings();
  };
  ctx.showError = showError;
  ctx.applyLanguage = applyLanguage;
  for (const view of Object.values(views)) view.mount(ctx);
  applyLanguage();
  await api.on(api.channels.connection, (state) => { status.connectionChanged(ctx, state); ctx.render(); });
  await api.on(api.channels.heartbeat, (hb) => { ctx.model.heartbeat = hb; status.render(ctx); });
  await api.on(api.channels.job, (job) => {
    ctx.model.jobs = mergeJob(ctx.model.jobs, job);
    jobs.jobChanged(ctx, job);
    status.jobChanged(ctx);
    ctx.render();
  });
  await api.on(api.channels.paused, (paused) => { ctx.model.paused = paused; ctx.render(); });
  await api.on(api.channels.settings, (next) => {
    const languageChanged = next.language !== ctx.model.settings.language;
    ctx.model.settings = next;
    if (languageChanged) applyLanguage(); else ctx.render();
  });
  await api.on(api.channels.warning, (warning) => { ctx.model.warnings = [...ctx.model.warnings, warning]; renderWarnings(); });
  showView('status');
  // Countdown and "seconds since heartbeat" tick without events.
  setInterval(() => status.render(ctx), 1000);
  document.body.dataset.ready = 'true';
}

main().catch(showError);

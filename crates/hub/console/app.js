// Wires the console: sign-in, language, tabs, counters, polling and the hub's event stream.

import * as api from './api.js';
import { pickLanguage, translator } from './i18n.js';
import {
  apiErrorText, formatNumber, oldestWaitingText, startOfDay, waitingPerClient,
} from './view.js';
import * as pcs from './pcs.js';
import * as jobs from './jobs.js';
import * as print from './print.js';

const $ = (id) => document.getElementById(id);
const LANGUAGE_KEY = 'printrelay.console.language';
const views = { pcs, jobs, print };

/** What the console knows; views read it, requests and events update it. */
const ctx = {
  model: { clients: [], waiting: {}, stats: null },
  t: translator('en'),
  view: 'pcs',
};

let session = null; // {controller, timers}: live while signed in (or while no token is needed)
let signinError = null; // a key or an error, shown in #signin-error
let noticeTimer = null;
let countsTimer = null;

/** Shows a sentence in the #notice live region for a while. */
ctx.notify = (text) => {
  $('notice').textContent = text;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { $('notice').textContent = ''; }, 15000);
};

/** A failed request: a refused token leads to sign-in, anything else is told in words. */
ctx.fail = (error) => {
  if (error && error.status === 401) unauthorized();
  else ctx.notify(apiErrorText(error, ctx.t));
};

ctx.render = () => {
  renderCounters();
  for (const view of Object.values(views)) view.render(ctx);
};

ctx.showJobsOf = (clientId) => {
  jobs.filterByClient(ctx, clientId);
  showView('jobs');
};

function showView(name) {
  ctx.view = name;
  if (name !== 'jobs') jobs.closeDetail(ctx);
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const selected = tab.dataset.view === name;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`view-${tab.dataset.view}`).hidden = !selected;
  }
}

function setupTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  tabs.forEach((tab, index) => {
    tab.addEventListener('click', () => showView(tab.dataset.view));
    // Arrow keys (and Home/End) move between tabs, as in any tab list.
    tab.addEventListener('keydown', (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      let next = null;
      if (step) next = tabs[(index + step + tabs.length) % tabs.length];
      else if (event.key === 'Home') next = tabs[0];
      else if (event.key === 'End') next = tabs[tabs.length - 1];
      if (!next) return;
      event.preventDefault();
      next.focus();
      showView(next.dataset.view);
    });
  });
}

/** Applies the language to the document, every static text and the views. */
function applyLanguage(language) {
  document.documentElement.lang = language;
  ctx.t = translator(language);
  $('lang').value = language;
  for (const element of document.querySelectorAll('[data-i18n]')) element.textContent = ctx.t(element.dataset.i18n);
  for (const element of document.querySelectorAll('[data-i18n-placeholder]')) {
    element.placeholder = ctx.t(element.dataset.i18nPlaceholder);
  }
  for (const element of document.querySelectorAll('[data-i18n-aria-label]')) {
    element.setAttribute('aria-label', ctx.t(element.dataset.i18nAriaLabel));
  }
  renderSignin();
  ctx.render();
}

function storedLanguage() {
  try {
    return localStorage.getItem(LANGUAGE_KEY);
  } catch {
    return null;
  }
}

function renderCounters() {
  const { clients, stats } = ctx.model;
  const locale = ctx.t.locale;
  $('count-online').textContent = formatNumber(clients.filter((c) => c.connected).length, locale);
  $('count-total').textContent = formatNumber(clients.length, locale);
  const jobsToday = (stats && stats.jobs) || { completed: 0, failed: 0, waiting: 0 };
  $('count-completed').textContent = formatNumber(jobsToday.completed, locale);
  $('count-failed').textContent = formatNumber(jobsToday.failed, locale);
  $('count-waiting').textContent = formatNumber(jobsToday.waiting, locale);
  $('oldest-waiting').textContent = stats ? oldestWaitingText(stats.oldestWaiting, Date.now(), ctx.t) : '—';
}

function renderSignin() {
  const error = signinError;
  $('signin-error').textContent = !error ? '' : typeof error === 'string' ? ctx.t(error) : apiErrorText(error, ctx.t);
}

function showSignin(errorKey) {
  stop();
  signinError = errorKey || null;
  renderSignin();
  $('main').hidden = true;
  $('signout').hidden = true;
  $('signin').hidden = false;
  $('token').focus();
}

/** The hub answered 401: a kept token was refused, or the hub needs one. */
function unauthorized() {
  const hadToken = Boolean(api.token());
  api.setToken(null);
  showSignin(hadToken ? 'signin.refused' : null);
}

// Reading the hub -------------------------------------------------------------------

const live = (s) => session === s;

async function refreshClients() {
  const s = session;
  try {
    const [clients, queued, delivered] = await Promise.all([
      api.clients(), api.jobs('?state=queued&limit=1000'), api.jobs('?state=delivered&limit=1000'),
    ]);
    if (!live(s)) return;
    ctx.model.clients = clients;
    ctx.model.waiting = waitingPerClient(queued, delivered);
    ctx.render();
  } catch (error) {
    if (live(s)) ctx.fail(error);
  }
}

async function refreshClient(clientId) {
  const s = session;
  try {
    const client = await api.client(clientId);
    if (!live(s)) return;
    const others = ctx.model.clients.filter((c) => c.clientId !== clientId);
    ctx.model.clients = [...others, client];
    ctx.render();
  } catch (error) {
    if (live(s) && error.status !== 404) ctx.fail(error);
  }
}

async function refreshStats() {
  const s = session;
  try {
    const stats = await api.stats(startOfDay(Date.now()));
    if (!live(s)) return;
    ctx.model.stats = stats;
    renderCounters();
  } catch (error) {
    if (live(s)) ctx.fail(error);
  }
}

/** Stats and waiting counts after job events, at most twice a second. */
function scheduleCounts() {
  if (countsTimer) return;
  countsTimer = setTimeout(() => {
    countsTimer = null;
    refreshStats();
    refreshClients();
  }, 500);
}

function reloadAll() {
  refreshClients();
  refreshStats();
  jobs.reload(ctx);
  print.reload(ctx);
}

function onEvent(type, data) {
  if (type === 'job') {
    jobs.jobEvent(ctx, data);
    print.jobEvent(ctx, data);
    scheduleCounts();
  } else if (type === 'client') {
    // Say it at once; the full record (printers, heartbeat) follows.
    ctx.model.clients = ctx.model.clients.map((c) => (c.clientId === data.clientId
      ? { ...c, connected: data.connected, socketId: data.socketId, lastSeen: data.at } : c));
    ctx.render();
    refreshClient(data.clientId);
  } else if (type === 'client_info') {
    // Its printers or their states changed.
    refreshClient(data.clientId);
  } else if (type === 'lagged') {
    reloadAll();
  }
}

async function follow(s) {
  const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
  while (live(s)) {
    try {
      await api.streamEvents({
        signal: s.controller.signal,
        onOpen: () => { $('live-note').hidden = true; reloadAll(); },
        onEvent: (type, data) => { if (live(s)) onEvent(type, data); },
      });
    } catch (error) {
      if (!live(s)) return;
      if (error.status === 401) { unauthorized(); return; }
    }
    if (!live(s)) return;
    $('live-note').hidden = false;
    await sleep(2000);
  }
}

function start() {
  stop();
  session = { controller: new AbortController(), timers: [] };
  $('signin').hidden = true;
  $('main').hidden = false;
  $('signout').hidden = !api.token();
  session.timers.push(setInterval(refreshClients, 5000), setInterval(refreshStats, 10000));
  ctx.render();
  reloadAll();
  follow(session);
}

function stop() {
  if (!session) return;
  session.controller.abort();
  for (const timer of session.timers) clearInterval(timer);
  session = null;
  $('live-note').hidden = true;
}

/** The first request tells whether the hub needs a token. */
async function probe() {
  try {
    ctx.model.clients = await api.clients();
    start();
  } catch (error) {
    if (error.status === 401) unauthorized();
    else { start(); ctx.fail(error); }
  }
}

async function signIn(event) {
  event.preventDefault();
  const value = $('token').value.trim();
  if (!value) { signinError = 'signin.empty'; renderSignin(); return; }
  api.setToken(value);
  $('signin-submit').disabled = true;
  try {
    ctx.model.clients = await api.clients();
    $('token').value = '';
    signinError = null;
    renderSignin();
    start();
  } catch (error) {
    if (error.status === 401) { api.setToken(null); signinError = 'signin.refused'; } else signinError = error;
    renderSignin();
  } finally {
    $('signin-submit').disabled = false;
  }
}

function main() {
  setupTabs();
  for (const view of Object.values(views)) view.mount(ctx);
  $('lang').addEventListener('change', (event) => {
    try { localStorage.setItem(LANGUAGE_KEY, event.target.value); } catch { /* private mode */ }
    applyLanguage(pickLanguage(event.target.value, navigator.languages));
  });
  $('signin').addEventListener('submit', signIn);
  $('signout').addEventListener('click', () => {
    api.setToken(null);
    stop();
    probe();
  });
  applyLanguage(pickLanguage(storedLanguage(), navigator.languages));
  showView('pcs');
  probe().finally(() => { document.body.dataset.ready = 'true'; });
}

main();

// Pure logic of the console: hub data to words and rows, filters, timelines, the SSE parser;
// no DOM, so node can test it.

/** Job states in the order a job passes them; the last five are final. */
export const JOB_STATES = Object.freeze(['queued', 'delivered', 'received', 'spooled',
  'completed', 'failed', 'rejected', 'expired', 'cancelled']);
const FINAL = new Set(['completed', 'failed', 'rejected', 'expired', 'cancelled']);

/** Whether a job state is final (nothing changes it any more). */
export const isFinal = (state) => FINAL.has(state);

/** Whether a job may still be cancelled: it has not printed nor ended. */
export const isCancellable = (job) => ['queued', 'delivered', 'received', 'spooled'].includes(job && job.state);

/** How far a state is along the way (final states are all last). */
export function stateRank(state) {
  return isFinal(state) ? 4 : Math.max(0, JOB_STATES.indexOf(state));
}

/**
 * An incremental Server-Sent Events parser: feed(chunk) takes bytes (Uint8Array, decoded in
 * stream mode, so a chunk may end inside a character) or text and returns the events it
 * completed, as {event, data}; comment lines are skipped, data lines joined with "\n".
 */
export function createSseParser() {
  const decoder = new TextDecoder('utf-8');
  let buffer = '';
  let type = '';
  let data = [];
  let first = true;
  const line = (text, out) => {
    if (text === '') {
      if (data.length) out.push({ event: type || 'message', data: data.join('\n') });
      type = '';
      data = [];
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  };
  const take = (flush) => {
    const out = [];
    for (;;) {
      const i = buffer.search(/[\r\n]/);
      if (i < 0) break;
      // A CR at the end of a chunk may be the first half of CRLF.
      if (buffer[i] === '\r' && i === buffer.length - 1 && !flush) break;
      const text = buffer.slice(0, i);
      buffer = buffer.slice(i + (buffer[i] === '\r' && buffer[i + 1] === '\n' ? 2 : 1));
      line(text, out);
    }
    return out;
  };
  return {
    feed(chunk) {
      let text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      if (first && text) {
        if (text.startsWith('\uFEFF')) text = text.slice(1);
        first = false;
      }
      buffer += text;
      return take(false);
    },
    /** The stream ended: an event without its blank line is dropped, as the SSE rules say. */
    end() {
      buffer += decoder.decode();
      return take(true);
    },
  };
}

/**
 * A job's timeline: queued, delivered, each agent status in order, and the hub's own
 * cancel or expiry when no status reported it. Entries: {state, at, printer?, spoolerJobId?,
 * error?, duplicate?, byHub?}.
 */
export function buildTimeline(job) {
  const entries = [{ state: 'queued', at: job.createdAt }];
  if (job.deliveredAt != null) entries.push({ state: 'delivered', at: job.deliveredAt });
  for (const event of job.events || []) {
    entries.push({
      state: event.state, at: event.at, printer: event.printer || null, spoolerJobId: event.spoolerJobId ?? null,
      error: event.error || null, duplicate: Boolean(event.duplicate),
    });
  }
  const hubFinal = job.state === 'cancelled' || job.state === 'expired';
  if (hubFinal && !(job.events || []).some((e) => e.state === job.state)) {
    entries.push({ state: job.state, at: job.updatedAt, error: job.error || null, byHub: true });
  }
  return entries;
}

/** An agent or hub error code in words; an unknown code shows its raw message. */
export function jobErrorText(error, t) {
  if (!error) return '';
  const key = `code.${error.code}`;
  const words = t(key);
  return words === key ? (error.message || error.code || '') : words;
}

/** The raw side of an error, for whoever supports the PC. */
export function errorTechnical(error) {
  if (!error) return '';
  return error.message ? `${error.code}: ${error.message}` : String(error.code || '');
}

/** A failed request in words: the hub's code, then an agent code, else its message. */
export function apiErrorText(error, t) {
  if (!error || typeof error !== 'object') return String(error);
  if (error.code) {
    for (const key of [`apiError.${error.code}`, `code.${error.code}`]) {
      const words = t(key);
      if (words !== key) return words;
    }
  }
  return error.message || String(error);
}

/** A duration in words: "45 s", "3 min", "2 h 5 min", "1 d 3 h" (or in Chinese). */
export function ageText(ms, t) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return t('age.seconds', s);
  const m = Math.floor(s / 60);
  if (m < 60) return t('age.minutes', m);
  const h = Math.floor(m / 60);
  if (h < 24) return t('age.hours', h, m % 60);
  return t('age.days', Math.floor(h / 24), h % 24);
}

/** The oldest waiting job of the stats, as its age and its PC ("3 min (pc-1)"), or "none". */
export function oldestWaitingText(oldest, now, t) {
  if (!oldest) return t('oldest.none');
  return t('oldest.value', ageText(now - oldest.createdAt, t), oldest.clientId);
}

/** A number in the language's digits grouping. */
export function formatNumber(n, locale) {
  return n == null ? '—' : new Intl.NumberFormat(locale).format(n);
}

/** Milliseconds since the epoch of the local midnight before `now`. */
export function startOfDay(now) {
  const day = new Date(now);
  day.setHours(0, 0, 0, 0);
  return day.getTime();
}

const hour12 = (locale) => (locale === 'zh-CN' ? { hour12: false } : {});

/** A date and time in `locale`. */
export function formatDateTime(ms, locale) {
  if (ms == null) return '—';
  return new Intl.DateTimeFormat(locale, {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    ...hour12(locale),
  }).format(ms);
}

/** A time of day when `ms` is today (by `now`), else the date and time. */
export function formatWhen(ms, locale, now) {
  if (ms == null) return '—';
  if (startOfDay(ms) !== startOfDay(now)) return formatDateTime(ms, locale);
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit', ...hour12(locale) }).format(ms);
}

/** Whether a PC shows under a search text and the online/offline filter. */
export function pcMatches(client, text, filter) {
  if (filter === 'online' && !client.connected) return false;
  if (filter === 'offline' && client.connected) return false;
  const needle = String(text || '').trim().toLowerCase();
  if (!needle) return true;
  const info = client.info || {};
  const words = [client.clientId, info.host && info.host.hostname,
    ...(info.printers || []).flatMap((p) => [p.name, p.systemName])];
  return words.some((w) => w && String(w).toLowerCase().includes(needle));
}

/** Waiting jobs per PC ({clientId: n}) from lists of waiting jobs (queued, delivered...). */
export function waitingPerClient(...lists) {
  const counts = {};
  for (const job of lists.flat()) counts[job.clientId] = (counts[job.clientId] || 0) + 1;
  return counts;
}

/** PCs in display order: offline ones with waiting jobs first, then by id. */
export function sortClients(clients, waiting) {
  const stuck = (c) => (!c.connected && (waiting[c.clientId] || 0) > 0 ? 0 : 1);
  return [...clients].sort((a, b) => stuck(a) - stuck(b) || a.clientId.localeCompare(b.clientId));
}

/** The cells of a PC row, in words. */
export function describeClient(client, waiting, t, now) {
  const info = client.info;
  const count = waiting[client.clientId] || 0;
  return {
    state: t(client.connected ? 'pc.online' : 'pc.offline'),
    since: t('since', formatWhen(client.lastSeen, t.locale, now)),
    heartbeat: client.lastHeartbeatAt == null ? '—' : t('ago', ageText(now - client.lastHeartbeatAt, t)),
    rtt: client.rttMs == null ? '—' : t('rtt', formatNumber(client.rttMs, t.locale)),
    agent: info && info.app ? `${info.app.name} ${info.app.version}` : t('pc.unknown'),
    host: info && info.host ? `${info.host.hostname} · ${info.host.os} ${info.host.arch}` : '—',
    printers: ((info && info.printers) || []).map((p) => ({
      name: p.name || p.systemName,
      state: printerStateText(p.state, t),
      selected: info.selectedPrinter === p.systemName,
      isDefault: Boolean(p.isDefault),
    })),
    waiting: count,
    stuck: !client.connected && count > 0,
  };
}

function printerStateText(state, t) {
  const key = `printer.${state}`;
  const words = t(key);
  return words === key ? t('printer.unknown') : words;
}

/** The printer choices of a PC: "" for its chosen printer, then each by systemName. */
export function printerOptions(client, t) {
  const info = client && client.info;
  const chosen = info && info.selectedPrinter;
  const options = [{ value: '', label: chosen ? t('print.pcChoiceNamed', chosen) : t('print.pcChoice') }];
  for (const p of ((info && info.printers) || [])) {
    options.push({ value: p.systemName, label: t('printerWithState', p.name || p.systemName, printerStateText(p.state, t)) });
  }
  return options;
}

/** A datetime-local value as ms (local time), or null. */
export function localInputToMs(value) {
  if (!value) return null;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? null : ms;
}

/** The query string of GET /api/v1/jobs for the filters ({clientId, state, text, since, until}). */
export function jobsQuery(filters, limit = 100, offset = 0) {
  const params = new URLSearchParams();
  if (filters.clientId) params.set('clientId', filters.clientId);
  if (filters.state) params.set('state', filters.state);
  if (filters.text && filters.text.trim()) params.set('q', filters.text.trim());
  const since = localInputToMs(filters.since);
  const until = localInputToMs(filters.until);
  if (since != null) params.set('since', String(since));
  if (until != null) params.set('until', String(until));
  params.set('limit', String(limit));
  if (offset) params.set('offset', String(offset));
  return `?${params}`;
}

/** Whether a job event ({jobId, clientId, state, at}) belongs in a list with these filters. */
export function eventMatchesFilters(event, filters) {
  if (filters.clientId && event.clientId !== filters.clientId) return false;
  if (filters.state && event.state !== filters.state) return false;
  const needle = (filters.text || '').trim().toLowerCase();
  if (needle && !event.jobId.toLowerCase().includes(needle) && !event.clientId.toLowerCase().includes(needle)) return false;
  const since = localInputToMs(filters.since);
  const until = localInputToMs(filters.until);
  if (since != null && event.at < since) return false;
  return !(until != null && event.at >= until);
}

/** A job record with a job event applied (state, updatedAt, error); an older state is not taken. */
export function applyJobEvent(job, event) {
  if (stateRank(event.state) < stateRank(job.state)) return job;
  const changed = event.state !== job.state;
  return { ...job, state: event.state, updatedAt: Math.max(job.updatedAt || 0, event.at),
    error: event.error || (changed ? null : job.error) };
}

/** The list with the event applied to its job, and whether the job was in it. */
export function applyJobEventToList(jobs, event) {
  const index = jobs.findIndex((j) => j.jobId === event.jobId);
  if (index < 0) return { jobs, found: false };
  const next = [...jobs];
  next[index] = applyJobEvent(jobs[index], event);
  return { jobs: next, found: true };
}

/** The cells of a job row, in words. */
export function describeJobRow(job, t) {
  const state = t(`state.${job.state}`);
  return {
    created: formatDateTime(job.createdAt, t.locale),
    jobId: job.jobId,
    clientId: job.clientId,
    state: job.error ? `${state}${t('colon')}${jobErrorText(job.error, t)}` : state,
    updated: formatDateTime(job.updatedAt, t.locale),
  };
}

/** Bytes as base64, in chunks (a 10 MB file never goes through one call's arguments). */
export function bytesToBase64(bytes) {
  const CHUNK = 3 * 8192; // a multiple of 3: the pieces join without padding in between
  const parts = [];
  for (let i = 0; i < bytes.length; i += CHUNK) {
    parts.push(btoa(String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK))));
  }
  return parts.join('');
}

/** The body of POST /api/v1/jobs for the print form. */
export function printBody({ clientId, jobId, type, content, printer, title }) {
  const body = { clientId, jobId, contentType: type === 'pdf' ? 'pdf_base64' : type, content };
  if (printer) body.printer = printer;
  if (title && title.trim()) body.title = title.trim();
  return body;
}

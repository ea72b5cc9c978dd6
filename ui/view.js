// Pure functions from agent data to what the window shows; no DOM, so node can test them.

/** The host (and port) of a server URL, for sentences; the URL itself when it does not parse. */
export function serverHost(url) {
  try {
    return new URL(url).host || url;
  } catch {
    return url || '';
  }
}

/** A connection problem code (the agent's `problem`) in words, naming the server. */
export function describeProblem(problem, server, t) {
  return t(`problem.${problem || 'connection_lost'}`, serverHost(server));
}

/** Why the server disconnected this computer, in words. */
export function describeKick(reason, t) {
  return t(reason === 'replaced' ? 'kick.replaced' : 'kick.server');
}

/**
 * Badge text, detail line (in words), the technical text behind it, and whether the
 * Reconnect button shows, for a ConnectionState; `server` is the configured server URL.
 */
export function describeConnection(state, t, now, server = '') {
  const label = t(`state.${state.state}`);
  switch (state.state) {
    case 'connecting':
      return { label, detail: t('attempt', state.attempt, state.maxAttempts), canReconnect: false, urgent: false };
    case 'connected': {
      // How packets travel: long-polling means the network refuses websockets.
      const since = t('since', formatWhen(state.since, t.locale, now));
      const detail = state.transport ? `${since} · ${t(`transport.${state.transport}`)}` : since;
      return { label, detail, canReconnect: false, urgent: false };
    }
    case 'reconnecting': {
      const seconds = Math.max(0, Math.ceil((state.retryAt - now) / 1000));
      const parts = [t('attempt', state.attempt, state.maxAttempts), t('retryIn', seconds)];
      if (state.lastError) parts.push(describeProblem(state.problem, server, t));
      return { label, detail: parts.join(' · '), technical: state.lastError || '', canReconnect: true, urgent: false };
    }
    case 'gaveUp': {
      const parts = [t('gaveUp', state.attempts, describeProblem(state.problem, server, t))];
      // An unattended PC keeps trying in the background; say when, beside Reconnect.
      if (state.retryAt != null) parts.push(t('backgroundRetry', formatWhen(state.retryAt, t.locale, now)));
      return { label, detail: parts.join(' · '), technical: state.lastError || '', canReconnect: true, urgent: true };
    }
    case 'kicked':
      return { label, detail: describeKick(state.reason, t), technical: state.reason, canReconnect: true, urgent: true };
    case 'stopped':
      return { label, detail: '', canReconnect: true, urgent: false };
    default:
      return { label, detail: t('noServer'), canReconnect: false, urgent: false };
  }
}

/** The heartbeat line: seconds since the last PING, interval/timeout, RTT when known. */
export function describeHeartbeat(hb, t, now) {
  if (!hb || hb.lastPingAt == null) return '—';
  const ago = Math.max(0, Math.floor((now - hb.lastPingAt) / 1000));
  let text = t('lastBeat', ago, hb.pingIntervalMs / 1000, hb.pingTimeoutMs / 1000);
  if (hb.rttMs != null) text += t('rtt', hb.rttMs);
  return text;
}

/**
 * A line for a stored connection event ({at, event: ConnectionState}), given the event
 * before it in time (or null): connected, reconnected, lost (with its reason), gave up...
 */
export function describeConnectionEvent(entry, previous, t, server = '') {
  const state = entry.event || {};
  const before = previous && previous.event ? previous.event.state : null;
  let text;
  switch (state.state) {
    case 'connected':
      text = before === 'reconnecting' ? t('event.reconnected') : t('event.connected');
      break;
    case 'reconnecting': {
      const problem = describeProblem(state.problem, server, t);
      if (before !== 'connected') text = t('event.retrying', problem);
      // "Connection lost: the connection was lost" says nothing twice.
      else if (!state.problem || state.problem === 'connection_lost') text = t('event.lostPlain');
      else text = t('event.lost', problem);
      break;
    }
    case 'gaveUp':
      text = t('event.gaveUp', state.attempts, describeProblem(state.problem, server, t));
      break;
    case 'kicked':
      text = t('event.kicked', describeKick(state.reason, t));
      break;
    default:
      text = t(`state.${state.state}`);
  }
  return { time: formatDateTime(entry.at, t.locale), text, state: state.state };
}

/** A page of the history as the freshest knowledge has it: a job event that arrived while
 * the page was being read replaces the page's older record of that job. */
export function freshest(pageJobs, knownJobs) {
  const known = new Map((knownJobs || []).map((job) => [job.jobId, job]));
  const final = (state) => !['received', 'spooled'].includes(state);
  return pageJobs.map((job) => {
    const other = known.get(job.jobId);
    if (!other) return job;
    const newer = other.updatedAt > job.updatedAt
      || (other.updatedAt === job.updatedAt && final(other.state) && !final(job.state));
    return newer ? other : job;
  });
}

/** Inserts or replaces a job record (by jobId), newest first, at most `limit`. */
export function mergeJob(jobs, record, limit = 200) {
  const rest = jobs.filter((j) => j.jobId !== record.jobId);
  return [record, ...rest].sort((a, b) => b.receivedAt - a.receivedAt).slice(0, limit);
}

/** Job filter groups of the Jobs view and the states each covers. */
export const jobGroups = Object.freeze({
  all: [],
  waiting: ['received', 'spooled'],
  completed: ['completed'],
  failed: ['failed', 'rejected', 'expired'],
  cancelled: ['cancelled'],
});

/** Whether `job` belongs in a list filtered by group and search text (as the store filters). */
export function jobMatches(job, group, text) {
  const states = jobGroups[group] || [];
  if (states.length && !states.includes(job.state)) return false;
  if (!text) return true;
  const needle = text.toLowerCase();
  return job.jobId.toLowerCase().includes(needle) || (job.title || '').toLowerCase().includes(needle);
}

/** What the UI may do with a job: cancel while it waits, reprint once stored. */
export function jobActions(job) {
  return {
    cancel: job.state === 'received' || job.state === 'spooled',
    reprint: job.state !== 'rejected',
  };
}

/** A failed command's error in words: a settings field's rule, or the code's sentence;
 * an unknown code (a newer agent) or a non-command error shows its raw message. */
export function commandErrorText(error, t) {
  if (!error || typeof error !== 'object') return String(error);
  // Problems the form found itself carry no code: their message is already in words.
  if (!error.code) return error.message || String(error);
  const keys = [];
  // A field's rule explains an invalid value; a locked field has one sentence for all.
  if (error.field && error.code === 'invalid_settings') keys.push(`settingsProblem.${error.field}`);
  keys.push(`commandError.${error.code}`);
  for (const key of keys) {
    const words = t(key);
    if (words !== key) return words;
  }
  return error.message || String(error);
}

/** A warning from the agent in words ({code, detail}); a plain text stays as it is. */
export function warningText(warning, t) {
  if (!warning || typeof warning !== 'object') return String(warning);
  const key = `warning.${warning.code}`;
  const words = t(key);
  return words === key ? warning.detail : words;
}

/** Why a job failed, in words; an unknown code (a newer agent) shows its raw message. */
export function jobErrorText(error, t) {
  const key = `jobError.${error.code}`;
  const words = t(key);
  return words === key ? error.message : words;
}

/** What a job's document is, in words ("Web page", "PDF (link)"); "—" before it had one. */
export function documentKindText(kind, t) {
  if (!kind) return '—';
  const words = t(`kind.${kind}`);
  return words === `kind.${kind}` ? kind : words;
}

/** The cells of a job row: time, title, kind, printer, size, state (with the error when failed). */
export function describeJob(job, t) {
  const state = t(`job.${job.state}`);
  return {
    time: formatDateTime(job.receivedAt, t.locale),
    title: job.title || job.jobId,
    kind: documentKindText(job.kind, t),
    printer: job.printer || '—',
    size: formatBytes(job.sizeBytes),
    state: job.error ? `${state}${t('colon')}${jobErrorText(job.error, t)}` : state,
  };
}

/** Detail lines of a job: [label key, value] pairs. */
export function jobDetails(job, t) {
  const lines = [
    ['jobId', job.jobId],
    ['title', job.title || '—'],
    ['kind', documentKindText(job.kind, t)],
    ['state', t(`job.${job.state}`)],
    ['printer', job.printer || '—'],
    ['size', formatBytes(job.sizeBytes)],
    ['copies', String(job.copies)],
    ['received', formatDateTime(job.receivedAt, t.locale)],
    ['updated', formatDateTime(job.updatedAt, t.locale)],
  ];
  if (job.spoolerJobId != null) lines.push(['spoolerJob', String(job.spoolerJobId)]);
  if (job.reprintOf) lines.push(['reprintOf', job.reprintOf]);
  if (job.error) {
    lines.push(['error', jobErrorText(job.error, t)]);
    // The raw words stay one click away, for whoever supports the PC.
    lines.push(['technical', `${job.error.code}: ${job.error.message}`]);
  }
  return lines;
}

/** The printer line: the selected printer (or the default) and what the spooler says of it. */
export function describePrinter(selected, printers, t) {
  const list = printers || [];
  const printer = selected ? list.find((p) => p.systemName === selected) : list.find((p) => p.isDefault);
  const name = selected || (printer ? `${printer.systemName} (${t('systemDefault')})` : t('systemDefault'));
  if (!printer) return { name, state: selected && printers ? t('printer.missing') : '', ok: !selected || !printers };
  return { name, state: t(`printer.${printer.state}`), ok: printer.state === 'ready' || printer.state === 'printing' };
}

/** Milliseconds since the epoch of the local midnight before `now`. */
export function startOfDay(now) {
  const day = new Date(now);
  day.setHours(0, 0, 0, 0);
  return day.getTime();
}

/** The reconnect fields the form shows in seconds (the settings keep milliseconds). */
export const secondsFields = ['delayMs', 'delayMaxMs', 'connectTimeoutMs', 'backgroundRetryMs'];

/** Seconds typed in the form as whole milliseconds; anything else stays as typed (and
 * is then not a number). */
export function secondsToMs(value) {
  const text = String(value ?? '').trim();
  if (text === '' || !/^\d+(\.\d*)?$|^\.\d+$/.test(text)) return text;
  return Math.round(Number(text) * 1000);
}

/** Milliseconds as the seconds the form shows (1500 -> 1.5). */
export function msToSeconds(ms) {
  return ms == null ? '' : String(ms / 1000);
}

/** Settings as the form edits them: numbers as numbers, empty token/printer as null. */
export function normalizeDraft(draft) {
  const number = (v) => (v === '' || v == null ? NaN : Number(v));
  return {
    ...draft,
    serverUrl: String(draft.serverUrl ?? '').trim(),
    clientId: String(draft.clientId ?? '').trim(),
    token: draft.token ? String(draft.token) : null,
    printer: draft.printer ? String(draft.printer) : null,
    socketPath: String(draft.socketPath ?? '').trim() || '/socket.io/',
    proxy: String(draft.proxy ?? '').trim() || 'system',
    caFile: String(draft.caFile ?? '').trim() || null,
    reconnect: {
      attempts: number(draft.reconnect.attempts),
      delayMs: number(draft.reconnect.delayMs),
      delayMaxMs: number(draft.reconnect.delayMaxMs),
      connectTimeoutMs: number(draft.reconnect.connectTimeoutMs),
      backgroundRetryMs: number(draft.reconnect.backgroundRetryMs),
    },
  };
}

/** Field problems a form must show before asking the agent (numbers that are not numbers). */
export function localProblems(draft, t) {
  const problems = [];
  for (const [key, value] of Object.entries(draft.reconnect)) {
    if (!Number.isInteger(value) || value < 0) problems.push({ field: `reconnect.${key}`, message: t('notANumber') });
  }
  return problems;
}

/** A time of day in `locale` ('en', 'zh-CN'). */
export function formatTime(ms, locale) {
  return ms == null ? '—' : new Date(ms).toLocaleTimeString(locale, clock(locale));
}

/** Chinese offices read a 24-hour clock; English follows its locale. */
function clock(locale) {
  return locale === 'zh-CN' ? { hour12: false } : {};
}

/** A time of day when `ms` is today (by `now`), else the date and time. */
export function formatWhen(ms, locale, now) {
  if (ms == null) return '—';
  return startOfDay(ms) === startOfDay(now) ? formatTime(ms, locale) : formatDateTime(ms, locale);
}

/** A date and time in `locale`. */
export function formatDateTime(ms, locale) {
  if (ms == null) return '—';
  if (locale !== 'zh-CN') return new Date(ms).toLocaleString(locale);
  // 2026/12/01 21:06:56: two-digit month and day, 24-hour clock.
  return new Date(ms).toLocaleString(locale, {
    year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  });
}

export function formatBytes(bytes) {
  if (bytes == null) return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

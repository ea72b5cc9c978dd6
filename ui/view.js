// Pure functions from agent data to what the window shows; no DOM, so node can test them.

/** Badge text, detail line and whether the Reconnect button shows, for a ConnectionState. */
export function describeConnection(state, t, now) {
  const label = t(`state.${state.state}`);
  switch (state.state) {
    case 'connecting':
      return { label, detail: t('attempt', state.attempt, state.maxAttempts), canReconnect: false };
    case 'connected':
      return { label, detail: t('since', new Date(state.since).toLocaleTimeString()), canReconnect: false };
    case 'reconnecting': {
      const seconds = Math.max(0, Math.ceil((state.retryAt - now) / 1000));
      const parts = [t('attempt', state.attempt, state.maxAttempts), t('retryIn', seconds)];
      if (state.lastError) parts.push(state.lastError);
      return { label, detail: parts.join(' · '), canReconnect: true };
    }
    case 'gaveUp':
      return { label, detail: t('gaveUp', state.attempts, state.lastError), canReconnect: true };
    case 'kicked':
      return { label, detail: state.reason, canReconnect: true };
    case 'stopped':
      return { label, detail: '', canReconnect: true };
    default:
      return { label, detail: '', canReconnect: false };
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

/** Inserts or replaces a job record (by jobId), newest first, at most `limit`. */
export function mergeJob(jobs, record, limit = 200) {
  const rest = jobs.filter((j) => j.jobId !== record.jobId);
  return [record, ...rest].sort((a, b) => b.receivedAt - a.receivedAt).slice(0, limit);
}

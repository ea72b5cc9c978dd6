// The only module that talks to the hub: JSON requests with the tab's token, and the event stream.

import { createSseParser } from './view.js';

const TOKEN_KEY = 'printrelay.console.token';

/** The token of this tab, or null (sessionStorage: never a URL, never localStorage). */
export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || null;
  } catch {
    return null;
  }
}

/** Keeps (or, with null, forgets) the token for this tab. */
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** A refused or failed request: HTTP status (0 when the hub was not reached), code, message, field. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
}

function headers(extra = {}) {
  const value = token();
  return value ? { ...extra, Authorization: `Bearer ${value}` } : extra;
}

async function request(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, 'network', String(error && error.message ? error.message : error));
  }
  const text = await response.text().catch(() => '');
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const error = (json && json.error) || {};
    throw new ApiError(response.status, error.code || (response.status === 401 ? 'unauthorized' : 'error'),
      error.message || `${response.status} ${response.statusText}`, error.field);
  }
  return { status: response.status, body: json };
}

const get = async (path) => (await request('GET', path)).body;
const enc = encodeURIComponent;

/** Every PC the hub knows: [Client]. */
export const clients = async () => (await get('/api/v1/clients')).clients;
/** One PC. */
export const client = (clientId) => get(`/api/v1/clients/${enc(clientId)}`);
/** Jobs for a query string made by view.jobsQuery ("?state=queued&limit=50"). */
export const jobs = async (query = '') => (await get(`/api/v1/jobs${query}`)).jobs;
/** One job with its events. */
export const job = (jobId) => get(`/api/v1/jobs/${enc(jobId)}`);
/** Counters since `since` (ms). */
export const stats = (since) => get(`/api/v1/stats?since=${since}`);
/** Submits a job; resolves to {jobId, state}. */
export const submit = async (body) => (await request('POST', '/api/v1/jobs', body)).body;
/** Cancels a job; resolves to {status, body} (200: cancelled now, 202: the PC was asked). */
export const cancel = (jobId) => request('POST', `/api/v1/jobs/${enc(jobId)}/cancel`);
/** Prints a job again; resolves to {jobId, state} of the new job. */
export const reprint = async (jobId) => (await request('POST', `/api/v1/jobs/${enc(jobId)}/reprint`)).body;

/**
 * Reads GET /api/v1/events until it ends (resolves) or fails (rejects with ApiError);
 * onOpen() once the hub answered (the subscription is in place), onEvent(type, data) per event.
 */
export async function streamEvents({ signal, onOpen, onEvent }) {
  let response;
  try {
    response = await fetch('/api/v1/events', {
      headers: headers({ Accept: 'text/event-stream' }), signal, cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, 'network', String(error && error.message ? error.message : error));
  }
  if (!response.ok || !response.body) {
    let error = {};
    try {
      error = (await response.json()).error || {};
    } catch { /* not JSON */ }
    throw new ApiError(response.status, error.code || (response.status === 401 ? 'unauthorized' : 'error'),
      error.message || String(response.status));
  }
  onOpen();
  const parser = createSseParser();
  const reader = response.body.getReader();
  const deliver = (events) => {
    for (const { event, data } of events) {
      let payload;
      try {
        payload = JSON.parse(data);
      } catch {
        continue;
      }
      onEvent(event, payload);
    }
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      deliver(parser.feed(value));
    }
  } catch (error) {
    if (signal && signal.aborted) return;
    throw new ApiError(0, 'network', String(error && error.message ? error.message : error));
  }
  deliver(parser.end());
}

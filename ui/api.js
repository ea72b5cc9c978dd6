// The only module that touches window.__TAURI__: commands and event subscriptions.

const tauri = window.__TAURI__;

/** Channel names, as AgentEvent::channel() defines them in Rust. */
export const channels = Object.freeze({
  connection: 'connection://state',
  heartbeat: 'connection://heartbeat',
  job: 'job://updated',
  settings: 'settings://updated',
  paused: 'printing://paused',
  warning: 'agent://warning',
});

/** Everything the window shows at open: {connection, heartbeat, settings, jobs}. */
export function snapshot() {
  return tauri.core.invoke('snapshot');
}

/** Starts a fresh round of connect attempts. */
export function reconnect() {
  return tauri.core.invoke('reconnect');
}

/** Calls handler(payload) for every AgentEvent of that channel ({type, payload}). */
export function on(channel, handler) {
  return tauri.event.listen(channel, (event) => handler(event.payload.payload));
}

// The only module that touches window.__TAURI__: commands and event subscriptions.
// Payload shapes are defined once, in Rust (src-tauri/src/control.rs, crates/agent);
// tests/ui/contract.test.mjs checks the UI against samples Rust serialized.

// Looked up on use, so node tests can import the channel names.
const tauri = () => window.__TAURI__;

/** Channel names, as AgentEvent::channel() defines them in Rust. */
export const channels = Object.freeze({
  connection: 'connection://state',
  heartbeat: 'connection://heartbeat',
  job: 'job://updated',
  settings: 'settings://updated',
  paused: 'printing://paused',
  warning: 'agent://warning',
});

const invoke = (command, args) => tauri().core.invoke(command, args);

/** Everything the window shows at open (DesktopSnapshot). */
export const snapshot = () => invoke('snapshot');
/** Starts a fresh round of connect attempts. */
export const reconnect = () => invoke('reconnect');
/** Pauses (true) or resumes (false) printing. */
export const setPaused = (paused) => invoke('set_paused', { paused });
/** The machine's printers (PrinterInfo[]). */
export const printers = () => invoke('printers');
/** Queues a test page on `printer` (null: the selected one); resolves to its job id. */
export const testPrint = (printer) => invoke('test_print', { printer });
/** A page of the history (JobQuery -> JobPage). */
export const queryJobs = (query) => invoke('query_jobs', { query });
/** Cancels a queued or spooled job. */
export const cancelJob = (jobId) => invoke('cancel_job', { jobId });
/** Prints a past job again; resolves to the new job id. */
export const reprint = (jobId) => invoke('reprint', { jobId });
/** Every problem of a settings draft: [{code, message, field}]. */
export const checkSettings = (settings) => invoke('check_settings', { settings });
/** Saves and applies settings; resolves to {settings, autostart}. */
export const saveSettings = (settings) => invoke('save_settings', { settings });

/** Calls handler(payload) for every AgentEvent ({type, payload}) of that channel. */
export function on(channel, handler) {
  return tauri().event.listen(channel, (event) => handler(event.payload.payload));
}

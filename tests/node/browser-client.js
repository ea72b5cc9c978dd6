// An original-style web client, unmodified in behaviour: socket.io-client 4 with its
// defaults (long-polling first, then upgrade to websocket), `register` with its client
// id on every connect, and `print` events handled as they come.
//
// Usage: node browser-client.js --url http://127.0.0.1:3000 --client-id shop-pc
// Writes each received `print` payload as one JSON line on stdout; notes on stderr.
const { io } = require('socket.io-client');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const url = option('url', 'http://127.0.0.1:3000');
const clientId = option('client-id', 'browser-client');

const socket = io(url);
socket.on('connect', () => {
  socket.emit('register', clientId);
  console.error(`connected as ${socket.id}, registered ${clientId}`);
});
socket.on('print', (payload) => {
  process.stdout.write(`${JSON.stringify(payload)}\n`);
});
socket.on('connect_error', (error) => console.error(`connect_error: ${error.message}`));
socket.on('disconnect', (reason) => console.error(`disconnected: ${reason}`));

// A stand-in for the original dispatch server this project grew from: socket.io 4 +
// express, `register(clientId)`, `print {printData}`, GET /getStatus and /startPrint,
// and CORS open to any origin, as the original (docs/protocol.md section 7).
// It deliberately knows nothing of PrintRelay's protocol v1 (no acks, no job status).
//
// Usage: node original-server.js [--port 3000] [--host 127.0.0.1]
//        [--ping-interval 10000] [--ping-timeout 5000] [--ack-heartbeat [--ack-with-buffer]] [--token T]
//        [--tls-cert cert.pem --tls-key key.pem] [--namespace /printers]
//        [--path /print/socket.io] [--transports polling]
// --tls-cert/--tls-key serve HTTPS and wss with that certificate (a company's own CA).
// --ack-heartbeat answers the agent's `heartbeat` like PrintRelay's hub does (for RTT tests);
// without it the server never acks, as the original.
// --namespace serves the clients on `io.of(name)` instead of the main namespace, and
// --path moves the engine path (socket.io behind a reverse proxy at another path): how
// companies run socket.io that the original did not. --transports polling stands for
// a network whose proxy lets no websocket through.
// Prints one JSON line {"listening": <port>} on stdout once it accepts connections.
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');
const express = require('express');
const { Server } = require('socket.io');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const port = Number(option('port', process.env.PORT || 3000));
const host = option('host', '127.0.0.1');
const pingInterval = Number(option('ping-interval', 10000));
const pingTimeout = Number(option('ping-timeout', 5000));
const ackHeartbeat = process.argv.includes('--ack-heartbeat');
// --ack-with-buffer puts a Buffer into that answer (a Socket.IO BINARY_ACK).
const ackWithBuffer = process.argv.includes('--ack-with-buffer');
// --token T refuses handshakes whose auth.token is not T (as PrintRelay's hub does).
const requiredToken = option('token', null);

const app = express();
const tlsCert = option('tls-cert', null);
const server = tlsCert
  ? https.createServer({ cert: fs.readFileSync(tlsCert), key: fs.readFileSync(option('tls-key', '')) }, app)
  : http.createServer(app);
const io = new Server(server, {
  pingInterval,
  pingTimeout,
  cors: { origin: '*' },
  path: option('path', '/socket.io'),
  transports: option('transports', 'polling,websocket').split(','),
});
// The namespace the clients live on (the main one, `/`, unless --namespace).
const nsp = io.of(option('namespace', '/'));

// clientId -> { clientId, connected, socketId }
const clients = new Map();
// Test hooks: every `job_status` an agent sent, and what /emit delivered, per client.
const statuses = new Map();
const delivered = new Map();
// ...and every `client_info` (printers, versions) it sent.
const clientInfos = new Map();
// ...and every `upload` with its Buffer's bytes.
const uploads = [];

if (requiredToken !== null) {
  nsp.use((socket, next) => {
    if (socket.handshake.auth && socket.handshake.auth.token === requiredToken) return next();
    next(new Error('invalid token'));
  });
}

nsp.on('connection', (socket) => {
  socket.on('register', (clientId) => {
    if (typeof clientId !== 'string' || clientId === '') return;
    socket.data.clientId = clientId;
    clients.set(clientId, { clientId, connected: true, socketId: socket.id });
    log({ event: 'register', clientId, socketId: socket.id });
  });
  if (ackHeartbeat) {
    socket.on('heartbeat', (data, ack) => {
      const answer = { at: data && data.at, serverTime: Date.now() };
      if (ackWithBuffer) answer.signature = Buffer.from([0, 1, 2, 255]);
      if (typeof ack === 'function') ack(answer);
    });
  }
  socket.on('client_info', (info) => {
    const id = socket.data.clientId;
    if (!clientInfos.has(id)) clientInfos.set(id, []);
    clientInfos.get(id).push(info);
  });
  // Test hook: what a client sent with Buffers (`upload` {name, file: Buffer}).
  socket.on('upload', (payload) => {
    const file = payload && payload.file;
    uploads.push({ socketId: socket.id, name: payload && payload.name, bytes: Buffer.isBuffer(file) ? [...file] : null });
  });
  // The original ignores job_status; the test peer records it for assertions.
  socket.on('job_status', (status) => {
    const id = socket.data.clientId;
    if (!statuses.has(id)) statuses.set(id, []);
    statuses.get(id).push(status);
  });
  socket.on('disconnect', (reason) => {
    const entry = clients.get(socket.data.clientId);
    if (entry && entry.socketId === socket.id) entry.connected = false;
    log({ event: 'disconnect', clientId: socket.data.clientId, reason });
  });
});

// The original used the `cors` middleware with its defaults (the package is not
// needed to behave the same): every answer allows any origin, and an OPTIONS request is
// a preflight answered 204 with the default methods and the headers asked for.
app.use((req, res, next) => {
  res.set('Access-Control-Allow-Origin', '*');
  if (req.method !== 'OPTIONS') return next();
  res.set('Access-Control-Allow-Methods', 'GET,HEAD,PUT,PATCH,POST,DELETE');
  const asked = req.headers['access-control-request-headers'];
  if (asked) {
    res.vary('Access-Control-Request-Headers');
    res.set('Access-Control-Allow-Headers', asked);
  }
  res.set('Content-Length', '0');
  return res.status(204).end();
});

app.get('/getStatus', (_req, res) => {
  res.json({ data: [...clients.values()] });
});

app.get('/startPrint', (req, res) => {
  const { clientId, printData } = req.query;
  const entry = clients.get(clientId);
  // The original's exact answers (web systems compare them): unknown, offline, accepted.
  if (!entry) return res.json({ message: '客户端不存在' });
  if (!entry.connected) return res.json({ message: '客户端离线' });
  nsp.to(entry.socketId).emit('print', { printData });
  res.json({ message: '参数已接收' });
});

// Test hook, not in the original: drop a client's socket from the server side.
app.get('/kick', (req, res) => {
  const entry = clients.get(req.query.clientId);
  const socket = entry && nsp.sockets.get(entry.socketId);
  if (socket) socket.disconnect(true);
  res.json({ kicked: Boolean(socket) });
});

// Test hooks, not in the original: emit any event (v1 jobs, bad payloads), replay
// what was emitted to a client, read back the statuses it sent.
app.use(express.json({ limit: '50mb' }));
app.post('/emit', (req, res) => {
  const { clientId, event = 'print', payloads = [], times = 1 } = req.body;
  const entry = clients.get(clientId);
  if (!entry || !entry.connected) return res.status(409).json({ error: 'client offline' });
  if (!delivered.has(clientId)) delivered.set(clientId, []);
  for (let i = 0; i < times; i += 1) {
    for (const payload of payloads) {
      nsp.to(entry.socketId).emit(event, payload);
      delivered.get(clientId).push(payload);
    }
  }
  res.json({ emitted: payloads.length * times });
});
app.post('/emit-big', (req, res) => {
  const { clientId, jobId, megabytes } = req.query;
  const entry = clients.get(clientId);
  if (!entry || !entry.connected) return res.status(409).json({ error: 'client offline' });
  const content = 'A'.repeat(Number(megabytes) * 1024 * 1024);
  nsp.to(entry.socketId).emit('print', { jobId, contentType: 'raw_base64', content });
  res.json({ emitted: 1 });
});
// Test hook: emit `count` text jobs of `kib` KiB each, ids `${prefix}-${i}`, as fast as
// socket.io takes them (a queue released at once, with no flow control).
app.post('/emit-many', (req, res) => {
  const { clientId, prefix, count, kib } = req.query;
  const entry = clients.get(clientId);
  if (!entry || !entry.connected) return res.status(409).json({ error: 'client offline' });
  const content = 'x'.repeat(Number(kib) * 1024);
  for (let i = 0; i < Number(count); i += 1) {
    nsp.to(entry.socketId).emit('print', { jobId: `${prefix}-${i}`, contentType: 'text', content });
  }
  res.json({ emitted: Number(count) });
});
// Test hook: emit `print` with a Buffer inside (socket.io sends it as a binary event
// with an attachment), as a server that sends raw bytes does.
// Test hook: one event with an ack callback, as a server that wants to know what became
// of a job (`socket.timeout(ms).emit(event, payload, cb)`); answers with what the
// callback got, or the timeout. `bufferField` turns that string field into a Buffer.
app.post('/emit-with-ack', (req, res) => {
  const { clientId, event = 'print', payload = {}, timeoutMs = 5000, bufferField } = req.body;
  const entry = clients.get(clientId);
  const socket = entry && entry.connected && nsp.sockets.get(entry.socketId);
  if (!socket) return res.status(409).json({ error: 'client offline' });
  if (bufferField) payload[bufferField] = Buffer.from(String(payload[bufferField]));
  const started = Date.now();
  socket.timeout(Number(timeoutMs)).emit(event, payload, (error, answer) => {
    const ms = Date.now() - started;
    res.json(error ? { error: error.message, ms } : { answer, ms });
  });
});
// Test hook: `print` with a Buffer (a Socket.IO binary event) holding the bytes of
// `base64`: as `printData`, or with `contentType` as a v1 job's `content`.
app.post('/emit-binary', (req, res) => {
  const { clientId, jobId, base64, contentType } = req.query;
  const entry = clients.get(clientId);
  if (!entry || !entry.connected) return res.status(409).json({ error: 'client offline' });
  const bytes = Buffer.from(base64 || '', 'base64');
  const payload = contentType ? { jobId, contentType, content: bytes } : { jobId, printData: bytes };
  nsp.to(entry.socketId).emit('print', payload);
  res.json({ emitted: 1 });
});
app.post('/replay', (req, res) => {
  const { clientId } = req.query;
  const entry = clients.get(clientId);
  if (!entry || !entry.connected) return res.status(409).json({ error: 'client offline' });
  const payloads = delivered.get(clientId) || [];
  for (const payload of payloads) nsp.to(entry.socketId).emit('print', payload);
  res.json({ emitted: payloads.length });
});
app.get('/client-infos', (req, res) => {
  res.json({ clientInfos: clientInfos.get(req.query.clientId) || [] });
});
app.get('/uploads', (_req, res) => {
  res.json({ uploads });
});
app.get('/statuses', (req, res) => {
  res.json({ statuses: statuses.get(req.query.clientId) || [] });
});

// Test hook, not in the original: how many connections the server holds.
app.get('/stats', (_req, res) => {
  res.json({ sockets: nsp.sockets.size, engineClients: io.engine.clientsCount });
});

function log(object) {
  process.stderr.write(`${JSON.stringify(object)}\n`);
}

server.listen(port, host, () => {
  process.stdout.write(`${JSON.stringify({ listening: server.address().port })}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => { io.close(); server.close(() => process.exit(0)); });
}

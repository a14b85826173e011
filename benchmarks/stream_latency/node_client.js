'use strict';
// VS Code's transport for benchmarks/stream_latency.py: vscode-jsonrpc (what
// vscode-languageclient runs on) over the server's stdio. Runs one lspAgent.ask per prompt (in the
// previous ask's conversation when it says `same_conversation`) and records when each
// text_delta reaches its handler (performance.timeOrigin + performance.now()).
//
// Environment: LSP_BENCH_SERVER (the lsp-agent binary), LSP_BENCH_WS (workspace folder),
// LSP_BENCH_OPTS (the lspAgent settings, JSON), LSP_BENCH_PROMPTS (JSON list of {prompt,
// same_conversation}), LSP_BENCH_OUT (where the result JSON goes), LSP_BENCH_STDERR (the
// server's stderr), LSP_BENCH_VSCODE_DIR (editors/vscode, whose node_modules has
// vscode-jsonrpc).
const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');
const url = require('url');
const { createRequire } = require('module');
const { performance } = require('perf_hooks');

const env = process.env;
// resolve vscode-jsonrpc the way the extension does, from editors/vscode
const rpc = createRequire(path.join(env.LSP_BENCH_VSCODE_DIR, 'package.json'))('vscode-jsonrpc/node');
const opts = JSON.parse(env.LSP_BENCH_OPTS);
const prompts = JSON.parse(env.LSP_BENCH_PROMPTS);
const deltas = [];
const errors = [];
const now = () => performance.timeOrigin + performance.now();

function write() {
  fs.writeFileSync(env.LSP_BENCH_OUT, JSON.stringify({ deltas, errors }));
}

async function main() {
  const stderr = fs.openSync(env.LSP_BENCH_STDERR, 'a');
  const server = childProcess.spawn(env.LSP_BENCH_SERVER, ['serve'], {
    cwd: env.LSP_BENCH_WS, stdio: ['pipe', 'pipe', stderr],
  });
  const conn = rpc.createMessageConnection(
    new rpc.StreamMessageReader(server.stdout), new rpc.StreamMessageWriter(server.stdin));
  conn.onNotification('lspAgent/event', (event) => {
    if (event.type === 'text_delta') deltas.push([event.text, now()]);
  });
  // anything the server asks (configuration, progress tokens): the settings, or nothing
  conn.onRequest((method, params) =>
    method === 'workspace/configuration' ? params.items.map(() => opts) : null);
  conn.listen();
  const uri = url.pathToFileURL(env.LSP_BENCH_WS).href;
  await conn.sendRequest('initialize', {
    processId: process.pid, rootUri: uri, capabilities: {},
    workspaceFolders: [{ uri, name: 'ws' }], initializationOptions: { lspAgent: opts },
  });
  await conn.sendNotification('initialized', {});
  let conversation = null;
  for (const { prompt, same_conversation: same } of prompts) {
    const args = same && conversation ? { prompt, conversation_id: conversation } : { prompt };
    const result = await conn.sendRequest('workspace/executeCommand',
      { command: 'lspAgent.ask', arguments: [args] });
    conversation = result.data.conversation_id;
  }
  write();
  await conn.sendRequest('shutdown');
  await conn.sendNotification('exit');
  const exited = new Promise((resolve) => server.on('exit', resolve));
  const timer = setTimeout(() => server.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

main().then(() => process.exit(0), (err) => {
  errors.push(String(err && err.message ? err.message : err));
  write();
  process.exit(1);
});

// Extension-host-free unit tests of the pure protocol helpers (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildServerConfig,
  formatEvent,
  hitAction,
  hitLabel,
  indexSummary,
  isForeignFileError,
  parseTags,
  passageLabel,
  serverLaunch,
  startFailureMessage,
  statusBarText,
  versionLabel,
  Hit,
} from '../src/protocol';

test('buildServerConfig keeps only set protocol keys and nests reflection', () => {
  const settings: Record<string, unknown> = {
    model: ' scripted//tmp/s.json ',
    reflectionModel: null,
    embedder: '',
    store: undefined,
    permissionMode: 'ask',
    maxSteps: 7,
    'reflection.idleSeconds': 30,
    'reflection.everyTurns': 5,
    'server.command': '/x/lsp-agent',
  };
  const out = buildServerConfig((k) => settings[k]);
  assert.deepEqual(out, {
    trustWorkspace: false,
    model: 'scripted//tmp/s.json',
    permissionMode: 'ask',
    maxSteps: 7,
    reflection: { idleSeconds: 30, everyTurns: 5 },
  });
});

test('serverLaunch: command + args, or python -m lsp_agent serve', () => {
  assert.deepEqual(serverLaunch({ command: 'lsp-agent', args: ['serve'] }), {
    command: 'lsp-agent',
    args: ['serve'],
    display: 'lsp-agent serve',
  });
  assert.deepEqual(serverLaunch({ command: '', args: undefined }).args, ['serve']);
  const py = serverLaunch({ command: 'lsp-agent', args: ['serve'], pythonPath: '/v/bin/python' });
  assert.equal(py.command, '/v/bin/python');
  assert.deepEqual(py.args, ['-m', 'lsp_agent', 'serve']);
});

test('start failure messages name the fix', () => {
  const m = startFailureMessage(serverLaunch({ command: 'lsp-agent' }), 'not found', false);
  assert.match(m, /pipx install lsp-agent/);
  assert.match(m, /lspAgent\.server\.command/);
  const p = startFailureMessage(serverLaunch({ pythonPath: '/py' }), 'exit 1', true);
  assert.match(p, /\/py -m pip install lsp-agent/);
  assert.match(p, /lspAgent\.pythonPath/);
});

test('hitAction routes each kind of hit', () => {
  const range = { start: { line: 3, character: 0 }, end: { line: 5, character: 2 } };
  const code: Hit = { kind: 'code', id: '1', title: 'a.py', snippet: 'x', score: 1, location: { uri: 'file:///a.py', range } };
  assert.deepEqual(hitAction(code), { type: 'openLocation', uri: 'file:///a.py', range });
  const skill: Hit = { ...code, kind: 'skill' };
  assert.equal(hitAction(skill).type, 'openLocation');
  assert.deepEqual(hitAction({ kind: 'block', id: 'b', title: 't', snippet: '', score: 0, label: 'persona' }), {
    type: 'showBlock',
    label: 'persona',
  });
  assert.deepEqual(hitAction({ kind: 'message', id: 'm', title: 't', snippet: '', score: 0, conversation_id: 'c1' }), {
    type: 'showMessage',
    conversationId: 'c1',
  });
  assert.deepEqual(hitAction({ kind: 'archival', id: 'a', title: 't', snippet: 's', score: 0 }), { type: 'showSnippet' });
});

test('labels and event lines', () => {
  const label = hitLabel({ kind: 'block', id: 'b', title: 'Block persona', snippet: 'a\n b', score: 0.5, label: 'persona' });
  assert.equal(label.description, 'memory block · 0.50');
  assert.equal(label.detail, 'a b');
  const v = versionLabel({ version: 3, author: 'agent', timestamp: 0, reason: 'why', old: '', new: 'n' });
  assert.equal(v.label, 'v3');
  assert.match(v.description, /^agent/);
  const now = new Date('2026-01-01T10:11:12Z');
  assert.equal(
    formatEvent({ type: 'tool_call', tool: 'run_command', arguments: { command: 'echo hi' } }, now),
    '[10:11:12] → run_command {"command":"echo hi"}',
  );
  assert.equal(
    formatEvent({ type: 'tool_call', tool: 'run_command', text: 'run_command(command="echo hi")' }, now),
    '[10:11:12] → run_command(command="echo hi")',
  );
  assert.equal(formatEvent({ type: 'message', text: 'Done.' }, now), '[10:11:12] agent: Done.');
  assert.equal(statusBarText({ state: 'idle', model: 'anthropic/claude-sonnet-4-5' }), '$(hubot) Agent: idle · claude-sonnet-4-5');
  assert.equal(statusBarText({ state: 'idle', model: 'scripted//tmp/x.json' }), '$(hubot) Agent: idle · scripted');
  assert.match(statusBarText(undefined, 'thinking'), /spin/);
});

test('archival passages: tags typed comma separated, quick-pick labels', () => {
  assert.deepEqual(parseTags(' deploy, ci ,,  '), ['deploy', 'ci']);
  assert.deepEqual(parseTags(''), []);
  const p = passageLabel({ id: 'p1', content: 'Deploys go\nthrough CI.', tags: ['deploy', 'ci'], created_at: '2026-01-02T03:04:05Z' });
  assert.equal(p.label, 'Deploys go through CI.');
  assert.equal(p.description, '#deploy #ci · 2026-01-02 03:04:05Z');
  assert.equal(p.detail, 'p1');
  assert.equal(passageLabel({ id: 'p2', content: '', tags: [], created_at: '' }).label, 'p2');
});

test('index summary and the export refusal', () => {
  assert.equal(
    indexSummary({
      index: { files_indexed: 2, files_unchanged: 1, files_removed: 0, chunks_total: 9, chunks_added: 4, skipped: [], cancelled: false },
      embedded: 4,
    }),
    'code index up to date — 2 files indexed, 1 unchanged, 9 chunks (4 new), 4 chunks embedded.',
  );
  assert.equal(indexSummary({ embedded: 1 }), 'code index: 1 chunk embedded.');
  assert.match(indexSummary({ index: { cancelled: true }, embedded: 0 }), /^code indexing cancelled/);
  assert.ok(isForeignFileError('lspAgent.export: /w/AGENTS.md exists and was not written by lsp-agent; pass --force'));
  assert.ok(!isForeignFileError('lspAgent.export: something else'));
});

test('workspace trust is relayed from VS Code, never from a setting', () => {
  const planted: Record<string, unknown> = { trustWorkspace: true, permissionMode: 'auto' };
  assert.equal(buildServerConfig((k) => planted[k]).trustWorkspace, false);
  assert.equal(buildServerConfig((k) => planted[k], false).trustWorkspace, false);
  assert.equal(buildServerConfig((k) => planted[k], true).trustWorkspace, true);
});

test('an untrusted workspace cannot set the restricted settings', () => {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
  const untrusted = manifest.capabilities.untrustedWorkspaces;
  assert.equal(untrusted.supported, 'limited');
  const restricted: string[] = untrusted.restrictedConfigurations;
  for (const key of ['permissionMode', 'store', 'model', 'reflectionModel', 'embedder',
    'server.command', 'server.args', 'server.env', 'pythonPath']) {
    assert.ok(restricted.includes(`lspAgent.${key}`), `lspAgent.${key} is not restricted`);
    assert.ok(`lspAgent.${key}` in manifest.contributes.configuration.properties, key);
  }
});

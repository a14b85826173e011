// Unit tests of the chat view's transcript (media/transcript.ts): events and history pages in,
// items to render out (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentEvent, HistoryMessage, approvalAnswer, blockTreeDescription, formatEvent, rememberedMessage, timeAgo } from '../src/protocol';
import { Transcript, historyItems, shortArgs } from '../media/transcript';

function turn(events: Omit<AgentEvent, 'seq' | 'turn_id' | 'conversation_id'>[], turnId = 't1'): AgentEvent[] {
  return events.map((e, i) => ({ ...e, conversation_id: 'c1', turn_id: turnId, seq: i + 1 }) as AgentEvent);
}

test('deltas build one markdown segment; a tool call starts the next one', () => {
  const t = new Transcript();
  t.addPending('Fix it');
  for (const e of turn([
    { type: 'turn_start', prompt: 'Fix it' },
    { type: 'text_delta', text: 'Let me ' },
    { type: 'text_delta', text: 'look.' },
    { type: 'tool_call', call_id: 'k1', tool: 'read_file', arguments: { path: 'a.py' }, text: 'read_file(a.py)' },
    { type: 'tool_result', call_id: 'k1', tool: 'read_file', ok: true, text: 'def a(): ...' },
    { type: 'text_delta', text: 'Done' },
    { type: 'message', text: 'Let me look.Done' },
    { type: 'done', text: 'Let me look.Done', stopped: null, usage: { steps: 2, prompt_tokens: 10, completion_tokens: 5, cost: 0 } },
  ])) t.apply(e);
  const kinds = t.items.map((i) => i.kind);
  assert.deepEqual(kinds, ['user', 'assistant', 'tool', 'assistant', 'note']);
  const [user, first, tool, second, footer] = t.items;
  assert.ok(user.kind === 'user' && !user.pending, 'turn_start confirms the pending prompt');
  assert.ok(first.kind === 'assistant' && first.text === 'Let me look.' && !first.streaming);
  assert.ok(tool.kind === 'tool' && tool.result === 'def a(): ...' && tool.ok === true && tool.title === 'read_file(a.py)');
  assert.ok(second.kind === 'assistant' && second.text === 'Done');
  assert.ok(footer.kind === 'note' && footer.text === '2 steps · 15 tokens');
});

test('repeated and late events are dropped by seq', () => {
  const t = new Transcript();
  const events = turn([{ type: 'turn_start', prompt: 'hi' }, { type: 'text_delta', text: 'a' }, { type: 'text_delta', text: 'b' }]);
  for (const e of events) assert.equal(t.apply(e), true);
  assert.equal(t.apply(events[1]), false);
  const last = t.items[t.items.length - 1];
  assert.ok(last.kind === 'assistant' && last.text === 'ab');
});

test('a message without deltas is shown whole (servers that do not stream)', () => {
  const t = new Transcript();
  t.apply({ type: 'message', text: 'Whole answer.' });
  t.apply({ type: 'done', text: 'Whole answer.' });
  assert.deepEqual(t.items.map((i) => i.kind), ['assistant']);
});

test('approvals: inline buttons until answered; the edit path is kept for the diff', () => {
  const t = new Transcript();
  for (const e of turn([
    { type: 'turn_start', prompt: 'edit' },
    { type: 'approval_request', approval_id: 'a1', action: 'Overwrite greeter.py', detail: '+1 -1', choices: ['allow', 'always', 'deny'], inline: true, edit: { path: 'greeter.py', uri: 'file:///w/greeter.py', new_text: 'x' } },
  ])) t.apply(e);
  const item = t.items[1];
  assert.ok(item.kind === 'approval' && item.inline && item.editPath === 'greeter.py' && item.allowed === undefined);
  t.markSent('a1');
  assert.ok(item.kind === 'approval' && item.sent === true);
  t.apply({ type: 'approval_result', approval_id: 'a1', allowed: true, turn_id: 't1', seq: 3 });
  assert.ok(item.kind === 'approval' && item.allowed === true);
  assert.ok(t.takeChanged().has(item.key));
});

test('a stopped turn ends streaming and shows the error', () => {
  const t = new Transcript();
  for (const e of turn([
    { type: 'turn_start', prompt: 'long' },
    { type: 'text_delta', text: 'one two' },
    { type: 'error', text: 'The turn was stopped by the user.', stopped: 'cancelled' },
    { type: 'done', text: 'one two', stopped: 'cancelled' },
  ])) t.apply(e);
  const [, text, error] = t.items;
  assert.ok(text.kind === 'assistant' && !text.streaming);
  assert.ok(error.kind === 'note' && error.tone === 'error');
});

test('history pages: tool results join their calls, also across an older page', () => {
  const newer: HistoryMessage[] = [
    { seq: 5, role: 'tool', content: 'file text', tool_call_id: 'k9', name: 'read_file' },
    { seq: 6, role: 'assistant', content: 'It reads a file.' },
  ];
  const older: HistoryMessage[] = [
    { seq: 3, role: 'user', content: 'What does a.py do?' },
    { seq: 4, role: 'assistant', content: '', tool_calls: [{ id: 'k9', name: 'read_file', arguments: '{"path": "a.py"}' }] },
  ];
  const t = new Transcript();
  t.setHistory(newer);
  assert.deepEqual(t.items.map((i) => i.key), ['result:h:5', 'h:6']);
  assert.equal(t.prependHistory(older), 2);
  assert.deepEqual(t.items.map((i) => i.key), ['h:3', 'call:h:4:k9', 'h:6']);
  const call = t.items[1];
  assert.ok(call.kind === 'tool' && call.result === 'file text' && call.title === 'read_file({"path":"a.py"})');
  const summary = historyItems([{ seq: 1, role: 'summary', content: 'Earlier: setup.' }]);
  assert.ok(summary[0].kind === 'note' && summary[0].tone === 'summary');
});

test('the text before a tool call stops streaming at once; an unanswered approval expires with its turn', () => {
  const t = new Transcript();
  const events = turn([
    { type: 'turn_start', prompt: 'edit' },
    { type: 'text_delta', text: 'I will edit it.' },
    { type: 'approval_request', approval_id: 'a2', action: 'Edit file', detail: '', choices: ['allow', 'deny'], inline: true },
    { type: 'error', text: '(stopped by the user)', stopped: 'cancelled' },
    { type: 'done', text: 'I will edit it.', stopped: 'cancelled' },
  ]);
  for (const e of events.slice(0, 3)) t.apply(e);
  const [, text, approval] = t.items;
  assert.ok(text.kind === 'assistant' && !text.streaming, 'no caret while the approval waits');
  assert.ok(approval.kind === 'approval' && !approval.expired);
  for (const e of events.slice(3)) t.apply(e);
  const ended = t.items[2];
  assert.ok(ended.kind === 'approval' && ended.expired === true && ended.allowed === undefined);
});

test('a call id used again (in history, in a later turn) gets its own row', () => {
  const t = new Transcript();
  t.setHistory([
    { seq: 1, role: 'assistant', content: '', tool_calls: [{ id: 'c1', name: 'run_command', arguments: { command: 'echo a' } }] },
    { seq: 2, role: 'tool', content: 'a', tool_call_id: 'c1' },
    { seq: 3, role: 'assistant', content: '', tool_calls: [{ id: 'c1', name: 'run_command', arguments: { command: 'echo b' } }] },
    { seq: 4, role: 'tool', content: 'b', tool_call_id: 'c1' },
  ]);
  for (const e of turn([
    { type: 'turn_start', prompt: 'again' },
    { type: 'tool_call', call_id: 'c1', tool: 'edit_file', arguments: {}, text: 'edit_file(x)' },
    { type: 'tool_result', call_id: 'c1', tool: 'edit_file', ok: true, text: 'edited' },
  ])) t.apply(e);
  const tools = t.items.filter((i) => i.kind === 'tool');
  assert.equal(new Set(t.items.map((i) => i.key)).size, t.items.length, 'keys are unique');
  assert.deepEqual(tools.map((i) => i.kind === 'tool' && i.result), ['a', 'b', 'edited']);
});

test('shortArgs keeps one short line', () => {
  assert.equal(shortArgs({ command: 'echo hi' }), '{"command":"echo hi"}');
  assert.equal(shortArgs('not json'), 'not json');
  assert.equal(shortArgs({ text: 'x'.repeat(200) }, 20).length, 20);
});

test('memory view lines, approval answers, event log lines', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  assert.equal(timeAgo('2026-01-01T11:55:00Z', now), '5 min ago');
  assert.equal(timeAgo('2025-12-30T12:00:00Z', now), '2 days ago');
  assert.equal(timeAgo('', now), '');
  const block = { label: 'persona', description: '', value: 'v', limit: 5000, read_only: true, scope: 'shared' as const, chars: 120, updated_by: 'agent', updated_at: '2026-01-01T11:00:00Z' };
  assert.equal(blockTreeDescription(block, now), '120/5000 · read-only · shared · agent, 1 hour ago');
  assert.equal(blockTreeDescription({ ...block, read_only: false, scope: 'agent', updated_by: undefined, updated_at: undefined }, now), '120/5000');
  assert.equal(approvalAnswer('Always allow'), 'always');
  assert.equal(approvalAnswer('Allow'), 'allow');
  assert.equal(approvalAnswer(undefined), 'deny');
  assert.equal(formatEvent({ type: 'text_delta', text: 'x' }), '');
  assert.equal(rememberedMessage({ block: 'notes', version: 3, mode: 'appended' }), 'LSP Agent: remembered in memory block "notes" (version 3).');
  assert.equal(
    rememberedMessage({ block: '', version: 0, mode: 'anchored', anchor: { path: 'greeter.py', start_line: 1, end_line: 10 } }),
    'LSP Agent: remembered, anchored to greeter.py:1-10.',
  );
  assert.match(formatEvent({ type: 'memory_change', block: 'notes', version: 3, author: 'agent' }), /block "notes" is now version 3/);
});

// Extension-host-free unit tests of the anchored-memory helpers and error kinds (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Anchor, anchorActionMessage, anchorLabel, anchorPlace, anchorState, selectionAt, splitAt } from '../src/anchors';
import { errorKind, rememberedMessage } from '../src/protocol';

const anchor: Anchor = {
  id: 'a1',
  memory_kind: 'archival',
  memory_id: 'p1',
  lesson: 'feed_fish must\nnever feed twice a day',
  path: 'pond.py',
  symbol: 'feed_fish',
  start_line: 4,
  end_line: 7,
  state: 'ok',
  note: '',
  author: 'user',
  created_at: '2026-03-04T05:06:07+00:00',
};

test('an anchor reads as its place, lesson and state', () => {
  assert.equal(anchorPlace(anchor), 'pond.py:4-7 (feed_fish)');
  assert.equal(anchorPlace({ path: 'a.py', start_line: 3, end_line: 3, symbol: '' }), 'a.py:3');
  const ok = anchorLabel(anchor);
  assert.equal(ok.label, 'feed_fish must never feed twice a day');
  assert.equal(ok.description, '');
  assert.equal(ok.detail, 'pond.py:4-7 (feed_fish) — 2026-03-04, user');
  const stale = anchorLabel({ ...anchor, state: 'changed', note: 'its code changed (3 of 4 lines)' });
  assert.match(stale.description, /stale$/);
  assert.equal(stale.detail, 'pond.py:4-7 (feed_fish) — its code changed (3 of 4 lines) — 2026-03-04, user');
  assert.equal(anchorLabel({ ...anchor, state: 'lost' }).description, '$(error) code not found');
  assert.deepEqual(['ok', 'changed', 'lost', 'forgotten'].map((state) => anchorState({ state })), ['', 'stale', 'code not found', 'forgotten']);
});

test('the notifications of anchoring and of the anchor actions', () => {
  assert.equal(
    rememberedMessage({ mode: 'anchored', anchor: { path: 'pond.py', start_line: 4, end_line: 7, symbol: 'feed_fish' }, warnings: [] }),
    'LSP Agent: remembered, anchored to pond.py:4-7 (feed_fish).',
  );
  assert.match(
    rememberedMessage({ mode: 'anchored', anchor: { path: 'a.py', start_line: 9, end_line: 9 }, warnings: ['Lines 9-40 are past the end: clamped.'] }),
    /anchored to a\.py:9\. Lines 9-40 are past the end: clamped\.$/,
  );
  assert.equal(rememberedMessage({ block: 'notes', version: 2 }), 'LSP Agent: remembered in memory block "notes" (version 2).');
  assert.match(anchorActionMessage('keep', anchor), /kept: it is now about the code at pond\.py:4-7 \(feed_fish\)/);
  assert.match(anchorActionMessage('reanchor', { ...anchor, start_line: 9, end_line: 12 }), /re-anchored to pond\.py:9-12/);
  assert.match(anchorActionMessage('forget', anchor), /forgotten/);
});

test('a selection as an `at`: a last line selected only at its start is not held', () => {
  assert.equal(selectionAt('/w/pond.py', { line: 3 }, { line: 7, character: 0 }), '/w/pond.py:4-7');
  assert.equal(selectionAt('/w/pond.py', { line: 3 }, { line: 6, character: 12 }), '/w/pond.py:4-7');
  assert.equal(selectionAt('/w/pond.py', { line: 3 }, { line: 3, character: 5 }), '/w/pond.py:4');
  assert.equal(selectionAt('/w/pond.py', { line: 3 }, { line: 4, character: 0 }), '/w/pond.py:4');
  assert.deepEqual(splitAt('/w/a:b.py:4-7'), { path: '/w/a:b.py', lines: '4-7' });
  assert.deepEqual(splitAt('/w/pond.py:4'), { path: '/w/pond.py', lines: '4' });
  assert.deepEqual(splitAt('pond.py'), { path: 'pond.py', lines: '' });
});

test('errorKind reads data.kind of a server error, nothing else', () => {
  assert.equal(errorKind({ code: -32803, message: 'x', data: { kind: 'model_not_configured', exit_code: 4 } }), 'model_not_configured');
  assert.equal(errorKind({ code: -32803, message: 'needs a model, and none is configured' }), undefined);
  assert.equal(errorKind({ data: { kind: 4 } }), undefined);
  assert.equal(errorKind(new Error('boom')), undefined);
  assert.equal(errorKind(undefined), undefined);
});

// Memories anchored to code (docs/protocol.md, "Memory at the code"): types and pure helpers
// for the pickers and notifications. Nothing here imports `vscode` (unit-tested with node).

/** `Anchor`: where an anchored memory's code is now (1-based lines, workspace-relative path). */
export interface Anchor {
  id: string;
  memory_kind: 'archival' | 'block';
  memory_id: string;
  lesson: string;
  path: string;
  symbol: string;
  start_line: number;
  end_line: number;
  state: 'ok' | 'changed' | 'lost' | 'forgotten' | string;
  note: string;
  author: string;
  created_at: string;
}

export type AnchorAction = 'reanchor' | 'forget' | 'keep';

function oneLine(text: string, max: number): string {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** "pond.py:4-7" (one line: "pond.py:4"). */
export function anchorLines(a: { path?: string; start_line?: number; end_line?: number }): string {
  const lines = !a.end_line || a.start_line === a.end_line ? `${a.start_line}` : `${a.start_line}-${a.end_line}`;
  return `${a.path}:${lines}`;
}

/** "pond.py:4-7 (feed_fish)": where a memory is, with its symbol when it has one. */
export function anchorPlace(a: { path?: string; start_line?: number; end_line?: number; symbol?: string }): string {
  return anchorLines(a) + (a.symbol ? ` (${a.symbol})` : '');
}

const STATE_WORDS: Record<string, [icon: string, word: string]> = {
  changed: ['warning', 'stale'],
  lost: ['error', 'code not found'],
  forgotten: ['circle-slash', 'forgotten'],
};

/** "stale", "code not found", "forgotten"; '' when the memory holds. */
export function anchorState(a: { state?: string }): string {
  return STATE_WORDS[a.state ?? '']?.[1] ?? '';
}

/** A quick-pick row: the lesson and its state; below it where it is, why it is stale, when. */
export function anchorLabel(a: Anchor): { label: string; description: string; detail: string } {
  const when = (a.created_at ?? '').slice(0, 10);
  return {
    label: oneLine(a.lesson, 100) || a.id,
    description: STATE_WORDS[a.state] ? `$(${STATE_WORDS[a.state][0]}) ${STATE_WORDS[a.state][1]}` : '',
    detail: [anchorPlace(a), a.state !== 'ok' ? oneLine(a.note, 160) : '', [when, a.author].filter(Boolean).join(', ')]
      .filter(Boolean)
      .join(' — '),
  };
}

/** The notification after `lspAgent.anchor`. */
export function anchorActionMessage(action: string, a: Anchor | undefined): string {
  const where = a ? anchorPlace(a) : 'its code';
  switch (action) {
    case 'forget':
      return 'LSP Agent: memory forgotten (restorable: "LSP Agent: Re-anchor / Forget / Keep Memory", then "Bring it back").';
    case 'keep':
      return `LSP Agent: memory kept: it is now about the code at ${where} as it is.`;
    default:
      return `LSP Agent: memory re-anchored to ${where}.`;
  }
}

/**
 * The `at` of a selection (`PATH:START-END`, 1-based): lines are 0-based here, and a selection
 * ending at the start of a line does not hold that line (as the server reads code actions).
 */
export function selectionAt(path: string, start: { line: number }, end: { line: number; character: number }): string {
  let last = end.line;
  if (last > start.line && end.character === 0) last -= 1;
  return last === start.line ? `${path}:${start.line + 1}` : `${path}:${start.line + 1}-${last + 1}`;
}

/** `PATH:LINES` split into the path and the lines ("/w/pond.py:4-7" -> ["/w/pond.py", "4-7"]). */
export function splitAt(at: string): { path: string; lines: string } {
  const m = /^(.*):(\d+(?:-\d+)?)$/.exec(at);
  return m ? { path: m[1], lines: m[2] } : { path: at, lines: '' };
}

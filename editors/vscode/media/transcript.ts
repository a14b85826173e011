// The chat view's transcript: `lspAgent/event`s and history pages folded into a list of items
// to render. Pure (no DOM, no vscode), so it is unit-tested with plain node.

import type { AgentEvent, HistoryMessage } from '../src/protocol';

export type Item =
  | { kind: 'user'; key: string; text: string; pending?: boolean }
  | { kind: 'assistant'; key: string; text: string; streaming: boolean }
  | { kind: 'thinking'; key: string; text: string }
  | {
      kind: 'tool';
      key: string;
      callId: string;
      title: string;
      args: string;
      result?: string;
      ok?: boolean;
    }
  | {
      kind: 'approval';
      key: string;
      approvalId: string;
      action: string;
      detail: string;
      choices: string[];
      inline: boolean;
      editPath?: string;
      allowed?: boolean;
      /** Answered here, waiting for the server's approval_result. */
      sent?: boolean;
      /** The turn ended without an answer (stopped). */
      expired?: boolean;
    }
  | { kind: 'note'; key: string; text: string; tone: 'error' | 'info' | 'memory' | 'summary' | 'footer' }
  | { kind: 'command'; key: string; markdown: string };

interface TurnState {
  lastSeq: number;
  /** The assistant text segment that deltas append to; a tool row or note starts a new one. */
  segment?: string;
  approvals: string[];
  streamed: boolean;
  answered: boolean;
  done: boolean;
}

/** One line of a tool call's arguments, for its row's title. */
export function shortArgs(args: unknown, max = 80): string {
  let text: string;
  if (args === undefined || args === null) return '';
  if (typeof args === 'string') {
    try {
      text = JSON.stringify(JSON.parse(args));
    } catch {
      text = args;
    }
  } else {
    try {
      text = JSON.stringify(args);
    } catch {
      text = String(args);
    }
  }
  text = text.replace(/\s+/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function prettyArgs(args: unknown): string {
  if (args === undefined || args === null) return '';
  try {
    const value = typeof args === 'string' ? JSON.parse(args) : args;
    return JSON.stringify(value, null, 2);
  } catch {
    return String(args);
  }
}

export class Transcript {
  items: Item[] = [];
  /** Keys of items added or changed since the last `takeChanged()`. */
  private changed = new Set<string>();
  private turns = new Map<string, TurnState>();
  private counter = 0;

  private index(key: string): number {
    return this.items.findIndex((i) => i.key === key);
  }

  private find<K extends Item['kind']>(key: string, kind: K): Extract<Item, { kind: K }> | undefined {
    const item = this.items[this.index(key)];
    return item && item.kind === kind ? (item as Extract<Item, { kind: K }>) : undefined;
  }

  private push(item: Item): void {
    this.items.push(item);
    this.changed.add(item.key);
  }

  private touch(item: Item): void {
    this.changed.add(item.key);
  }

  takeChanged(): Set<string> {
    const out = this.changed;
    this.changed = new Set();
    return out;
  }

  clear(): void {
    this.items = [];
    this.turns.clear();
    this.changed.clear();
  }

  /** The user's prompt, shown at once (the server confirms it with turn_start). */
  addPending(text: string): void {
    this.push({ kind: 'user', key: `local:${++this.counter}`, text, pending: true });
  }

  /** A slash command's answer (not stored in the conversation). */
  addCommand(markdown: string): void {
    this.push({ kind: 'command', key: `local:${++this.counter}`, markdown });
  }

  addNote(text: string, tone: 'error' | 'info' = 'info'): void {
    this.push({ kind: 'note', key: `local:${++this.counter}`, text, tone });
  }

  /** Removes the prompt shown by addPending (a slash command is not part of the conversation). */
  settlePending(text: string): void {
    const item = [...this.items].reverse().find((i) => i.kind === 'user' && i.pending && i.text === text);
    if (item && item.kind === 'user') {
      item.pending = false;
      this.touch(item);
    }
  }

  /** Marks an approval as answered here until the server's approval_result arrives. */
  markSent(approvalId: string): void {
    const item = this.find(`approval:${approvalId}`, 'approval');
    if (item) {
      item.sent = true;
      this.touch(item);
    }
  }

  /** Applies one event; false when it was dropped (a repeated or late one). */
  apply(event: AgentEvent): boolean {
    const turnKey = event.turn_id ?? 'turn';
    let turn = this.turns.get(turnKey);
    if (!turn || (turn.done && (event.type === 'turn_start' || !event.turn_id))) {
      turn = { lastSeq: 0, streamed: false, answered: false, done: false, approvals: [] };
      this.turns.set(turnKey, turn);
    }
    if (typeof event.seq === 'number') {
      if (event.seq <= turn.lastSeq) return false;
      turn.lastSeq = event.seq;
    }
    const key = `${turnKey}:${event.seq ?? ++this.counter}`;
    const text = event.text ?? '';
    switch (event.type) {
      case 'turn_start': {
        const prompt = event.prompt ?? text;
        const pending = this.items.find((i) => i.kind === 'user' && i.pending && i.text.trim() === prompt.trim());
        if (pending && pending.kind === 'user') {
          pending.pending = false;
          this.touch(pending);
        } else {
          this.push({ kind: 'user', key, text: prompt });
        }
        break;
      }
      case 'text_delta': {
        if (!text) break;
        const segment = turn.segment ? this.find(turn.segment, 'assistant') : undefined;
        if (segment) {
          segment.text += text;
          this.touch(segment);
        } else {
          this.push({ kind: 'assistant', key, text, streaming: true });
          turn.segment = key;
        }
        turn.streamed = true;
        break;
      }
      case 'thinking':
        if (text.trim()) this.pushBreaking(turn, { kind: 'thinking', key, text });
        break;
      case 'tool_call': {
        const callId = event.call_id ?? key;
        const title = text || `${event.tool ?? 'tool'}(${shortArgs(event.arguments)})`;
        // call ids are unique within a turn only (a model may reuse them): keys carry the turn
        this.pushBreaking(turn, { kind: 'tool', key: `call:${turnKey}:${callId}`, callId, title, args: prettyArgs(event.arguments) });
        break;
      }
      case 'tool_result': {
        const tool = this.toolFor(event, turnKey);
        if (tool) {
          tool.result = text;
          tool.ok = event.ok !== false;
          this.touch(tool);
        }
        break;
      }
      case 'approval_request': {
        const id = event.approval_id ?? key;
        turn.approvals.push(`approval:${id}`);
        this.pushBreaking(turn, {
          kind: 'approval',
          key: `approval:${id}`,
          approvalId: id,
          action: event.action ?? text,
          detail: event.detail ?? '',
          choices: event.choices ?? ['allow', 'deny'],
          inline: event.inline === true,
          editPath: event.edit?.path,
        });
        break;
      }
      case 'approval_result': {
        const item = this.find(`approval:${event.approval_id}`, 'approval');
        if (item) {
          item.allowed = event.allowed === true;
          this.touch(item);
        }
        break;
      }
      case 'memory_change': {
        const note = event.block
          ? `Memory block “${event.block}” updated (v${event.version ?? '?'}, ${event.chars ?? '?'}/${event.limit ?? '?'} chars)`
          : `Stored in archival memory: ${text}`;
        this.pushBreaking(turn, { kind: 'note', key, text: note, tone: 'memory' });
        break;
      }
      case 'message':
        // The whole answer; only shown when no pieces were streamed (they built the same text).
        if (!turn.streamed && text) {
          this.pushBreaking(turn, { kind: 'assistant', key, text, streaming: false });
          turn.answered = true;
        }
        break;
      case 'error':
        if (text) this.pushBreaking(turn, { kind: 'note', key, text, tone: 'error' });
        break;
      case 'done': {
        turn.done = true;
        for (const item of this.items) {
          if (item.kind === 'assistant' && item.streaming && item.key.startsWith(`${turnKey}:`)) {
            item.streaming = false;
            this.touch(item);
          }
        }
        for (const approvalKey of turn.approvals) {
          const approval = this.find(approvalKey, 'approval');
          if (approval && approval.allowed === undefined) {
            approval.expired = true;
            this.touch(approval);
          }
        }
        if (!turn.streamed && !turn.answered && text) {
          this.pushBreaking(turn, { kind: 'assistant', key, text, streaming: false });
        }
        const u = event.usage;
        if (u && (u.steps || u.prompt_tokens)) {
          const tokens = (u.prompt_tokens ?? 0) + (u.completion_tokens ?? 0);
          const parts = [`${u.steps ?? 0} step${u.steps === 1 ? '' : 's'}`, `${tokens.toLocaleString('en-US')} tokens`];
          if (u.cost) parts.push(`$${u.cost.toFixed(4)}`);
          this.push({ kind: 'note', key: `${key}:footer`, text: parts.join(' · '), tone: 'footer' });
        }
        break;
      }
      default:
        // usage, and types a newer server may add: nothing to show
        return true;
    }
    return true;
  }

  private pushBreaking(turn: TurnState, item: Item): void {
    // the text before a tool call or note is complete
    const segment = turn.segment ? this.find(turn.segment, 'assistant') : undefined;
    if (segment?.streaming) {
      segment.streaming = false;
      this.touch(segment);
    }
    turn.segment = undefined;
    if (this.index(item.key) >= 0) return;
    this.push(item);
  }

  /** The row a tool_result belongs to: by call_id, else the last unfinished call of that tool. */
  private toolFor(event: AgentEvent, turnKey: string): Extract<Item, { kind: 'tool' }> | undefined {
    if (event.call_id) {
      const byId = this.find(`call:${turnKey}:${event.call_id}`, 'tool');
      if (byId) return byId;
    }
    for (let i = this.items.length - 1; i >= 0; i--) {
      const item = this.items[i];
      if (item.kind === 'tool' && item.result === undefined && (!event.tool || item.title.startsWith(event.tool))) return item;
    }
    return undefined;
  }

  /** Replaces the transcript with a history page (oldest first). */
  setHistory(messages: HistoryMessage[]): void {
    this.clear();
    this.items = historyItems(messages);
    for (const item of this.items) this.changed.add(item.key);
  }

  /** Puts an older history page before the items; returns how many items were added. */
  prependHistory(messages: HistoryMessage[]): number {
    const older = historyItems(messages).filter((i) => this.index(i.key) < 0);
    // A result shown on its own (its call was on this older page) joins its call's row.
    for (const item of older) {
      if (item.kind !== 'tool' || item.result !== undefined) continue;
      const orphan = this.items.find((i) => i.kind === 'tool' && i.key.startsWith('result:') && i.callId === item.callId);
      if (orphan && orphan.kind === 'tool') {
        item.result = orphan.result;
        item.ok = orphan.ok;
        this.items.splice(this.index(orphan.key), 1);
      }
    }
    this.items = [...older, ...this.items];
    for (const item of older) this.changed.add(item.key);
    return older.length;
  }
}

/** Items of a page of stored messages (oldest first). */
export function historyItems(messages: HistoryMessage[]): Item[] {
  const items: Item[] = [];
  const calls = new Map<string, Extract<Item, { kind: 'tool' }>>();
  for (const m of messages) {
    const key = `h:${m.seq}`;
    switch (m.role) {
      case 'user':
        items.push({ kind: 'user', key, text: m.content });
        break;
      case 'assistant':
        if (m.content && m.content.trim()) items.push({ kind: 'assistant', key, text: m.content, streaming: false });
        for (const call of m.tool_calls ?? []) {
          const item: Extract<Item, { kind: 'tool' }> = {
            kind: 'tool',
            key: `call:${key}:${call.id}`,
            callId: call.id,
            title: `${call.name}(${shortArgs(call.arguments)})`,
            args: prettyArgs(call.arguments),
          };
          calls.set(call.id, item);
          items.push(item);
        }
        break;
      case 'tool': {
        const call = m.tool_call_id ? calls.get(m.tool_call_id) : undefined;
        if (call) {
          call.result = m.content;
          call.ok = true;
        } else {
          const callId = m.tool_call_id ?? key;
          items.push({ kind: 'tool', key: `result:${key}`, callId, title: `${m.name ?? 'tool'} (result)`, args: '', result: m.content, ok: true });
        }
        break;
      }
      case 'summary':
        items.push({ kind: 'note', key, text: m.content, tone: 'summary' });
        break;
    }
  }
  return items;
}

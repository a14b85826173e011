// The chat view's webview: renders the transcript and relays what the user does to the
// extension (src/chatView.ts), which talks to the server. No agent logic here.

import MarkdownIt from 'markdown-it';
import type { AgentEvent, Conversation, HistoryPage, SlashCommand } from '../src/protocol';
import { Item, Transcript } from './transcript';

declare function acquireVsCodeApi(): { postMessage(message: unknown): void };

type Incoming =
  | { type: 'init'; slashCommands: SlashCommand[] }
  | { type: 'conversation'; conversation: Conversation | null }
  | { type: 'history'; mode: 'replace' | 'prepend'; page: HistoryPage; requestId?: number }
  | { type: 'event'; event: AgentEvent }
  | { type: 'running'; running: boolean }
  | { type: 'slash'; prompt: string; markdown: string }
  | { type: 'note'; text: string; tone?: 'error' | 'info' };

const vscode = acquireVsCodeApi();
// No raw HTML from the model: markdown-it escapes it (html: false) and refuses javascript: links.
const md = new MarkdownIt({ html: false, linkify: true, breaks: false });

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const scroller = $<HTMLDivElement>('transcript');
const list = $<HTMLDivElement>('items');
const olderRow = $<HTMLDivElement>('older');
const empty = $<HTMLDivElement>('empty');
const prompt = $<HTMLTextAreaElement>('prompt');
const sendButton = $<HTMLButtonElement>('send');
const suggest = $<HTMLUListElement>('suggest');
const title = $<HTMLDivElement>('title');
const subtitle = $<HTMLDivElement>('subtitle');

const transcript = new Transcript();
const elements = new Map<string, HTMLElement>();
let slashCommands: SlashCommand[] = [];
let running = false;
let hasMore = false;
let before: number | null = null;
let loadingOlder = false;
let frame = 0;
let renderedRequest: number | undefined;
let shownId: string | undefined;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const CHOICE_LABELS: Record<string, string> = { allow: 'Allow', always: 'Always allow', deny: 'Deny' };

function renderItem(item: Item, node: HTMLElement): void {
  node.className = `item ${item.kind}`;
  node.dataset.key = item.key;
  node.replaceChildren();
  switch (item.kind) {
    case 'user':
      node.classList.toggle('pending', item.pending === true);
      node.append(el('div', 'bubble', item.text));
      break;
    case 'assistant':
    case 'command': {
      const body = el('div', 'markdown');
      body.innerHTML = md.render(item.kind === 'assistant' ? item.text : item.markdown);
      if (item.kind === 'assistant' && item.streaming) node.classList.add('streaming');
      node.append(body);
      break;
    }
    case 'thinking':
      node.append(el('div', 'thinking-text', item.text));
      break;
    case 'tool': {
      const details = el('details');
      const summary = el('summary');
      const state = item.result === undefined ? 'running' : item.ok ? 'ok' : 'failed';
      summary.append(el('span', `status ${state}`, state === 'running' ? '…' : state === 'ok' ? '✓' : '✗'), el('span', 'tool-title', item.title));
      details.append(summary);
      if (item.args) details.append(el('div', 'label', 'arguments'), el('pre', 'args', item.args));
      if (item.result !== undefined) details.append(el('div', 'label', 'result'), el('pre', 'result', item.result));
      node.append(details);
      break;
    }
    case 'approval': {
      node.append(el('div', 'action', item.action));
      if (item.detail) node.append(el('pre', 'detail', item.detail));
      const buttons = el('div', 'buttons');
      if (item.editPath) {
        const diff = el('button', 'secondary diff', 'Show diff');
        diff.title = `Compare ${item.editPath} with the proposed edit`;
        diff.addEventListener('click', () => vscode.postMessage({ type: 'diff', approvalId: item.approvalId }));
        buttons.append(diff);
      }
      if (item.allowed !== undefined) {
        node.classList.add(item.allowed ? 'allowed' : 'denied');
        buttons.append(el('span', 'answer', item.allowed ? 'Allowed' : 'Denied'));
      } else if (item.expired) {
        buttons.append(el('span', 'answer', 'Not answered (the turn ended)'));
      } else if (item.inline) {
        for (const choice of item.choices) {
          const button = el('button', choice === 'deny' ? 'secondary' : '', CHOICE_LABELS[choice] ?? choice);
          button.dataset.choice = choice;
          button.disabled = item.sent === true;
          button.addEventListener('click', () => {
            transcript.markSent(item.approvalId);
            schedule();
            vscode.postMessage({ type: 'approve', approvalId: item.approvalId, answer: choice });
          });
          buttons.append(button);
        }
      } else {
        buttons.append(el('span', 'answer', 'Answer in the dialog'));
      }
      node.append(buttons);
      break;
    }
    case 'note':
      node.classList.add(item.tone);
      node.append(el('div', 'note-text', item.text));
      break;
  }
}

function nearBottom(): boolean {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60;
}

// Whether the transcript follows new text: kept from the user's last scroll, since a hidden
// view (display: none) has no sizes to measure.
let stick = true;

function toBottom(): void {
  if (stick) scroller.scrollTop = scroller.scrollHeight;
}

/** Brings the DOM in line with the transcript: new items inserted in order, changed ones redrawn. */
function render(): void {
  frame = 0;
  const changed = transcript.takeChanged();
  const keys = new Set(transcript.items.map((i) => i.key));
  for (const [key, node] of elements) {
    if (!keys.has(key)) {
      node.remove();
      elements.delete(key);
    }
  }
  let previous: HTMLElement | null = null;
  for (const item of transcript.items) {
    let node = elements.get(item.key);
    if (!node) {
      node = el('div');
      elements.set(item.key, node);
      renderItem(item, node);
      if (previous) previous.after(node);
      else list.prepend(node);
    } else if (changed.has(item.key)) {
      renderItem(item, node);
    }
    previous = node;
  }
  empty.hidden = transcript.items.length > 0;
  olderRow.hidden = !hasMore;
  olderRow.textContent = loadingOlder ? 'Loading older messages…' : 'Scroll up for older messages';
  toBottom();
}

function schedule(): void {
  if (!frame) frame = requestAnimationFrame(render);
}

function setRunning(value: boolean): void {
  running = value;
  sendButton.textContent = running ? 'Stop' : 'Send';
  sendButton.classList.toggle('stop', running);
  sendButton.title = running ? 'Stop the turn' : 'Send (Enter)';
}

function setConversation(c: Conversation | null): void {
  shownId = c?.id;
  title.textContent = c ? c.title || 'Untitled conversation' : 'New conversation';
  const parts: string[] = [];
  if (c) {
    parts.push(c.id.slice(0, 8));
    if (typeof c.messages === 'number') parts.push(`${c.messages} message${c.messages === 1 ? '' : 's'}`);
    if (c.parent_id) parts.push(`fork of ${c.parent_id.slice(0, 8)}`);
  }
  subtitle.textContent = parts.join(' · ');
}

function onHistory(message: Extract<Incoming, { type: 'history' }>): void {
  const page = message.page;
  // an older page that arrives after a switch belongs to the previous conversation
  if (message.mode === 'prepend' && page.conversation?.id !== shownId) return;
  if (message.mode === 'replace') shownId = page.conversation?.id;
  hasMore = page.has_more;
  before = page.before;
  loadingOlder = false;
  if (message.mode === 'replace') {
    setConversation(page.conversation);
    for (const node of elements.values()) node.remove();
    elements.clear();
    transcript.setHistory(page.messages);
    stick = true;
    render();
    renderedRequest = message.requestId;
    // Reported after the browser painted the page: the view's opening time.
    requestAnimationFrame(() => setTimeout(() => vscode.postMessage({ type: 'rendered', requestId: renderedRequest }), 0));
  } else {
    const height = scroller.scrollHeight;
    const top = scroller.scrollTop;
    transcript.prependHistory(page.messages);
    render();
    scroller.scrollTop = top + (scroller.scrollHeight - height);
  }
  maybeLoadOlder(); // a page shorter than the view: there is no scrolling to ask for more
}

window.addEventListener('message', (e: MessageEvent<Incoming>) => {
  const m = e.data;
  switch (m.type) {
    case 'init':
      slashCommands = m.slashCommands ?? [];
      break;
    case 'conversation':
      setConversation(m.conversation);
      break;
    case 'history':
      onHistory(m);
      break;
    case 'event':
      if (transcript.apply(m.event)) schedule();
      break;
    case 'running':
      setRunning(m.running);
      break;
    case 'slash':
      transcript.settlePending(m.prompt);
      transcript.addCommand(m.markdown);
      schedule();
      break;
    case 'note':
      transcript.addNote(m.text, m.tone);
      schedule();
      break;
  }
});

// Shown again (or resized): back to the newest text when following it.
window.addEventListener('resize', toBottom);
document.addEventListener('visibilitychange', toBottom);

/** Asks for the page before the oldest message shown, when the top is (nearly) in view. */
function maybeLoadOlder(): void {
  if (scroller.clientHeight > 0 && scroller.scrollTop < 200 && hasMore && !loadingOlder && before !== null) {
    loadingOlder = true;
    olderRow.textContent = 'Loading older messages…';
    vscode.postMessage({ type: 'older', before });
  }
}

scroller.addEventListener('scroll', () => {
  if (scroller.clientHeight > 0) stick = nearBottom();
  maybeLoadOlder();
});

// Links open through the extension (external pages, or files of the workspace).
list.addEventListener('click', (e) => {
  const link = (e.target as HTMLElement).closest('a');
  if (!link) return;
  e.preventDefault();
  const href = link.getAttribute('href');
  if (href) vscode.postMessage({ type: 'link', href });
});

// ---- the prompt box and its slash-command completion -------------------------------------

let suggestions: SlashCommand[] = [];
let selected = 0;

function updateSuggestions(): void {
  const value = prompt.value;
  const match = /^\/(\S*)$/.exec(value);
  suggestions = match ? slashCommands.filter((c) => c.name.replace(/^\//, '').startsWith(match[1])) : [];
  selected = Math.min(selected, Math.max(0, suggestions.length - 1));
  suggest.replaceChildren(
    ...suggestions.map((c, i) => {
      const row = el('li', i === selected ? 'selected' : '');
      row.append(el('span', 'name', c.usage || c.name), el('span', 'description', c.description));
      row.addEventListener('mousedown', (e) => {
        e.preventDefault();
        accept(i);
      });
      return row;
    }),
  );
  suggest.hidden = suggestions.length === 0;
}

function slashName(command: SlashCommand): string {
  return command.name.startsWith('/') ? command.name : `/${command.name}`;
}

function accept(i: number): void {
  const command = suggestions[i];
  if (!command) return;
  prompt.value = `${slashName(command)} `;
  suggestions = [];
  suggest.hidden = true;
  prompt.focus();
}

function send(): void {
  if (running) return; // the prompt waits; only the Stop button stops the turn
  const text = prompt.value.trim();
  if (!text) return;
  prompt.value = '';
  updateSuggestions();
  transcript.addPending(text);
  stick = true;
  schedule();
  vscode.postMessage({ type: 'send', prompt: text });
}

prompt.addEventListener('input', () => {
  selected = 0;
  updateSuggestions();
  prompt.style.height = 'auto';
  prompt.style.height = `${Math.min(prompt.scrollHeight, 200)}px`;
});

prompt.addEventListener('keydown', (e) => {
  if (!suggest.hidden && suggestions.length) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      selected = (selected + (e.key === 'ArrowDown' ? 1 : suggestions.length - 1)) % suggestions.length;
      updateSuggestions();
      return;
    }
    const complete = prompt.value.trim() === slashName(suggestions[selected]);
    if (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey && !complete)) {
      e.preventDefault();
      accept(selected);
      return;
    }
    if (e.key === 'Escape') {
      e.preventDefault();
      suggest.hidden = true;
      return;
    }
  }
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    send();
  }
});

sendButton.addEventListener('click', () => (running ? vscode.postMessage({ type: 'stop' }) : send()));
setRunning(false);
setConversation(null);
render();
vscode.postMessage({ type: 'ready' });

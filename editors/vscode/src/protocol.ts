// Types and pure helpers for the lsp-agent protocol (docs/protocol.md).
// Nothing here imports `vscode`, so it can be unit-tested with plain node.

import { anchorPlace } from './anchors';

export interface Position {
  line: number;
  character: number;
}
export interface Range {
  start: Position;
  end: Position;
}
export interface Location {
  uri: string;
  range: Range;
}

export interface CommandResult<T = Record<string, unknown>> {
  ok: boolean;
  command: string;
  data: T;
  markdown: string;
}

export type HitKind = 'message' | 'archival' | 'block' | 'skill' | 'code';
export interface Hit {
  kind: HitKind;
  id: string;
  title: string;
  snippet: string;
  score: number;
  location?: Location;
  conversation_id?: string;
  label?: string;
}

export interface Block {
  label: string;
  description: string;
  value: string;
  limit: number;
  read_only: boolean;
  scope: 'agent' | 'shared';
  chars: number;
  /** Who made the last change (user, agent, reflection, mirror, system) and when. */
  updated_by?: string;
  updated_at?: string | number;
  /** The block's markdown mirror file: opening it edits the block as a file. */
  mirror_path?: string;
}

export interface Version {
  version: number;
  author: 'user' | 'agent' | 'reflection' | 'mirror' | 'system';
  timestamp: string | number;
  reason: string;
  old: string;
  new: string;
}

export interface Conversation {
  id: string;
  title: string;
  created_at: string | number;
  updated_at: string | number;
  messages: number;
  active: boolean;
  /** The conversation it was forked from, or "". */
  parent_id?: string;
}

/** A stored message of `lspAgent.conversation.history`. */
export interface HistoryMessage {
  seq: number;
  role: 'user' | 'assistant' | 'tool' | 'summary';
  content: string;
  created_at?: string | number;
  name?: string;
  tool_call_id?: string;
  tool_calls?: { id: string; name: string; arguments: unknown }[];
}

/** `data` of `lspAgent.conversation.history`: a page of messages, oldest first. */
export interface HistoryPage {
  conversation: Conversation;
  messages: HistoryMessage[];
  has_more: boolean;
  before: number | null;
}

/** A slash command advertised in `capabilities.experimental.lspAgent.slashCommands`. */
export interface SlashCommand {
  name: string;
  usage: string;
  description: string;
}

export interface Skill {
  name: string;
  description: string;
  path: string;
  /** project (the workspace's .agents/skills) or personal */
  source?: string;
}

export interface Status {
  workspace: string;
  store: string;
  model: string;
  embedder: string;
  state: string;
  counts: { blocks: number; messages: number; archival: number; skills: number; code_chunks: number };
}

/** An archival memory passage (`score` on search results only). */
export interface Passage {
  id: string;
  content: string;
  tags: string[];
  created_at: string | number;
  source?: string;
  score?: number;
}

export interface IndexReport {
  files_seen: number;
  files_indexed: number;
  files_unchanged: number;
  files_removed: number;
  chunks_added: number;
  chunks_total: number;
  skipped: { path: string; reason: string }[];
  seconds: number;
  cancelled: boolean;
}

/** `data` of lspAgent.export. */
export interface Exported {
  format: 'agents-md' | 'claude-md';
  path: string;
  written: boolean;
  text?: string;
}

/** A proposed file edit carried by an approval request: `new_text` is the whole new file. */
export interface ProposedEdit {
  path: string;
  uri: string;
  new_text: string;
}

/** `lspAgent/event` (docs/protocol.md, "Events"); fields beyond `type` depend on the type. */
export interface AgentEvent {
  workspace?: string;
  conversation_id?: string;
  turn_id?: string;
  seq?: number;
  type:
    | 'turn_start'
    | 'text_delta'
    | 'thinking'
    | 'tool_call'
    | 'approval_request'
    | 'approval_result'
    | 'tool_result'
    | 'memory_change'
    | 'usage'
    | 'message'
    | 'error'
    | 'done'
    | string;
  text?: string;
  prompt?: string;
  tool?: string;
  call_id?: string;
  arguments?: unknown;
  ok?: boolean;
  approval_id?: string;
  action?: string;
  detail?: string;
  choices?: string[];
  inline?: boolean;
  edit?: ProposedEdit;
  allowed?: boolean;
  block?: string;
  version?: number;
  author?: string;
  reason?: string;
  chars?: number;
  limit?: number;
  archival_id?: string;
  step?: number;
  prompt_tokens?: number;
  completion_tokens?: number;
  cost?: number;
  stopped?: string | null;
  usage?: { prompt_tokens?: number; completion_tokens?: number; cost?: number; steps?: number };
}

/** Server command ids (what goes into workspace/executeCommand). */
export const ServerCommands = {
  init: 'lspAgent.init',
  remember: 'lspAgent.remember',
  search: 'lspAgent.search',
  learnSkill: 'lspAgent.learnSkill',
  ask: 'lspAgent.ask',
  reflect: 'lspAgent.reflect',
  index: 'lspAgent.index',
  memoryShow: 'lspAgent.memory.show',
  memoryEdit: 'lspAgent.memory.edit',
  memoryCreate: 'lspAgent.memory.create',
  memoryHistory: 'lspAgent.memory.history',
  memoryRevert: 'lspAgent.memory.revert',
  archivalInsert: 'lspAgent.archival.insert',
  archivalSearch: 'lspAgent.archival.search',
  archivalList: 'lspAgent.archival.list',
  archivalDelete: 'lspAgent.archival.delete',
  archivalShow: 'lspAgent.archival.show',
  anchors: 'lspAgent.anchors',
  anchor: 'lspAgent.anchor',
  export: 'lspAgent.export',
  conversationNew: 'lspAgent.conversation.new',
  conversationList: 'lspAgent.conversation.list',
  conversationSwitch: 'lspAgent.conversation.switch',
  conversationFork: 'lspAgent.conversation.fork',
  conversationHistory: 'lspAgent.conversation.history',
  conversationRename: 'lspAgent.conversation.rename',
  conversationDelete: 'lspAgent.conversation.delete',
  approve: 'lspAgent.approve',
  skills: 'lspAgent.skills',
  status: 'lspAgent.status',
} as const;

/** Commands whose work can be long: the server may report progress for them. */
export const LongCommands: ReadonlySet<string> = new Set([
  ServerCommands.init,
  ServerCommands.index,
  ServerCommands.remember,
  ServerCommands.ask,
  ServerCommands.learnSkill,
  ServerCommands.reflect,
]);

/** The keys of the `lspAgent` configuration section that the server reads. */
export const ServerConfigKeys = [
  'model',
  'reflectionModel',
  'embedder',
  'codeEmbedder',
  'store',
  'teamStore',
  'permissionMode',
  'maxSteps',
  'maxTokensPerTurn',
  'turnTimeoutSeconds',
  'reflection',
] as const;

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/**
 * Builds the object relayed to the server (as `initializationOptions` and as the answer to
 * `workspace/configuration` for section `lspAgent`) from a getter of the VS Code settings.
 * Unset / empty settings are left out so that the server uses its own defaults.
 * `trustWorkspace` is always VS Code's own workspace trust (`trusted`), never a setting: a
 * repository's `.vscode/settings.json` must not be able to declare itself trusted.
 */
export function buildServerConfig(get: (key: string) => unknown, trusted = false): Record<string, unknown> {
  const out: Record<string, unknown> = { trustWorkspace: trusted === true };
  for (const key of ServerConfigKeys) {
    if (key === 'reflection') {
      const reflection: Record<string, unknown> = {};
      const nested = get('reflection');
      if (nested && typeof nested === 'object') {
        for (const [k, v] of Object.entries(nested as Record<string, unknown>)) {
          if (!isEmpty(v)) reflection[k] = v;
        }
      }
      for (const k of ['idleSeconds', 'everyTurns']) {
        const v = get(`reflection.${k}`);
        if (!isEmpty(v)) reflection[k] = v;
      }
      if (Object.keys(reflection).length > 0) out.reflection = reflection;
      continue;
    }
    const value = get(key);
    if (!isEmpty(value)) out[key] = typeof value === 'string' ? value.trim() : value;
  }
  return out;
}

export interface ServerLaunch {
  command: string;
  args: string[];
  /** Human description used in error messages. */
  display: string;
}

/** How to start the server, from the settings. */
export function serverLaunch(settings: {
  command?: string | null;
  args?: string[] | null;
  pythonPath?: string | null;
}): ServerLaunch {
  const python = (settings.pythonPath ?? '').trim();
  if (python) {
    const args = ['-m', 'lsp_agent', 'serve'];
    return { command: python, args, display: `${python} ${args.join(' ')}` };
  }
  const command = (settings.command ?? '').trim() || 'lsp-agent';
  const args = Array.isArray(settings.args) ? settings.args.map(String) : ['serve'];
  return { command, args, display: [command, ...args].join(' ') };
}

/** The sentence shown when the server cannot be started. */
export function startFailureMessage(launch: ServerLaunch, reason: string, viaPython: boolean): string {
  if (viaPython) {
    return (
      `LSP Agent: cannot start the server with "${launch.display}" (${reason}). ` +
      `Install it into that interpreter with "${launch.command} -m pip install lsp-agent", ` +
      `or clear the setting "lspAgent.pythonPath".`
    );
  }
  return (
    `LSP Agent: cannot start the server "${launch.display}" (${reason}). ` +
    `Install it with "pipx install lsp-agent" (or "pip install lsp-agent"), ` +
    `or set "lspAgent.server.command" to the full path of the lsp-agent executable ` +
    `(or "lspAgent.pythonPath" to a Python that has it).`
  );
}

export function describeHitKind(kind: string): string {
  switch (kind) {
    case 'code':
      return 'code';
    case 'skill':
      return 'skill';
    case 'block':
      return 'memory block';
    case 'message':
      return 'conversation';
    case 'archival':
      return 'archival memory';
    default:
      return kind;
  }
}

export function hitIcon(kind: string): string {
  switch (kind) {
    case 'code':
      return '$(file-code)';
    case 'skill':
      return '$(mortar-board)';
    case 'block':
      return '$(note)';
    case 'message':
      return '$(comment-discussion)';
    case 'archival':
      return '$(archive)';
    default:
      return '$(search)';
  }
}

/** What choosing a search hit should do. */
export type HitAction =
  | { type: 'openLocation'; uri: string; range: Range }
  | { type: 'showBlock'; label: string }
  | { type: 'showMessage'; conversationId?: string }
  | { type: 'showSnippet' };

export function hitAction(hit: Hit): HitAction {
  if ((hit.kind === 'code' || hit.kind === 'skill') && hit.location) {
    return { type: 'openLocation', uri: hit.location.uri, range: hit.location.range };
  }
  if (hit.kind === 'block' && hit.label) return { type: 'showBlock', label: hit.label };
  if (hit.kind === 'message') return { type: 'showMessage', conversationId: hit.conversation_id };
  if (hit.location) return { type: 'openLocation', uri: hit.location.uri, range: hit.location.range };
  if (hit.label) return { type: 'showBlock', label: hit.label };
  return { type: 'showSnippet' };
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function formatTime(value: string | number | undefined | null): string {
  if (value === undefined || value === null || value === '') return '';
  const date = typeof value === 'number' ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/**
 * One line of the "LSP Agent" output channel for a streamed agent event; '' for events that
 * are not logged (text pieces: the whole answer comes as `message`; usage; turn start).
 */
export function formatEvent(event: AgentEvent, now: Date = new Date()): string {
  const time = now.toISOString().slice(11, 19);
  const text = event.text ?? '';
  switch (event.type) {
    case 'text_delta':
    case 'usage':
    case 'turn_start':
      return '';
    case 'approval_request':
      return event.inline ? `[${time}] approval requested in the chat: ${oneLine(event.action ?? '', 300)}` : '';
    case 'approval_result':
      return `[${time}] approval ${event.allowed ? 'given' : 'refused'}`;
    case 'memory_change':
      return event.block
        ? `[${time}] memory: block "${event.block}" is now version ${event.version ?? '?'} (${event.author ?? 'agent'})`
        : `[${time}] memory: archival passage ${event.archival_id ?? ''} stored`;
    case 'tool_call': {
      if (text) return `[${time}] → ${oneLine(text, 400)}`;
      let args = '';
      if (event.arguments !== undefined) {
        try {
          args = ` ${JSON.stringify(event.arguments)}`;
        } catch {
          args = '';
        }
      }
      return `[${time}] → ${event.tool ?? 'tool'}${args}`;
    }
    case 'tool_result':
      return `[${time}] ← ${event.tool ?? 'tool'}: ${text}`;
    case 'thinking':
      return `[${time}] … ${text}`;
    case 'message':
      return `[${time}] agent: ${text}`;
    case 'error':
      return `[${time}] error: ${text}`;
    case 'done':
      return `[${time}] done`;
    default:
      return `[${time}] ${event.type}: ${text}`;
  }
}

/** "5 min ago" style age of a timestamp (ISO string or epoch seconds/ms), relative to `now`. */
export function timeAgo(value: string | number | undefined | null, now: Date = new Date()): string {
  if (value === undefined || value === null || value === '') return '';
  const date = typeof value === 'number' ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  const s = Math.max(0, Math.round((now.getTime() - date.getTime()) / 1000));
  if (s < 60) return 'just now';
  const units: [number, string][] = [[86400 * 365, 'year'], [86400 * 30, 'month'], [86400, 'day'], [3600, 'hour'], [60, 'min']];
  for (const [size, unit] of units) {
    if (s >= size) {
      const n = Math.floor(s / size);
      return `${n} ${unit}${n === 1 || unit === 'min' ? '' : 's'} ago`;
    }
  }
  return 'just now';
}

/** The memory view's line for a block: size against its limit, marks, last change. */
export function blockTreeDescription(block: Block, now: Date = new Date()): string {
  const parts = [`${block.chars}/${block.limit}`];
  if (block.read_only) parts.push('read-only');
  if (block.scope === 'shared') parts.push('shared');
  const when = timeAgo(block.updated_at, now);
  const who = block.updated_by ?? '';
  if (who || when) parts.push([who, when].filter(Boolean).join(', '));
  return parts.join(' · ');
}

/** Button titles of an approval's choices (docs/protocol.md, "Inline approvals"), in order. */
export const ApprovalLabels: Readonly<Record<string, string>> = {
  allow: 'Allow',
  always: 'Always allow',
  deny: 'Deny',
};

/** The answer for a button title of an approval dialog; a dismissed dialog denies. */
export function approvalAnswer(title: string | undefined): 'allow' | 'always' | 'deny' {
  if (title === ApprovalLabels.allow) return 'allow';
  if (title === ApprovalLabels.always) return 'always';
  return 'deny';
}

/** The notification after lspAgent.remember: the block it went to, or the code it is anchored to. */
export function rememberedMessage(data: {
  block?: string;
  version?: number;
  mode?: string;
  anchor?: { path?: string; start_line?: number; end_line?: number; symbol?: string };
  warnings?: string[];
} | undefined): string {
  const anchor = data?.anchor;
  if (data?.mode === 'anchored' && anchor?.path) {
    const notes = (data.warnings ?? []).filter(Boolean).map((w) => ` ${w}`).join('');
    return `LSP Agent: remembered, anchored to ${anchorPlace(anchor)}.${notes}`;
  }
  return `LSP Agent: remembered in memory block "${data?.block}" (version ${data?.version}).`;
}

export function versionLabel(v: Version): { label: string; description: string; detail: string } {
  return {
    label: `v${v.version}`,
    description: [v.author, formatTime(v.timestamp)].filter(Boolean).join(' · '),
    detail: oneLine(v.reason || v.new || '', 120),
  };
}

export function conversationLabel(c: Conversation): { label: string; description: string; detail: string } {
  return {
    label: `${c.active ? '$(check) ' : ''}${c.title || c.id}`,
    description: [
      typeof c.messages === 'number' ? `${c.messages} message${c.messages === 1 ? '' : 's'}` : '',
      c.active ? 'active' : '',
    ]
      .filter(Boolean)
      .join(' · '),
    detail: [c.id, formatTime(c.updated_at || c.created_at)].filter(Boolean).join(' · '),
  };
}

export function hitLabel(hit: Hit): { label: string; description: string; detail: string } {
  const score = typeof hit.score === 'number' && Number.isFinite(hit.score) ? hit.score.toFixed(2) : '';
  return {
    label: `${hitIcon(hit.kind)} ${hit.title || hit.label || hit.id}`,
    description: [describeHitKind(hit.kind), score].filter(Boolean).join(' · '),
    detail: oneLine(hit.snippet ?? '', 200),
  };
}

export function passageLabel(p: Passage): { label: string; description: string; detail: string } {
  return {
    label: oneLine(p.content ?? '', 80) || p.id,
    description: [(p.tags ?? []).map((t) => `#${t}`).join(' '), formatTime(p.created_at)].filter(Boolean).join(' · '),
    detail: p.id,
  };
}

/** Tags typed as one comma-separated string: trimmed, without empty ones. */
export function parseTags(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

/** The notification sentence for the `data` of lspAgent.index. */
export function indexSummary(data: { index?: Partial<IndexReport>; embedded?: number } | undefined): string {
  const n = (count: number | undefined, one: string, many = `${one}s`): string => `${count ?? 0} ${count === 1 ? one : many}`;
  const embedded = `${n(data?.embedded, 'chunk')} embedded`;
  const r = data?.index;
  if (!r) return `code index: ${embedded}.`;
  const parts = [
    `${n(r.files_indexed, 'file')} indexed`,
    `${r.files_unchanged ?? 0} unchanged`,
    ...(r.files_removed ? [`${r.files_removed} removed`] : []),
    ...(r.skipped?.length ? [`${r.skipped.length} skipped`] : []),
    `${n(r.chunks_total, 'chunk')} (${r.chunks_added ?? 0} new)`,
    embedded,
  ];
  return `${r.cancelled ? 'code indexing cancelled' : 'code index up to date'} — ${parts.join(', ')}.`;
}

/** True when lspAgent.export refused to overwrite a file lsp-agent did not write. */
export function isForeignFileError(message: string): boolean {
  return /exists and was not written by lsp-agent/.test(message);
}

/** Markdown for a block shown read-only. */
export function blockMarkdown(block: Block): string {
  const lines = [
    `# Memory block: ${block.label}`,
    '',
    block.description ? `_${block.description}_` : '',
    '',
    `scope: ${block.scope} · ${block.chars}/${block.limit} chars${block.read_only ? ' · read-only' : ''}`,
    '',
    '---',
    '',
    block.value,
    '',
  ];
  return lines.join('\n');
}

/** Markdown for a conversation excerpt from a message hit. */
export function messageHitMarkdown(hit: Hit, conversation?: Conversation): string {
  const title = conversation?.title || hit.title || 'Conversation';
  const lines = [`# ${title}`, ''];
  const meta: string[] = [];
  if (hit.conversation_id) meta.push(`conversation \`${hit.conversation_id}\``);
  if (conversation) meta.push(`${conversation.messages} messages`, formatTime(conversation.updated_at));
  if (meta.length) lines.push(meta.filter(Boolean).join(' · '), '');
  lines.push('> ' + (hit.snippet ?? '').split('\n').join('\n> '), '');
  return lines.join('\n');
}

/** Short text for the status bar item. */
export function statusBarText(status: Partial<Status> | undefined, busy?: string): string {
  if (busy) return `$(sync~spin) Agent: ${busy}`;
  if (!status) return '$(hubot) Agent';
  const state = status.state || 'ready';
  const model = status.model ? ` · ${shortModel(status.model)}` : '';
  return `$(hubot) Agent: ${state}${model}`;
}

export function shortModel(model: string): string {
  if (model.startsWith('scripted/')) return 'scripted';
  const slash = model.lastIndexOf('/');
  return slash >= 0 ? model.slice(slash + 1) : model;
}

/**
 * `data.kind` of a server error (docs/protocol.md, "Errors": `model_not_configured`,
 * `approval_refused`, `not_found`...), so advice never depends on the message's wording.
 */
export function errorKind(error: unknown): string | undefined {
  const data = error && typeof error === 'object' ? (error as { data?: unknown }).data : undefined;
  const kind = data && typeof data === 'object' ? (data as { kind?: unknown }).kind : undefined;
  return typeof kind === 'string' ? kind : undefined;
}

/** The message of a JSON-RPC error (or anything thrown) for the user. */
export function errorMessage(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) {
    return String((error as { message: unknown }).message);
  }
  return String(error);
}

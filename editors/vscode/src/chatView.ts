// The chat view (a webview in the LSP Agent side bar): relays prompts, stops, approvals and
// history pages between the webview (media/chat.ts renders) and the server. No agent logic.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { AgentClient } from './client';
import {
  AgentEvent,
  ApprovalLabels,
  CommandResult,
  Conversation,
  HistoryPage,
  ProposedEdit,
  ServerCommands,
  approvalAnswer,
  errorMessage,
} from './protocol';
import { SnapshotDocuments } from './views';

/** Messages the webview is newest-page-first given, then older pages on scroll. */
const PAGE_SIZE = 50;

type FromWebview =
  | { type: 'ready' }
  | { type: 'send'; prompt: string }
  | { type: 'stop' }
  | { type: 'approve'; approvalId: string; answer: string }
  | { type: 'diff'; approvalId: string }
  | { type: 'older'; before: number }
  | { type: 'link'; href: string }
  | { type: 'rendered'; requestId?: number };

interface RunningTurn {
  source: vscode.CancellationTokenSource;
  prompt: string;
  turnId?: string;
}

interface AskData {
  conversation_id?: string;
  slash?: string;
}

export class ChatView implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewId = 'lspAgentChat';
  private view: vscode.WebviewView | undefined;
  private conversation: Conversation | undefined;
  private turn: RunningTurn | undefined;
  /** Proposed edits of approval requests, for "Show diff". */
  private readonly edits = new Map<string, ProposedEdit>();
  private readonly modalAsked = new Set<string>();
  private openRequest = 0;
  private openStarted = 0;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly agent: AgentClient,
    private readonly extensionUri: vscode.Uri,
    private readonly snapshots: SnapshotDocuments,
    /** Adds the workspace the view is about to a command's arguments. */
    private readonly withWorkspace: (args: Record<string, unknown>) => Record<string, unknown>,
    /** Called after a turn or slash command: memory may have changed. */
    private readonly afterTurn: () => void,
  ) {
    this.disposables.push(
      vscode.window.registerWebviewViewProvider(ChatView.viewId, this, { webviewOptions: { retainContextWhenHidden: true } }),
      agent.onEvent((event) => this.onEvent(event)),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    const out = vscode.Uri.joinPath(this.extensionUri, 'out');
    view.webview.options = { enableScripts: true, localResourceRoots: [media, out] };
    view.webview.html = this.html(view.webview);
    view.webview.onDidReceiveMessage((m: FromWebview) => void this.onMessage(m), undefined, this.disposables);
    view.onDidDispose(() => (this.view = undefined), undefined, this.disposables);
  }

  /** The conversation shown, for commands run from the view's title bar. */
  get current(): Conversation | undefined {
    return this.conversation;
  }

  private post(message: unknown): void {
    void this.view?.webview.postMessage(message);
  }

  private html(webview: vscode.Webview): string {
    const nonce = [...Array(32)].map(() => Math.floor(Math.random() * 36).toString(36)).join('');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'out', 'chat.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'chat.css'));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `img-src ${webview.cspSource} https: data:`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}"><title>LSP Agent</title></head>
<body>
<header><div id="title"></div><div id="subtitle"></div></header>
<div id="transcript"><div id="older" hidden></div><div id="empty">Ask the agent anything about this workspace. Type / for commands.</div><div id="items"></div></div>
<footer><ul id="suggest" hidden></ul><div id="composer">
<textarea id="prompt" rows="1" placeholder="Ask, or / for commands" aria-label="Prompt"></textarea>
<button id="send">Send</button></div></footer>
<script nonce="${nonce}" src="${script}"></script>
</body></html>`;
  }

  private async onMessage(m: FromWebview): Promise<void> {
    try {
      switch (m.type) {
        case 'ready':
          this.post({ type: 'init', slashCommands: await this.slashCommands() });
          await this.showActive();
          break;
        case 'send':
          await this.send(m.prompt);
          break;
        case 'stop':
          this.turn?.source.cancel();
          break;
        case 'approve':
          await this.approve(m.approvalId, m.answer);
          break;
        case 'diff':
          await this.showDiff(m.approvalId);
          break;
        case 'older':
          await this.loadOlder(m.before);
          break;
        case 'link':
          await this.openLink(m.href);
          break;
        case 'rendered':
          if (m.requestId === this.openRequest && this.openStarted) {
            const ms = Date.now() - this.openStarted;
            this.openStarted = 0;
            this.agent.output.appendLine(`chat view: conversation ${this.conversation?.id ?? '(new)'} rendered in ${ms} ms`);
          }
          break;
      }
    } catch (error) {
      this.post({ type: 'note', tone: 'error', text: errorMessage(error) });
    }
  }

  private async slashCommands(): Promise<unknown[]> {
    await this.agent.ensureStarted();
    return this.agent.slashCommands;
  }

  /** Shows the server's active conversation (or an empty one when there is none). */
  async showActive(): Promise<void> {
    const result = await this.agent.execute<{ conversations: Conversation[]; active: string | null }>(
      ServerCommands.conversationList,
      this.withWorkspace({}),
    );
    const active = result?.data?.active;
    await this.open(active ?? undefined);
  }

  /** Shows a conversation: its newest page of messages. */
  async open(id: string | undefined): Promise<void> {
    const requestId = ++this.openRequest;
    this.openStarted = Date.now();
    if (!id) {
      this.conversation = undefined;
      const page = { conversation: null, messages: [], has_more: false, before: null };
      this.post({ type: 'history', mode: 'replace', page, requestId });
      return;
    }
    const result = await this.agent.execute<HistoryPage>(
      ServerCommands.conversationHistory,
      this.withWorkspace({ id, limit: PAGE_SIZE }),
    );
    if (!result?.data || requestId !== this.openRequest) return;
    this.conversation = result.data.conversation;
    this.post({ type: 'history', mode: 'replace', page: result.data, requestId });
  }

  /** A conversation changed elsewhere (renamed): the header follows when it is the one shown. */
  updated(conversation: Conversation): void {
    if (conversation.id !== this.conversation?.id) return;
    this.conversation = conversation;
    this.post({ type: 'conversation', conversation });
  }

  private async loadOlder(before: number): Promise<void> {
    if (!this.conversation) return;
    const result = await this.agent.execute<HistoryPage>(
      ServerCommands.conversationHistory,
      this.withWorkspace({ id: this.conversation.id, before, limit: PAGE_SIZE }),
    );
    if (result?.data) this.post({ type: 'history', mode: 'prepend', page: result.data });
  }

  /** Re-reads the shown conversation's title and counts for the header. */
  private async refreshHeader(id: string): Promise<void> {
    const result = await this.agent.execute<{ conversations: Conversation[] }>(
      ServerCommands.conversationList,
      this.withWorkspace({}),
    );
    const found = result?.data?.conversations?.find((c) => c.id === id);
    if (found) {
      this.conversation = found;
      this.post({ type: 'conversation', conversation: found });
    }
  }

  private selectionContext(): Record<string, unknown> | undefined {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.selection.isEmpty) return undefined;
    const s = editor.selection;
    return {
      uri: editor.document.uri.toString(),
      range: { start: { line: s.start.line, character: s.start.character }, end: { line: s.end.line, character: s.end.character } },
      text: editor.document.getText(s),
    };
  }

  private async send(prompt: string): Promise<void> {
    if (this.turn || !prompt.trim()) return;
    const turn: RunningTurn = { source: new vscode.CancellationTokenSource(), prompt };
    this.turn = turn;
    this.post({ type: 'running', running: true });
    const args: Record<string, unknown> = { prompt, inline_approvals: true };
    if (this.conversation) args.conversation_id = this.conversation.id;
    const context = prompt.startsWith('/') ? undefined : this.selectionContext();
    if (context) args.context = context;
    let result: CommandResult<AskData> | undefined;
    try {
      result = await this.agent.execute<AskData>(ServerCommands.ask, this.withWorkspace(args), {
        long: true,
        token: turn.source.token,
        progressView: ChatView.viewId,
      });
    } catch (error) {
      // A stopped turn ends with the server's own error and done events.
      if ((error as { code?: number })?.code !== -32800) this.post({ type: 'note', tone: 'error', text: errorMessage(error) });
    } finally {
      this.turn = undefined;
      turn.source.dispose();
      this.post({ type: 'running', running: false });
    }
    const data = result?.data;
    const id = data?.conversation_id ?? this.conversation?.id;
    if (data?.slash !== undefined) {
      // /new and /fork answer with another conversation: show it, then the command's answer.
      if (id && id !== this.conversation?.id) await this.open(id);
      this.post({ type: 'slash', prompt, markdown: result?.markdown ?? '' });
    }
    if (id) await this.refreshHeader(id);
    this.afterTurn();
  }

  private onEvent(event: AgentEvent): void {
    const turn = this.turn;
    if (turn && !turn.turnId && event.type === 'turn_start' && (event.prompt ?? '').trim() === turn.prompt.trim()) {
      turn.turnId = event.turn_id;
      if (!this.conversation && event.conversation_id) {
        // The server started a conversation for this turn: the view shows it from now on.
        this.conversation = { id: event.conversation_id, title: '', created_at: '', updated_at: '', messages: 0, active: true };
        this.post({ type: 'conversation', conversation: this.conversation });
      }
    }
    const ours =
      (turn?.turnId !== undefined && event.turn_id === turn.turnId) ||
      (event.conversation_id !== undefined && event.conversation_id === this.conversation?.id) ||
      (turn !== undefined && event.turn_id === undefined);
    if (!ours) return;
    if (event.type === 'approval_request' && event.approval_id) {
      if (event.edit) this.edits.set(event.approval_id, event.edit);
      if (event.inline && !this.view?.visible) void this.askInModal(event);
    }
    this.post({ type: 'event', event });
  }

  /** The view is hidden: the inline approval is asked in a modal dialog and relayed. */
  private async askInModal(event: AgentEvent): Promise<void> {
    const id = event.approval_id as string;
    if (this.modalAsked.has(id)) return;
    this.modalAsked.add(id);
    this.agent.output.appendLine(`approval requested in a dialog (the chat view is hidden): ${event.action ?? ''}`);
    // Deny is the dialog's close affordance: closing the dialog denies.
    const items = (event.choices ?? ['allow', 'deny']).map((c) => ({ title: ApprovalLabels[c] ?? c, isCloseAffordance: c === 'deny' }));
    const picked = await vscode.window.showWarningMessage(
      event.action || 'The agent asks for approval',
      { modal: true, detail: event.detail || undefined },
      ...items,
    );
    await this.approve(id, approvalAnswer(picked?.title));
  }

  private async approve(approvalId: string, answer: string): Promise<void> {
    try {
      await this.agent.execute(ServerCommands.approve, this.withWorkspace({ approval_id: approvalId, answer }));
      this.agent.output.appendLine(`approval answer (chat): ${answer}`);
    } catch (error) {
      this.post({ type: 'note', tone: 'error', text: errorMessage(error) });
    }
  }

  /** Opens a diff of the file and the whole new text the agent proposes for it. */
  private async showDiff(approvalId: string): Promise<void> {
    const edit = this.edits.get(approvalId);
    if (!edit) return;
    const target = /^[a-z][a-z0-9+.-]+:/i.test(edit.uri) ? vscode.Uri.parse(edit.uri) : vscode.Uri.file(edit.path);
    const name = path.basename(target.path);
    let left: vscode.Uri;
    try {
      await vscode.workspace.fs.stat(target);
      left = target;
    } catch {
      left = this.snapshots.put(name, ''); // a new file: compared with nothing
    }
    const right = this.snapshots.put(name, edit.new_text);
    await vscode.commands.executeCommand('vscode.diff', left, right, `${edit.path} ↔ proposed edit`, { preview: true });
  }

  private async openLink(href: string): Promise<void> {
    if (/^(https?|mailto):/i.test(href)) {
      await vscode.env.openExternal(vscode.Uri.parse(href));
      return;
    }
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) return;
    const [file, line] = href.replace(/^file:\/\//, '').split('#L');
    const uri = path.isAbsolute(file) ? vscode.Uri.file(file) : vscode.Uri.joinPath(folder.uri, file);
    const editor = await vscode.window.showTextDocument(uri, { preview: true });
    const n = Number(line);
    if (Number.isFinite(n) && n > 0) {
      const pos = new vscode.Position(n - 1, 0);
      editor.selection = new vscode.Selection(pos, pos);
      editor.revealRange(new vscode.Range(pos, pos));
    }
  }

  dispose(): void {
    this.turn?.source.cancel();
    for (const d of this.disposables) d.dispose();
  }
}

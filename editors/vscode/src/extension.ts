// LSP Agent for VS Code: palette commands that relay to the lsp-agent language server.

import * as vscode from 'vscode';
import { Anchor, anchorActionMessage } from './anchors';
import { ChatView } from './chatView';
import { AgentClient } from './client';
import { CodeMemory } from './codeMemory';
import { MemoryNode, MemoryTree } from './memoryTree';
import {
  Block,
  CommandResult,
  Conversation,
  Exported,
  Hit,
  IndexReport,
  LongCommands,
  Passage,
  ServerCommands,
  Skill,
  Status,
  Version,
  blockMarkdown,
  conversationLabel,
  errorKind,
  errorMessage,
  hitAction,
  hitLabel,
  indexSummary,
  isForeignFileError,
  messageHitMarkdown,
  parseTags,
  passageLabel,
  rememberedMessage,
  statusBarText,
  versionLabel,
} from './protocol';
import { MemoryFileSystem, ResultDocuments, SnapshotDocuments } from './views';

const RESULT_TITLES: Record<string, string> = {
  [ServerCommands.init]: 'Agent Init',
  [ServerCommands.search]: 'Agent Search',
  [ServerCommands.learnSkill]: 'Agent Skill',
  [ServerCommands.ask]: 'Agent Answer',
  [ServerCommands.reflect]: 'Agent Reflection',
  [ServerCommands.memoryShow]: 'Agent Memory',
  [ServerCommands.memoryHistory]: 'Agent Memory History',
  [ServerCommands.status]: 'Agent Status',
  [ServerCommands.conversationList]: 'Agent Conversations',
  [ServerCommands.archivalSearch]: 'Agent Archival Search',
  [ServerCommands.archivalList]: 'Agent Archival Memory',
  [ServerCommands.archivalShow]: 'Agent Archival Passage',
};

/** Commands after which the memory view is reloaded. */
const MemoryChanging: ReadonlySet<string> = new Set([
  ServerCommands.init,
  ServerCommands.remember,
  ServerCommands.reflect,
  ServerCommands.learnSkill,
  ServerCommands.memoryEdit,
  ServerCommands.memoryCreate,
  ServerCommands.memoryRevert,
]);

const EXTERNAL_BUSY: Record<string, string> = {
  [ServerCommands.remember]: 'remembering',
  [ServerCommands.search]: 'searching',
  [ServerCommands.ask]: 'thinking',
  [ServerCommands.learnSkill]: 'learning a skill',
};

class Extension implements vscode.Disposable {
  private readonly agent = new AgentClient();
  private readonly results = new ResultDocuments();
  private readonly memoryFs = new MemoryFileSystem(this.agent);
  private readonly snapshots = new SnapshotDocuments();
  private readonly codeMemory = new CodeMemory(() => this.workspaceFolder());
  private readonly chat: ChatView;
  private readonly memoryView: MemoryTree;
  private readonly statusItem = vscode.window.createStatusBarItem('lspAgent.status', vscode.StatusBarAlignment.Left, 50);
  private lastStatus: Partial<Status> | undefined;
  private busy: string[] = [];
  private statusTimer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly context: vscode.ExtensionContext) {
    this.statusItem.name = 'LSP Agent';
    this.statusItem.command = 'lspAgent.ui.status';
    this.renderStatus();
    this.statusItem.show();
    this.agent.externalCommandHandler = (command, args, next) => this.runExternal(command, args, next);
    this.memoryView = new MemoryTree(this.agent, this.snapshots, () => this.loadMemoryView(), () => this.workspaceFolder()?.uri.toString());
    this.chat = new ChatView(this.agent, context.extensionUri, this.snapshots, (args) => this.withWorkspace(args), () =>
      this.memoryView.scheduleReload(),
    );
    this.disposables.push(
      this.statusItem,
      this.results,
      this.memoryFs,
      this.snapshots,
      this.chat,
      this.memoryView,
      this.memoryFs.onDidChangeFile(() => this.memoryView.scheduleReload()),
      this.agent.onDidChangeState((state) => {
        if (state === 'running') this.scheduleStatusRefresh(0);
        else {
          this.lastStatus = state === 'failed' ? { state: 'not running' } : { state: 'stopped' };
          this.renderStatus();
        }
      }),
    );
    const commands: Record<string, () => Promise<unknown>> = {
      init: () => this.init(),
      remember: () => this.remember(),
      search: () => this.search(),
      learnSkill: () => this.learnSkill(),
      ask: () => this.ask(),
      reflect: () => this.reflect(),
      showMemory: () => this.showMemory(),
      memoryHistory: () => this.memoryHistory(),
      editMemory: () => this.editMemory(),
      revertMemory: () => this.revertMemory(),
      createMemory: () => this.createMemory(),
      indexCode: () => this.indexCode(),
      insertArchival: () => this.insertArchival(),
      searchArchival: () => this.searchArchival(),
      listArchival: () => this.listArchival(),
      deleteArchival: () => this.deleteArchival(),
      showArchival: () => this.showArchival(),
      anchoredMemories: () => this.anchoredMemories(),
      manageAnchor: () => this.manageAnchor(),
      exportMemory: () => this.exportMemory(),
      newConversation: () => this.newConversation(),
      switchConversation: () => this.switchConversation(),
      forkConversation: () => this.forkConversation(),
      renameConversation: () => this.renameConversation(),
      deleteConversation: () => this.deleteConversation(),
      refreshMemoryView: () => this.loadMemoryView(),
      searchArchivalInView: () => this.searchArchivalInView(),
      revertMemoryVersion: (node?: MemoryNode) => this.revertMemoryVersion(node),
      status: () => this.status(true),
      showOutput: async () => this.agent.output.show(true),
      restartServer: async () => {
        const client = await this.agent.restart();
        if (client) void vscode.window.showInformationMessage('LSP Agent: server restarted.');
      },
    };
    for (const [name, fn] of Object.entries(commands)) {
      this.disposables.push(
        // Commands of the views' menus get the item they were run on.
        vscode.commands.registerCommand(`lspAgent.ui.${name}`, async (...args: unknown[]) => {
          try {
            await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
          } catch (error) {
            void vscode.window.showErrorMessage(`LSP Agent: ${errorMessage(error)}`);
          }
        }),
      );
    }
  }

  async start(): Promise<void> {
    if (await this.agent.ensureStarted()) this.scheduleStatusRefresh(0);
  }

  // ---- helpers -------------------------------------------------------------------------

  /** The workspace folder the command is about: the active editor's, else the first. */
  private workspaceFolder(): vscode.WorkspaceFolder | undefined {
    const editor = vscode.window.activeTextEditor;
    if (editor) {
      const folder = vscode.workspace.getWorkspaceFolder(editor.document.uri);
      if (folder) return folder;
    }
    return vscode.workspace.workspaceFolders?.[0];
  }

  private withWorkspace(args: Record<string, unknown>): Record<string, unknown> {
    const folder = this.workspaceFolder();
    return folder ? { ...args, workspace: folder.uri.toString() } : args;
  }

  /**
   * Runs a server command, showing busy state and errors. Undefined on failure/cancel.
   * `onError` sees an error answer first; when it returns true the error is not shown.
   */
  private async run<T = Record<string, unknown>>(
    command: string,
    args: Record<string, unknown>,
    busy: string,
    options: {
      quiet?: boolean;
      token?: vscode.CancellationToken;
      onError?: (message: string, kind: string | undefined) => boolean;
    } = {},
  ): Promise<CommandResult<T> | undefined> {
    this.busy.push(busy);
    this.renderStatus();
    try {
      const result = await this.agent.execute<T>(command, this.withWorkspace(args), {
        long: LongCommands.has(command),
        token: options.token,
      });
      if (result && result.ok === false && !options.quiet) {
        void vscode.window.showErrorMessage(`LSP Agent: ${result.markdown || `${busy} failed.`}`);
      }
      return result;
    } catch (error) {
      if (!options.onError?.(errorMessage(error), errorKind(error)) && !options.quiet) this.showFailure(busy, error);
      return undefined;
    } finally {
      const i = this.busy.indexOf(busy);
      if (i >= 0) this.busy.splice(i, 1);
      this.renderStatus();
      if (command !== ServerCommands.status) this.scheduleStatusRefresh(300);
      if (MemoryChanging.has(command)) this.memoryView.scheduleReload();
    }
  }

  private renderStatus(): void {
    const busy = this.busy[this.busy.length - 1];
    this.statusItem.text = statusBarText(this.lastStatus, busy);
    const s = this.lastStatus;
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.appendMarkdown('**LSP Agent**\n\n');
    if (s?.state) tooltip.appendMarkdown(`state: ${s.state}\n\n`);
    if (s?.model) tooltip.appendMarkdown(`model: \`${s.model}\`\n\n`);
    if (s?.embedder) tooltip.appendMarkdown(`embedder: \`${s.embedder}\`\n\n`);
    if (s?.counts && typeof s.counts === 'object') {
      const parts = Object.entries(s.counts)
        .filter(([, v]) => typeof v === 'number')
        .map(([k, v]) => `${v} ${k.replace(/_/g, ' ')}`);
      if (parts.length) tooltip.appendMarkdown(`memory: ${parts.join(' · ')}\n\n`);
    }
    tooltip.appendMarkdown('_Click for the full status._');
    this.statusItem.tooltip = tooltip;
    this.statusItem.backgroundColor =
      s?.state === 'not running' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  private scheduleStatusRefresh(delay: number): void {
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = setTimeout(() => void this.refreshStatus(), delay);
  }

  private async refreshStatus(): Promise<void> {
    if (!this.agent.isRunning) return;
    try {
      const result = await this.agent.execute<Status>(ServerCommands.status, this.withWorkspace({}));
      if (result?.data) {
        this.lastStatus = result.data;
        this.renderStatus();
      }
    } catch {
      // the status bar stays as it was
    }
  }

  /** A failed command: cancelled, no model (with the way to the setting), or the server's sentence. */
  private showFailure(busy: string, error: unknown): void {
    if ((error as { code?: number })?.code === -32800) {
      void vscode.window.showInformationMessage(`LSP Agent: ${busy} cancelled.`);
    } else if (errorKind(error) === 'model_not_configured') {
      void vscode.window.showErrorMessage(`LSP Agent: ${errorMessage(error)}`, 'Open Settings').then((choice) => {
        if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', 'lspAgent.model');
      });
    } else {
      void vscode.window.showErrorMessage(`LSP Agent: ${busy} failed: ${errorMessage(error)}`);
    }
  }

  /**
   * Commands the client runs itself: those of code actions resolved by the server, of code
   * lenses and of hover links. Those without a file or workspace are about the active editor's.
   */
  private async runExternal(
    command: string,
    args: unknown[],
    next: (command: string, args: unknown[]) => Promise<unknown>,
  ): Promise<unknown> {
    let arg = (Array.isArray(args) && args[0] && typeof args[0] === 'object' ? args[0] : {}) as Record<string, unknown>;
    if (command === ServerCommands.remember && typeof arg.at === 'string') {
      // "Remember this" anchors the selection: the lesson is what the user says about it.
      const lesson = await this.codeMemory.askLesson(arg.at);
      if (lesson === undefined) return undefined;
      arg = { ...arg, text: lesson };
    }
    if (arg.uri === undefined && arg.workspace === undefined) arg = this.withWorkspace(arg);
    const busy = EXTERNAL_BUSY[command] ?? 'working';
    if (command === ServerCommands.ask) this.logQuestion(String(arg.prompt ?? ''));
    this.busy.push(busy);
    this.renderStatus();
    let result: CommandResult | undefined;
    try {
      result = (await next(command, [arg])) as CommandResult | undefined;
    } catch (error) {
      this.showFailure(busy, error);
      return undefined;
    } finally {
      const i = this.busy.indexOf(busy);
      if (i >= 0) this.busy.splice(i, 1);
      this.renderStatus();
      this.scheduleStatusRefresh(300);
      this.memoryView.scheduleReload();
    }
    if (!result || typeof result !== 'object' || typeof result.markdown !== 'string') return result;
    switch (command) {
      case ServerCommands.remember:
        void vscode.window.showInformationMessage(rememberedMessage(result.data));
        break;
      case ServerCommands.search:
        await this.showHits(String(arg.query ?? ''), (result.data as { results?: Hit[] }).results ?? []);
        break;
      case ServerCommands.ask:
        await this.showAnswer(result as CommandResult<{ reply: string; steps: number }>);
        break;
      case ServerCommands.anchors: {
        // a code lens "N memories": those of that symbol
        const anchors = (result.data as { anchors?: Anchor[] }).anchors ?? [];
        await this.codeMemory.showAnchors(anchors, `at line ${arg.line ?? '?'} of ${arg.path ?? 'this file'}`);
        break;
      }
      case ServerCommands.anchor: // a quick fix of a stale memory
        void vscode.window.showInformationMessage(anchorActionMessage(String(arg.action), (result.data as { anchor?: Anchor }).anchor));
        break;
      default:
        await this.results.show(RESULT_TITLES[command] ?? 'Agent Result', result.markdown);
    }
    return result;
  }

  private logQuestion(prompt: string): void {
    const out = this.agent.output;
    out.appendLine('');
    out.appendLine(`── you: ${prompt}`);
    if (vscode.workspace.getConfiguration('lspAgent').get<boolean>('ui.revealOutput', true)) out.show(true);
  }

  private async showAnswer(result: CommandResult<{ reply: string; steps: number }>): Promise<void> {
    this.agent.output.appendLine(`── agent (${result.data?.steps ?? '?'} steps): ${result.data?.reply ?? ''}`);
    await this.results.show(RESULT_TITLES[ServerCommands.ask], result.markdown || result.data?.reply || '');
  }

  private selection(): { uri: string; range: vscode.Range; text: string } | undefined {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.selection.isEmpty) return undefined;
    return {
      uri: editor.document.uri.toString(),
      range: editor.selection,
      text: editor.document.getText(editor.selection),
    };
  }

  private async pickBlock(placeHolder: string): Promise<Block | undefined> {
    const result = await this.run<{ blocks: Block[] }>(ServerCommands.memoryShow, {}, 'loading memory');
    const blocks = result?.data?.blocks ?? [];
    if (!result) return undefined;
    if (blocks.length === 0) {
      void vscode.window.showInformationMessage(
        'LSP Agent: memory has no blocks yet. Run "LSP Agent: Init Workspace" first.',
      );
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      blocks.map((b) => ({
        label: b.label,
        description: `${b.scope} · ${b.chars}/${b.limit} chars${b.read_only ? ' · read-only' : ''}`,
        detail: b.description || b.value.replace(/\s+/g, ' ').slice(0, 120),
        block: b,
      })),
      { placeHolder, matchOnDescription: true, matchOnDetail: true, ignoreFocusOut: true },
    );
    return picked?.block;
  }

  private async pickConversation(placeHolder: string, extra: vscode.QuickPickItem[] = []): Promise<
    { conversation?: Conversation; item: vscode.QuickPickItem } | undefined
  > {
    const result = await this.run<{ conversations: Conversation[]; active: string }>(
      ServerCommands.conversationList,
      {},
      'loading conversations',
    );
    if (!result) return undefined;
    const conversations = result.data?.conversations ?? [];
    type Item = vscode.QuickPickItem & { conversation?: Conversation };
    const items: Item[] = [
      ...extra,
      ...conversations.map((c) => ({ ...conversationLabel({ ...c, active: c.active || c.id === result.data.active }), conversation: c })),
    ];
    if (items.length === 0) {
      void vscode.window.showInformationMessage('LSP Agent: there are no conversations yet.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick<Item>(items, { placeHolder, matchOnDetail: true, matchOnDescription: true, ignoreFocusOut: true });
    return picked ? { conversation: picked.conversation, item: picked } : undefined;
  }

  // ---- commands ----------------------------------------------------------------------

  private async init(): Promise<void> {
    const picked = await vscode.window.showQuickPick(
      [
        { label: 'static', description: 'default', detail: 'Read the project files; no model calls.' },
        { label: 'standard', detail: 'Static analysis plus a short model summary.' },
        { label: 'deep', detail: 'Let the agent explore the workspace (slow, uses the model).' },
      ],
      { placeHolder: 'How deeply should the agent learn this workspace?', ignoreFocusOut: true },
    );
    if (!picked) return;
    const result = await this.run<{ blocks: string[]; facts: number; indexed_files: number }>(
      ServerCommands.init,
      { depth: picked.label },
      'initializing',
    );
    if (!result) return;
    const d = result.data ?? ({} as { blocks: string[]; facts: number; indexed_files: number });
    void vscode.window.showInformationMessage(
      `LSP Agent: workspace initialized (${d.blocks?.length ?? 0} blocks, ${d.facts ?? 0} facts, ${d.indexed_files ?? 0} files indexed).`,
    );
    await this.results.show(RESULT_TITLES[ServerCommands.init], result.markdown);
  }

  private async remember(): Promise<void> {
    const sel = this.selection();
    let text: string | undefined;
    if (sel) {
      text = sel.text;
    } else {
      text = await vscode.window.showInputBox({
        title: 'LSP Agent: Remember',
        prompt: 'What should the agent remember? (Leave empty to distill the current conversation.)',
        placeHolder: 'e.g. We use pnpm, never npm, in this repository',
        ignoreFocusOut: true,
      });
      if (text === undefined) return;
    }
    const args: Record<string, unknown> = {};
    if (text.trim()) args.text = text;
    const result = await this.run<{ block: string; version: number }>(ServerCommands.remember, args, 'remembering');
    if (!result) return;
    const choice = await vscode.window.showInformationMessage(rememberedMessage(result.data), 'Show Memory');
    if (choice === 'Show Memory') await this.showMemory();
  }

  private async search(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    let initial = '';
    if (editor) {
      initial = editor.selection.isEmpty
        ? editor.document.getText(editor.document.getWordRangeAtPosition(editor.selection.active) ?? new vscode.Range(0, 0, 0, 0))
        : editor.document.getText(editor.selection).slice(0, 200);
    }
    const query = await vscode.window.showInputBox({
      title: 'LSP Agent: Search Memory',
      prompt: 'Search memory blocks, archival memory, conversations, skills and code',
      value: initial,
      ignoreFocusOut: true,
    });
    if (!query?.trim()) return;
    const result = await this.run<{ results: Hit[] }>(ServerCommands.search, { query, kind: 'all', limit: 30 }, 'searching');
    if (!result) return;
    await this.showHits(query, result.data?.results ?? []);
  }

  private async showHits(query: string, hits: Hit[]): Promise<void> {
    if (hits.length === 0) {
      void vscode.window.showInformationMessage(`LSP Agent: nothing found for "${query}".`);
      return;
    }
    type Item = vscode.QuickPickItem & { hit: Hit };
    const picked = await vscode.window.showQuickPick<Item>(
      hits.map((hit) => ({ ...hitLabel(hit), hit })),
      {
        title: `LSP Agent: ${hits.length} result${hits.length === 1 ? '' : 's'} for "${query}"`,
        placeHolder: 'Open a result',
        matchOnDescription: true,
        matchOnDetail: true,
        ignoreFocusOut: true,
      },
    );
    if (picked) await this.openHit(picked.hit);
  }

  private async openHit(hit: Hit): Promise<void> {
    const action = hitAction(hit);
    switch (action.type) {
      case 'openLocation': {
        const uri = vscode.Uri.parse(action.uri);
        const r = action.range;
        const range = new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
        const doc = await vscode.workspace.openTextDocument(uri);
        await vscode.window.showTextDocument(doc, { selection: range, preview: false });
        return;
      }
      case 'showBlock': {
        const result = await this.run<{ blocks: Block[] }>(ServerCommands.memoryShow, { label: action.label }, 'loading memory');
        const block = result?.data?.blocks?.find((b) => b.label === action.label) ?? result?.data?.blocks?.[0];
        const markdown = block ? blockMarkdown(block) : `# Memory block: ${action.label}\n\n${hit.snippet}\n`;
        await this.results.show(`Memory Block - ${action.label}`, markdown, { preview: false });
        return;
      }
      case 'showMessage': {
        let conversation: Conversation | undefined;
        if (action.conversationId) {
          const list = await this.run<{ conversations: Conversation[] }>(ServerCommands.conversationList, {}, 'loading conversations', { quiet: true });
          conversation = list?.data?.conversations?.find((c) => c.id === action.conversationId);
        }
        await this.results.show('Conversation Excerpt', messageHitMarkdown(hit, conversation), { preview: false });
        return;
      }
      default:
        await this.results.show(`Memory - ${hit.title || hit.id}`, `# ${hit.title || hit.id}\n\n${hit.snippet}\n`, { preview: false });
    }
  }

  private async learnSkill(): Promise<void> {
    const sel = this.selection();
    const name = await vscode.window.showInputBox({
      title: 'LSP Agent: Learn Skill',
      prompt: 'Name of the skill (leave empty to let the agent name it)',
      placeHolder: 'e.g. release-checklist',
      ignoreFocusOut: true,
    });
    if (name === undefined) return;
    const args: Record<string, unknown> = {};
    if (name.trim()) args.name = name.trim();
    if (sel) {
      args.text = sel.text;
    } else {
      const source = await vscode.window.showQuickPick(
        [
          { label: 'From the active conversation', id: 'conversation' },
          { label: 'From text I type...', id: 'text' },
        ],
        { placeHolder: 'What should the skill be learned from?', ignoreFocusOut: true },
      );
      if (!source) return;
      if (source.id === 'text') {
        const text = await vscode.window.showInputBox({ title: 'LSP Agent: Learn Skill', prompt: 'Describe the procedure', ignoreFocusOut: true });
        if (!text?.trim()) return;
        args.text = text;
      }
    }
    const result = await this.run<{ name: string; path: string; applied: boolean }>(ServerCommands.learnSkill, args, 'learning a skill');
    if (!result) return;
    const d = result.data;
    const choice = await vscode.window.showInformationMessage(
      `LSP Agent: learned skill "${d?.name}"${d?.applied ? '' : ' (proposed, not applied)'}.`,
      ...(d?.path ? ['Open Skill'] : []),
    );
    if (choice === 'Open Skill' && d?.path) {
      const uri = /^[a-z][a-z0-9+.-]*:/i.test(d.path) && !/^[a-z]:[\\/]/i.test(d.path) ? vscode.Uri.parse(d.path) : vscode.Uri.file(d.path);
      await vscode.window.showTextDocument(uri);
    } else if (result.markdown) {
      await this.results.show(RESULT_TITLES[ServerCommands.learnSkill], result.markdown);
    }
  }

  private async ask(): Promise<void> {
    const sel = this.selection();
    const prompt = await vscode.window.showInputBox({
      title: sel ? 'LSP Agent: Ask about the selection' : 'LSP Agent: Ask',
      prompt: sel ? `The selection (${sel.text.split('\n').length} lines) is sent as context` : 'Ask the agent',
      ignoreFocusOut: true,
    });
    if (!prompt?.trim()) return;
    const args: Record<string, unknown> = { prompt };
    if (sel) {
      args.context = {
        uri: sel.uri,
        range: {
          start: { line: sel.range.start.line, character: sel.range.start.character },
          end: { line: sel.range.end.line, character: sel.range.end.character },
        },
        text: sel.text,
      };
    }
    this.logQuestion(prompt);
    const result = await this.run<{ reply: string; conversation_id: string; steps: number }>(ServerCommands.ask, args, 'thinking');
    if (result) await this.showAnswer(result);
  }

  private async reflect(): Promise<void> {
    const result = await this.run<{ changes: { block: string; reason: string; version: number }[] }>(ServerCommands.reflect, {}, 'reflecting');
    if (!result) return;
    const n = result.data?.changes?.length ?? 0;
    void vscode.window.showInformationMessage(`LSP Agent: reflection made ${n} memory change${n === 1 ? '' : 's'}.`);
    await this.results.show(RESULT_TITLES[ServerCommands.reflect], result.markdown);
  }

  private async showMemory(): Promise<void> {
    const result = await this.run(ServerCommands.memoryShow, {}, 'loading memory');
    if (result) await this.results.show(RESULT_TITLES[ServerCommands.memoryShow], result.markdown);
  }

  private async memoryHistory(): Promise<void> {
    const block = await this.pickBlock('Show the history of which memory block?');
    if (!block) return;
    const result = await this.run<{ versions: Version[] }>(ServerCommands.memoryHistory, { label: block.label }, 'loading history');
    if (result) await this.results.show(`Memory History - ${block.label}`, result.markdown);
  }

  private async editMemory(): Promise<void> {
    const block = await this.pickBlock('Edit which memory block?');
    if (!block) return;
    if (block.read_only) {
      void vscode.window.showWarningMessage(`LSP Agent: memory block "${block.label}" is read-only.`);
    }
    await this.openBlock(block.label);
    if (!block.read_only) {
      void vscode.window.showInformationMessage(
        `LSP Agent: editing memory block "${block.label}" — save (Ctrl+S) to store a new version.`,
      );
    }
  }

  /** Opens a block as a document of the memory file system (saving stores a new version). */
  private async openBlock(label: string): Promise<void> {
    const folder = this.workspaceFolder();
    const doc = await vscode.workspace.openTextDocument(MemoryFileSystem.uriFor(label, folder?.uri.toString()));
    await vscode.window.showTextDocument(doc, { preview: false });
  }

  private async createMemory(): Promise<void> {
    const title = 'LSP Agent: Create Memory Block';
    const label = await vscode.window.showInputBox({
      title,
      prompt: 'Label of the new block (lowercase letters, digits, "_" or "-")',
      placeHolder: 'e.g. conventions',
      validateInput: (v) => (v.trim() ? undefined : 'A block needs a label.'),
      ignoreFocusOut: true,
    });
    if (!label?.trim()) return;
    const description = await vscode.window.showInputBox({
      title,
      prompt: 'What is the block for? (optional; shown to the agent)',
      ignoreFocusOut: true,
    });
    if (description === undefined) return;
    const sel = this.selection();
    let value: string | undefined;
    if (sel) {
      value = sel.text;
    } else {
      value = await vscode.window.showInputBox({ title, prompt: 'Its first value (optional)', ignoreFocusOut: true });
      if (value === undefined) return;
    }
    const args: Record<string, unknown> = { label: label.trim() };
    if (description.trim()) args.description = description.trim();
    if (value.trim()) args.value = value;
    const result = await this.run<Block>(ServerCommands.memoryCreate, args, 'creating a memory block');
    if (!result) return;
    const created = result.data?.label ?? label.trim();
    const choice = await vscode.window.showInformationMessage(
      `LSP Agent: created memory block "${created}"${sel ? ' from the selection' : ''}.`,
      'Edit Block',
    );
    if (choice === 'Edit Block') await this.openBlock(created);
  }

  private async revertMemory(): Promise<void> {
    const block = await this.pickBlock('Revert which memory block?');
    if (!block) return;
    const history = await this.run<{ versions: Version[] }>(ServerCommands.memoryHistory, { label: block.label }, 'loading history');
    const versions = history?.data?.versions ?? [];
    if (!history) return;
    if (versions.length === 0) {
      void vscode.window.showInformationMessage(`LSP Agent: memory block "${block.label}" has no history.`);
      return;
    }
    type Item = vscode.QuickPickItem & { version: Version };
    const picked = await vscode.window.showQuickPick<Item>(
      [...versions].sort((a, b) => b.version - a.version).map((v) => ({ ...versionLabel(v), version: v })),
      { placeHolder: `Revert "${block.label}" to which version?`, matchOnDetail: true, ignoreFocusOut: true },
    );
    if (!picked) return;
    const confirm = await vscode.window.showWarningMessage(
      `Revert memory block "${block.label}" to version ${picked.version.version}?`,
      { modal: true, detail: picked.version.new?.slice(0, 500) },
      'Revert',
    );
    if (confirm !== 'Revert') return;
    const result = await this.run<{ label: string; version: number }>(
      ServerCommands.memoryRevert,
      { label: block.label, version: picked.version.version },
      'reverting memory',
    );
    if (result) {
      void vscode.window.showInformationMessage(
        `LSP Agent: memory block "${block.label}" reverted to version ${picked.version.version} (now version ${result.data?.version}).`,
      );
    }
  }

  private async indexCode(): Promise<void> {
    const result = await this.run<{ index?: IndexReport; embedded: number }>(ServerCommands.index, {}, 'indexing');
    if (result) void vscode.window.showInformationMessage(`LSP Agent: ${indexSummary(result.data)}`);
  }

  // ---- archival memory ------------------------------------------------------------------

  private async insertArchival(): Promise<void> {
    const title = 'LSP Agent: Insert Archival Passage';
    const sel = this.selection();
    let text = sel?.text;
    if (!text?.trim()) {
      text = await vscode.window.showInputBox({
        title,
        prompt: 'The passage to store in archival memory',
        validateInput: (v) => (v.trim() ? undefined : 'The passage must contain some text.'),
        ignoreFocusOut: true,
      });
      if (!text?.trim()) return;
    }
    const tags = await vscode.window.showInputBox({
      title,
      prompt: 'Tags (comma separated, optional)',
      placeHolder: 'e.g. deploy, ci',
      ignoreFocusOut: true,
    });
    if (tags === undefined) return;
    const result = await this.run<Passage & { created: boolean }>(
      ServerCommands.archivalInsert,
      { text, tags: parseTags(tags) },
      'storing a passage',
    );
    if (!result) return;
    const d = result.data;
    const tagged = d?.tags?.length ? ` (tags: ${d.tags.join(', ')})` : '';
    void vscode.window.showInformationMessage(
      d?.created === false
        ? `LSP Agent: already stored as archival passage ${d.id}; not stored twice.`
        : `LSP Agent: stored archival passage ${d?.id}${tagged}.`,
    );
  }

  private async searchArchival(): Promise<void> {
    const sel = this.selection();
    const query = await vscode.window.showInputBox({
      title: 'LSP Agent: Search Archival Memory',
      prompt: 'Search the passages of archival memory',
      value: sel ? sel.text.slice(0, 200) : '',
      ignoreFocusOut: true,
    });
    if (!query?.trim()) return;
    const result = await this.run<{ results: Passage[] }>(ServerCommands.archivalSearch, { query }, 'searching');
    if (result) await this.results.show(RESULT_TITLES[ServerCommands.archivalSearch], result.markdown);
  }

  private async listArchival(): Promise<void> {
    const result = await this.run<{ passages: Passage[] }>(ServerCommands.archivalList, {}, 'loading archival memory');
    if (result) await this.results.show(RESULT_TITLES[ServerCommands.archivalList], result.markdown);
  }

  /** Lists archival memory and asks which passage (undefined: none there, or dismissed). */
  private async pickPassage(placeHolder: string): Promise<{ passage: Passage } | undefined> {
    const list = await this.run<{ passages: Passage[] }>(ServerCommands.archivalList, { limit: 500 }, 'loading archival memory');
    if (!list) return undefined;
    const passages = list.data?.passages ?? [];
    if (passages.length === 0) {
      void vscode.window.showInformationMessage('LSP Agent: archival memory has no passages.');
      return undefined;
    }
    type Item = vscode.QuickPickItem & { passage: Passage };
    return vscode.window.showQuickPick<Item>(
      passages.map((p) => ({ ...passageLabel(p), passage: p })),
      { placeHolder, matchOnDescription: true, matchOnDetail: true, ignoreFocusOut: true },
    );
  }

  private async deleteArchival(): Promise<void> {
    const picked = await this.pickPassage('Delete which archival passage?');
    if (!picked) return;
    // The server asks for approval (window/showMessageRequest, shown as a modal) before it deletes.
    let refused = false;
    const result = await this.run<{ deleted: Passage }>(ServerCommands.archivalDelete, { id: picked.passage.id }, 'deleting a passage', {
      onError: (_message, kind) => (refused = kind === 'approval_refused'),
    });
    if (refused) {
      void vscode.window.showInformationMessage(`LSP Agent: archival passage ${picked.passage.id} was not deleted.`);
    } else if (result) {
      void vscode.window.showInformationMessage(`LSP Agent: deleted archival passage ${result.data?.deleted?.id ?? picked.passage.id}.`);
    }
  }

  private async showArchival(): Promise<void> {
    const picked = await this.pickPassage('Show which archival passage?');
    if (!picked) return;
    const result = await this.run(ServerCommands.archivalShow, { id: picked.passage.id }, 'loading a passage');
    if (result) await this.results.show(RESULT_TITLES[ServerCommands.archivalShow], result.markdown);
  }

  // ---- memory at the code ---------------------------------------------------------------

  private async anchoredMemories(): Promise<void> {
    const result = await this.run<{ anchors: Anchor[] }>(ServerCommands.anchors, {}, 'loading anchored memories');
    if (result) await this.codeMemory.showAnchors(result.data?.anchors ?? [], 'in this workspace');
  }

  /** Re-anchor, forget or keep a memory anchored to code (forgotten ones too: to restore them). */
  private async manageAnchor(): Promise<void> {
    const list = await this.run<{ anchors: Anchor[] }>(ServerCommands.anchors, { all: true }, 'loading anchored memories');
    if (!list) return;
    const anchors = list.data?.anchors ?? [];
    if (anchors.length === 0) {
      await this.codeMemory.showAnchors([], 'in this workspace');
      return;
    }
    const anchor = await this.codeMemory.pickAnchor(anchors, 'Re-anchor, forget or keep which memory?');
    const choice = anchor && (await this.codeMemory.pickAction(anchor));
    if (!anchor || !choice) return;
    const args = choice.at ? { id: anchor.id, action: choice.action, at: choice.at } : { id: anchor.id, action: choice.action };
    const result = await this.run<{ anchor: Anchor }>(ServerCommands.anchor, args, 'updating a memory');
    if (result) void vscode.window.showInformationMessage(anchorActionMessage(choice.action, result.data?.anchor));
  }

  private async exportMemory(): Promise<void> {
    const picked = await vscode.window.showQuickPick(
      [
        { label: 'AGENTS.md', description: 'agents-md', detail: 'Write AGENTS.md in the workspace folder.', format: 'agents-md' },
        { label: 'CLAUDE.md', description: 'claude-md', detail: 'Write CLAUDE.md in the workspace folder.', format: 'claude-md' },
      ],
      { placeHolder: 'Export memory as which file?', ignoreFocusOut: true },
    );
    if (!picked) return;
    let foreign: string | undefined;
    let result = await this.run<Exported>(ServerCommands.export, { format: picked.format }, 'exporting', {
      onError: (message) => (isForeignFileError(message) ? ((foreign = message), true) : false),
    });
    if (!result && foreign !== undefined) {
      const choice = await vscode.window.showWarningMessage(
        `${picked.label} exists and was not written by lsp-agent. Overwrite it?`,
        { modal: true, detail: foreign },
        'Overwrite',
      );
      if (choice !== 'Overwrite') return;
      result = await this.run<Exported>(ServerCommands.export, { format: picked.format, force: true }, 'exporting');
    }
    if (!result) return;
    const file = result.data?.path;
    const choice = await vscode.window.showInformationMessage(`LSP Agent: Wrote ${file}`, ...(file ? ['Open File'] : []));
    if (choice === 'Open File' && file) await vscode.window.showTextDocument(vscode.Uri.file(file));
  }

  // ---- conversations --------------------------------------------------------------------

  private async newConversation(): Promise<void> {
    const title = await vscode.window.showInputBox({
      title: 'LSP Agent: New Conversation',
      prompt: 'Title (optional)',
      ignoreFocusOut: true,
    });
    if (title === undefined) return;
    const result = await this.run<{ conversation: Conversation }>(
      ServerCommands.conversationNew,
      title.trim() ? { title: title.trim() } : {},
      'starting a conversation',
    );
    if (result) {
      const c = result.data?.conversation;
      void vscode.window.showInformationMessage(`LSP Agent: new conversation "${c?.title || c?.id}".`);
      await this.chat.open(c?.id);
    }
  }

  private async switchConversation(): Promise<void> {
    const picked = await this.pickConversation('Switch to which conversation?');
    if (!picked?.conversation) return;
    const result = await this.run<{ conversation: Conversation }>(
      ServerCommands.conversationSwitch,
      { id: picked.conversation.id },
      'switching conversation',
    );
    if (result) {
      const c = result.data?.conversation ?? picked.conversation;
      void vscode.window.showInformationMessage(`LSP Agent: switched to conversation "${c.title || c.id}".`);
      await this.chat.open(c.id);
    }
  }

  private async forkConversation(): Promise<void> {
    const activeItem: vscode.QuickPickItem = { label: '$(git-branch) Fork the active conversation' };
    const picked = await this.pickConversation('Fork which conversation?', [activeItem]);
    if (!picked) return;
    const args = picked.conversation ? { id: picked.conversation.id } : {};
    const result = await this.run<{ conversation: Conversation }>(ServerCommands.conversationFork, args, 'forking conversation');
    if (result) {
      const c = result.data?.conversation;
      void vscode.window.showInformationMessage(`LSP Agent: forked into conversation "${c?.title || c?.id}".`);
      await this.chat.open(c?.id);
    }
  }

  /** Renames the conversation of the chat view (or a picked one when it shows none). */
  private async renameConversation(): Promise<void> {
    const target = this.chat.current ?? (await this.pickConversation('Rename which conversation?'))?.conversation;
    if (!target) return;
    const title = await vscode.window.showInputBox({
      title: `LSP Agent: Rename "${target.title || target.id}"`,
      prompt: 'New title of the conversation',
      value: target.title,
      validateInput: (v) => (v.trim() ? undefined : 'A title cannot be empty.'),
      ignoreFocusOut: true,
    });
    if (!title?.trim()) return;
    const result = await this.run<{ conversation: Conversation }>(
      ServerCommands.conversationRename,
      { id: target.id, title: title.trim() },
      'renaming conversation',
    );
    if (result?.data?.conversation) this.chat.updated(result.data.conversation);
  }

  private async deleteConversation(): Promise<void> {
    const picked = await this.pickConversation('Delete which conversation?');
    if (!picked?.conversation) return;
    // The server asks for confirmation (a modal) before it deletes.
    const result = await this.run<{ deleted: Conversation }>(
      ServerCommands.conversationDelete,
      { id: picked.conversation.id },
      'deleting conversation',
    );
    if (!result) return;
    void vscode.window.showInformationMessage(`LSP Agent: deleted conversation "${picked.conversation.title || picked.conversation.id}".`);
    if (this.chat.current?.id === picked.conversation.id) await this.chat.open(undefined);
  }

  // ---- the memory view ----------------------------------------------------------------

  /** Loads the memory view's blocks and skills (on first show, on refresh, after changes). */
  private async loadMemoryView(): Promise<void> {
    const args = this.withWorkspace({});
    const [memory, skills] = await Promise.allSettled([
      this.agent.execute<{ blocks: Block[] }>(ServerCommands.memoryShow, args),
      this.agent.execute<{ skills: Skill[] }>(ServerCommands.skills, args),
    ]);
    if (memory.status === 'rejected') {
      this.memoryView.show([], [], errorMessage(memory.reason));
      return;
    }
    this.memoryView.show(
      memory.value?.data?.blocks ?? [],
      skills.status === 'fulfilled' ? (skills.value?.data?.skills ?? []) : [],
      memory.value ? undefined : 'The server is not running.',
    );
  }

  private async searchArchivalInView(): Promise<void> {
    const query = await vscode.window.showInputBox({
      title: 'LSP Agent: Search Archival Memory',
      prompt: 'Search the passages of archival memory (results appear in the Memory view)',
      ignoreFocusOut: true,
    });
    if (!query?.trim()) return;
    const result = await this.run<{ results: Passage[] }>(ServerCommands.archivalSearch, { query }, 'searching');
    if (result) this.memoryView.showArchival(query.trim(), result.data?.results ?? []);
  }

  /** Revert from the memory view: to the version item it was run on (from the palette: pickers). */
  private async revertMemoryVersion(node?: MemoryNode): Promise<void> {
    if (!node || node.kind !== 'version') {
      await this.revertMemory();
      return;
    }
    const { label, version } = node;
    const result = await this.run<{ version: number }>(
      ServerCommands.memoryRevert,
      { label, version: version.version },
      'reverting memory',
    );
    if (!result) return;
    void vscode.window.showInformationMessage(
      `LSP Agent: memory block "${label}" reverted to version ${version.version} (now version ${result.data?.version}).`,
    );
    this.memoryView.scheduleReload(0);
  }

  private async status(show: boolean): Promise<void> {
    const result = await this.run<Status>(ServerCommands.status, {}, 'status');
    if (!result) return;
    this.lastStatus = result.data;
    this.renderStatus();
    if (show) {
      const s = result.data;
      void vscode.window.showInformationMessage(
        `LSP Agent: ${s?.state ?? 'unknown'} · model ${s?.model ?? '?'} · ${s?.counts?.blocks ?? 0} memory blocks`,
      );
      await this.results.show(RESULT_TITLES[ServerCommands.status], result.markdown);
    }
  }

  async dispose(): Promise<void> {
    if (this.statusTimer) clearTimeout(this.statusTimer);
    for (const d of this.disposables) d.dispose();
    await this.agent.dispose();
  }
}

let extension: Extension | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  extension = new Extension(context);
  context.subscriptions.push({ dispose: () => void extension?.dispose() });
  // Start the server in the background; commands start it on demand too.
  void extension.start();
}

export async function deactivate(): Promise<void> {
  const e = extension;
  extension = undefined;
  await e?.dispose();
}

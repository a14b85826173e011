// The memory view: blocks (size/limit, read-only and shared marks, last change) with their
// versions as diffs, skills with their descriptions, and archival search results. It renders
// what the extension loads (blocks, skills, passages) and asks the server only for histories.

import * as vscode from 'vscode';
import { AgentClient } from './client';
import {
  Block,
  Passage,
  ServerCommands,
  Skill,
  Version,
  blockTreeDescription,
  errorMessage,
  formatTime,
  passageLabel,
  timeAgo,
} from './protocol';
import { MemoryFileSystem, SnapshotDocuments } from './views';

export type MemoryNode =
  | { kind: 'group'; group: 'blocks' | 'skills' | 'archival' }
  | { kind: 'block'; block: Block }
  | { kind: 'version'; label: string; version: Version; latest: boolean }
  | { kind: 'skill'; skill: Skill }
  | { kind: 'passage'; passage: Passage }
  | { kind: 'info'; text: string };

export class MemoryTree implements vscode.TreeDataProvider<MemoryNode>, vscode.Disposable {
  static readonly viewId = 'lspAgentMemory';
  private readonly emitter = new vscode.EventEmitter<MemoryNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private blocks: Block[] | undefined;
  private skills: Skill[] = [];
  private archival: { query: string; passages: Passage[] } | undefined;
  private error: string | undefined;
  /** Memory changed while the view was hidden: reload when it is shown. */
  private stale = false;
  private loading: Promise<void> | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly groups = {
    blocks: { kind: 'group', group: 'blocks' } as MemoryNode,
    skills: { kind: 'group', group: 'skills' } as MemoryNode,
    archival: { kind: 'group', group: 'archival' } as MemoryNode,
  };
  readonly view: vscode.TreeView<MemoryNode>;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly agent: AgentClient,
    private readonly snapshots: SnapshotDocuments,
    /** Loads blocks and skills (the extension's refresh command) and hands them to show(). */
    private readonly load: () => Promise<void>,
    private readonly workspace: () => string | undefined,
  ) {
    this.view = vscode.window.createTreeView(MemoryTree.viewId, { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(
      this.view,
      this.emitter,
      // A turn that changed memory refreshes the view (debounced: a turn may change several blocks).
      agent.onEvent((e) => {
        if (e.type === 'memory_change') this.scheduleReload();
      }),
      this.view.onDidChangeVisibility((e) => {
        if (e.visible && this.stale) this.scheduleReload(0);
      }),
    );
  }

  /** The data to render, from the extension's load. */
  show(blocks: Block[], skills: Skill[], error?: string): void {
    this.blocks = blocks;
    this.skills = skills;
    this.error = error;
    this.emitter.fire(undefined);
  }

  showArchival(query: string, passages: Passage[]): void {
    this.archival = { query, passages };
    this.emitter.fire(undefined);
    const first: MemoryNode = passages.length ? { kind: 'passage', passage: passages[0] } : this.groups.archival;
    void this.view.reveal(first, { expand: true, focus: false, select: false }).then(undefined, () => undefined);
  }

  scheduleReload(delay = 300): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.stale = !this.view.visible;
    if (this.stale) return;
    this.refreshTimer = setTimeout(() => void this.reload(), delay);
  }

  private async reload(): Promise<void> {
    if (!this.loading) {
      this.loading = this.load().finally(() => (this.loading = undefined));
    }
    await this.loading;
  }

  getParent(node: MemoryNode): MemoryNode | undefined {
    if (node.kind === 'block') return this.groups.blocks;
    if (node.kind === 'skill') return this.groups.skills;
    if (node.kind === 'passage') return this.groups.archival;
    return undefined;
  }

  async getChildren(node?: MemoryNode): Promise<MemoryNode[]> {
    if (!node) {
      if (this.blocks === undefined) await this.reload();
      return [this.groups.blocks, this.groups.skills, this.groups.archival];
    }
    switch (node.kind) {
      case 'group':
        if (node.group === 'blocks') {
          const blocks = this.blocks ?? [];
          if (this.error) return [{ kind: 'info', text: this.error }];
          return blocks.length ? blocks.map((block) => ({ kind: 'block', block })) : [{ kind: 'info', text: 'No blocks yet: run "LSP Agent: Init Workspace".' }];
        }
        if (node.group === 'skills') {
          return this.skills.length ? this.skills.map((skill) => ({ kind: 'skill', skill })) : [{ kind: 'info', text: 'No skills yet.' }];
        }
        if (!this.archival) return [{ kind: 'info', text: 'Search with the search button of this view.' }];
        return this.archival.passages.length
          ? this.archival.passages.map((passage) => ({ kind: 'passage', passage }))
          : [{ kind: 'info', text: `Nothing found for "${this.archival.query}".` }];
      case 'block':
        return this.versions(node.block);
      default:
        return [];
    }
  }

  private async versions(block: Block): Promise<MemoryNode[]> {
    try {
      const args: Record<string, unknown> = { label: block.label };
      const workspace = this.workspace();
      if (workspace) args.workspace = workspace;
      const result = await this.agent.execute<{ versions: Version[] }>(ServerCommands.memoryHistory, args);
      const versions = [...(result?.data?.versions ?? [])].sort((a, b) => b.version - a.version);
      if (!versions.length) return [{ kind: 'info', text: 'No history.' }];
      return versions.map((version, i) => ({ kind: 'version', label: block.label, version, latest: i === 0 }));
    } catch (error) {
      return [{ kind: 'info', text: errorMessage(error) }];
    }
  }

  getTreeItem(node: MemoryNode): vscode.TreeItem {
    switch (node.kind) {
      case 'group': {
        const titles = { blocks: 'Memory blocks', skills: 'Skills', archival: 'Archival search' };
        const item = new vscode.TreeItem(titles[node.group], vscode.TreeItemCollapsibleState.Expanded);
        item.id = `group:${node.group}`;
        if (node.group === 'blocks' && this.blocks) item.description = String(this.blocks.length);
        if (node.group === 'skills') item.description = String(this.skills.length);
        if (node.group === 'archival' && this.archival) item.description = `"${this.archival.query}"`;
        item.contextValue = `group.${node.group}`;
        return item;
      }
      case 'block':
        return this.blockItem(node.block);
      case 'version':
        return this.versionItem(node);
      case 'skill': {
        const item = new vscode.TreeItem(node.skill.name, vscode.TreeItemCollapsibleState.None);
        item.id = `skill:${node.skill.name}`;
        item.description = node.skill.description;
        item.tooltip = new vscode.MarkdownString(`**${node.skill.name}**${node.skill.source ? ` (${node.skill.source})` : ''}\n\n`).appendText(node.skill.description);
        item.iconPath = new vscode.ThemeIcon('mortar-board');
        if (node.skill.path) item.command = { command: 'vscode.open', title: 'Open Skill', arguments: [vscode.Uri.file(node.skill.path)] };
        item.contextValue = 'skill';
        return item;
      }
      case 'passage': {
        const label = passageLabel(node.passage);
        const item = new vscode.TreeItem(label.label, vscode.TreeItemCollapsibleState.None);
        item.id = `passage:${node.passage.id}`;
        const score = typeof node.passage.score === 'number' ? `score ${node.passage.score.toFixed(2)}` : '';
        item.description = [label.description, score].filter(Boolean).join(' · ');
        item.tooltip = new vscode.MarkdownString().appendText(node.passage.content);
        item.iconPath = new vscode.ThemeIcon('archive');
        const doc = this.snapshots.put(`passage-${node.passage.id}.md`, node.passage.content, `passage-${node.passage.id}`);
        item.command = { command: 'vscode.open', title: 'Open Passage', arguments: [doc] };
        return item;
      }
      case 'info': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('info');
        return item;
      }
    }
  }

  private blockItem(block: Block): vscode.TreeItem {
    const item = new vscode.TreeItem(block.label, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `block:${block.scope}:${block.label}`;
    item.description = blockTreeDescription(block);
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown(`**${block.label}** · ${block.chars}/${block.limit} chars`);
    if (block.read_only) tooltip.appendMarkdown(' · read-only');
    if (block.scope === 'shared') tooltip.appendMarkdown(' · shared with every workspace');
    if (block.description) tooltip.appendMarkdown(`\n\n_${block.description}_`);
    if (block.updated_by || block.updated_at) {
      tooltip.appendMarkdown(`\n\nlast change: ${[block.updated_by, formatTime(block.updated_at)].filter(Boolean).join(', ')}`);
    }
    tooltip.appendMarkdown('\n\n---\n\n').appendText(block.value.slice(0, 600));
    item.tooltip = tooltip;
    item.iconPath = new vscode.ThemeIcon(block.read_only ? 'lock' : block.scope === 'shared' ? 'globe' : 'note');
    // Opening a block opens its markdown mirror (editing it is a new version); without a
    // mirror, the block as a document of the memory file system.
    const uri = block.mirror_path ? vscode.Uri.file(block.mirror_path) : MemoryFileSystem.uriFor(block.label, this.workspace());
    item.command = { command: 'vscode.open', title: 'Open Block', arguments: [uri] };
    item.contextValue = block.read_only ? 'block.readonly' : 'block';
    return item;
  }

  private versionItem(node: Extract<MemoryNode, { kind: 'version' }>): vscode.TreeItem {
    const v = node.version;
    const item = new vscode.TreeItem(`v${v.version}`, vscode.TreeItemCollapsibleState.None);
    item.id = `version:${node.label}:${v.version}`;
    item.description = [v.author, timeAgo(v.timestamp), v.reason].filter(Boolean).join(' · ');
    item.tooltip = new vscode.MarkdownString().appendText(`v${v.version} by ${v.author}, ${formatTime(v.timestamp)}\n${v.reason ?? ''}`);
    item.iconPath = new vscode.ThemeIcon(node.latest ? 'circle-filled' : 'history');
    const key = `${this.workspace() ?? ''}-${node.label}-${v.version}`;
    const left = this.snapshots.put(`${node.label} v${v.version - 1}.md`, v.old ?? '', `${key}-old`);
    const right = this.snapshots.put(`${node.label} v${v.version}.md`, v.new ?? '', `${key}-new`);
    item.command = {
      command: 'vscode.diff',
      title: 'Show Changes',
      arguments: [left, right, `${node.label}: v${v.version} (${v.author})`, { preview: true }],
    };
    item.contextValue = node.latest ? 'version.latest' : 'version';
    return item;
  }

  dispose(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    for (const d of this.disposables) d.dispose();
  }
}

// Read-only virtual Markdown documents for results, and a file system for editing memory blocks.

import * as vscode from 'vscode';
import { AgentClient } from './client';
import { Block, ServerCommands, errorMessage } from './protocol';

export const RESULT_SCHEME = 'lsp-agent';
export const MEMORY_SCHEME = 'lsp-agent-memory';
export const SNAPSHOT_SCHEME = 'lsp-agent-snapshot';

/**
 * Read-only texts for diffs (`lsp-agent-snapshot:/<n>/<name>`): a memory block's versions, a
 * file as the agent proposes to write it. The name keeps the file's extension, for its language.
 */
export class SnapshotDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private counter = 0;
  private readonly registration: vscode.Disposable;

  constructor() {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(SNAPSHOT_SCHEME, this);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.path) ?? '';
  }

  /** A document of `text`; `key` names an unchanging text (same key, same document). */
  put(name: string, text: string, key?: string): vscode.Uri {
    const safe = name.replace(/[\\/:*?"<>|#]+/g, '-').trim() || 'text';
    const folder = key ? `k-${key.replace(/[^\w.-]+/g, '-')}` : String(++this.counter);
    const uri = vscode.Uri.from({ scheme: SNAPSHOT_SCHEME, path: `/${folder}/${safe}` });
    // Old snapshots go once there are many; open diffs keep their documents.
    if (this.texts.size > 500) this.texts.delete(this.texts.keys().next().value as string);
    this.texts.set(uri.path, text);
    return uri;
  }

  dispose(): void {
    this.registration.dispose();
  }
}

/** Read-only Markdown documents under `lsp-agent:/<name>.md`, shown as preview or source. */
export class ResultDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly contents = new Map<string, string>();
  private counter = 0;
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;
  private readonly registration: vscode.Disposable;

  constructor() {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(RESULT_SCHEME, this);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.path) ?? '';
  }

  uriFor(name: string): vscode.Uri {
    const safe = name.replace(/[\\/:*?"<>|#]+/g, '-').trim() || 'Result';
    return vscode.Uri.from({ scheme: RESULT_SCHEME, path: `/${safe}.md` });
  }

  /** Shows `markdown` as `name` (reusing the document of that name when it is open). */
  async show(name: string, markdown: string, options: { preview?: boolean } = {}): Promise<vscode.Uri> {
    const base = this.uriFor(name);
    this.contents.set(base.path, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
    this.emitter.fire(base);
    const mode = vscode.workspace.getConfiguration('lspAgent').get<string>('ui.resultView', 'preview');
    const preview = options.preview ?? mode === 'preview';
    // A preview gets a fresh document each time (same name, new query): a cached virtual
    // document may not have caught up with the change event yet when the preview reads it.
    const uri = preview ? base.with({ query: `v=${++this.counter}` }) : base;
    const doc = await vscode.workspace.openTextDocument(uri);
    if (doc.languageId !== 'markdown') {
      try {
        await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
      } catch {
        // keep plain text
      }
    }
    if (preview) {
      try {
        await vscode.commands.executeCommand('markdown.showPreview', uri);
        return uri;
      } catch {
        // no markdown extension: fall back to the source
      }
    }
    await vscode.window.showTextDocument(doc, { preview: false, preserveFocus: false });
    return uri;
  }

  dispose(): void {
    this.registration.dispose();
    this.emitter.dispose();
  }
}

/**
 * `lsp-agent-memory:/<label>.md?<workspace>`: reading fetches the block with
 * `lspAgent.memory.show`, saving sends `lspAgent.memory.edit`.
 */
export class MemoryFileSystem implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.emitter.event;
  private readonly cache = new Map<string, { block: Block; mtime: number }>();
  private readonly registration: vscode.Disposable;

  constructor(private readonly agent: AgentClient) {
    this.registration = vscode.workspace.registerFileSystemProvider(MEMORY_SCHEME, this, {
      isCaseSensitive: true,
    });
  }

  static uriFor(label: string, workspace?: string): vscode.Uri {
    return vscode.Uri.from({
      scheme: MEMORY_SCHEME,
      path: `/${label}.md`,
      query: workspace ? `workspace=${encodeURIComponent(workspace)}` : '',
    });
  }

  private parse(uri: vscode.Uri): { label: string; workspace?: string } {
    const label = uri.path.replace(/^\//, '').replace(/\.md$/, '');
    const match = /(?:^|&)workspace=([^&]*)/.exec(uri.query);
    return { label, workspace: match ? decodeURIComponent(match[1]) : undefined };
  }

  private async fetch(uri: vscode.Uri): Promise<{ block: Block; mtime: number }> {
    const { label, workspace } = this.parse(uri);
    const args: Record<string, unknown> = { label };
    if (workspace) args.workspace = workspace;
    let result;
    try {
      result = await this.agent.execute<{ blocks: Block[] }>(ServerCommands.memoryShow, args);
    } catch (error) {
      throw vscode.FileSystemError.Unavailable(`LSP Agent: ${errorMessage(error)}`);
    }
    const block = result?.data?.blocks?.find((b) => b.label === label) ?? result?.data?.blocks?.[0];
    if (!block) throw vscode.FileSystemError.FileNotFound(uri);
    const previous = this.cache.get(uri.toString());
    const mtime = previous && previous.block.value === block.value ? previous.mtime : Date.now();
    const entry = { block, mtime };
    this.cache.set(uri.toString(), entry);
    return entry;
  }

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    const entry = this.cache.get(uri.toString()) ?? (await this.fetch(uri));
    return {
      type: vscode.FileType.File,
      ctime: entry.mtime,
      mtime: entry.mtime,
      size: Buffer.byteLength(entry.block.value, 'utf8'),
      permissions: entry.block.read_only ? vscode.FilePermission.Readonly : undefined,
    };
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const entry = await this.fetch(uri);
    return Buffer.from(entry.block.value, 'utf8');
  }

  async writeFile(uri: vscode.Uri, content: Uint8Array): Promise<void> {
    const { label, workspace } = this.parse(uri);
    const value = Buffer.from(content).toString('utf8');
    const args: Record<string, unknown> = { label, value, reason: 'edited in VS Code' };
    if (workspace) args.workspace = workspace;
    let result;
    try {
      result = await this.agent.execute<{ label: string; version: number }>(ServerCommands.memoryEdit, args);
    } catch (error) {
      throw vscode.FileSystemError.NoPermissions(`LSP Agent: ${errorMessage(error)}`);
    }
    if (!result) throw vscode.FileSystemError.Unavailable('LSP Agent: the server is not running');
    const cached = this.cache.get(uri.toString());
    if (cached) {
      cached.block = { ...cached.block, value, chars: value.length };
      cached.mtime = Date.now();
    }
    this.emitter.fire([{ type: vscode.FileChangeType.Changed, uri }]);
    void vscode.window.showInformationMessage(
      `LSP Agent: memory block "${label}" saved (version ${result.data?.version ?? '?'}).`,
    );
  }

  readDirectory(): [string, vscode.FileType][] {
    return [];
  }
  createDirectory(): void {
    throw vscode.FileSystemError.NoPermissions('LSP Agent: memory has no folders');
  }
  delete(): void {
    throw vscode.FileSystemError.NoPermissions('LSP Agent: delete memory blocks through the agent');
  }
  rename(): void {
    throw vscode.FileSystemError.NoPermissions('LSP Agent: memory blocks cannot be renamed');
  }

  dispose(): void {
    this.registration.dispose();
    this.emitter.dispose();
  }
}

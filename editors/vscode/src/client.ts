// The language client: starts `lsp-agent serve`, relays settings, shows approvals as modal
// prompts, server progress as cancellable notifications, and agent events in the output channel.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  CancellationToken,
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  ExecuteCommandRequest,
  FeatureState,
  LanguageClient,
  LanguageClientOptions,
  MessageActionItem,
  ProgressToken,
  ServerOptions,
  ShowMessageRequest,
  ShowMessageRequestParams,
  State,
  StaticFeature,
  WorkDoneProgress,
  WorkDoneProgressBegin,
  WorkDoneProgressCancelNotification,
  WorkDoneProgressCreateRequest,
  WorkDoneProgressReport,
} from 'vscode-languageclient/node';
import {
  AgentEvent,
  CommandResult,
  buildServerConfig,
  formatEvent,
  serverLaunch,
  startFailureMessage,
  ServerLaunch,
  SlashCommand,
  errorMessage,
  LongCommands,
  ServerCommands,
} from './protocol';

export const SECTION = 'lspAgent';

/** Finds `command` the way a shell would (absolute/relative path, or a name on PATH). */
export function resolveExecutable(command: string, cwd?: string): string | undefined {
  const isExecutable = (file: string): boolean => {
    try {
      const stat = fs.statSync(file);
      if (!stat.isFile()) return false;
      if (process.platform === 'win32') return true;
      fs.accessSync(file, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  const exts = process.platform === 'win32' ? ['', '.exe', '.cmd', '.bat'] : [''];
  if (command.includes('/') || command.includes('\\')) {
    const full = path.isAbsolute(command) ? command : path.resolve(cwd ?? process.cwd(), command);
    for (const ext of exts) if (isExecutable(full + ext)) return full + ext;
    return undefined;
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, command + ext);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

/** The URIs (normalized through vscode.Uri) a WorkspaceEdit touches. */
export function editedUris(edit: {
  changes?: { [uri: string]: unknown };
  documentChanges?: unknown[];
}): Set<string> {
  const out = new Set<string>();
  const add = (uri: unknown): void => {
    if (typeof uri === 'string') out.add(vscode.Uri.parse(uri).toString());
  };
  for (const uri of Object.keys(edit.changes ?? {})) add(uri);
  for (const change of edit.documentChanges ?? []) {
    const c = change as { kind?: string; uri?: string; newUri?: string; textDocument?: { uri?: string } };
    if (c.textDocument) add(c.textDocument.uri);
    else if (c.kind === 'rename') add(c.newUri);
    else add(c.uri);
  }
  return out;
}

export function currentLaunch(): { launch: ServerLaunch; viaPython: boolean; env: Record<string, string> } {
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const pythonPath = cfg.get<string | null>('pythonPath');
  const launch = serverLaunch({
    command: cfg.get<string>('server.command'),
    args: cfg.get<string[]>('server.args'),
    pythonPath,
  });
  const env = cfg.get<Record<string, string>>('server.env') ?? {};
  return { launch, viaPython: !!(pythonPath && pythonPath.trim()), env };
}

export function serverConfig(scope?: vscode.Uri): Record<string, unknown> {
  const cfg = vscode.workspace.getConfiguration(SECTION, scope ?? null);
  return buildServerConfig((key) => cfg.get(key), vscode.workspace.isTrusted);
}

interface ActiveProgress {
  progress: vscode.Progress<{ message?: string; increment?: number }>;
  resolve: () => void;
  percentage: number;
}

/**
 * Replaces the client's default handlers (registered before this feature is initialized) so
 * that approvals are modal and server-initiated progress is a cancellable notification.
 */
class AgentUiFeature implements StaticFeature {
  private readonly progress = new Map<string, ActiveProgress>();
  private readonly progressDisposables = new Map<string, vscode.Disposable>();

  constructor(
    private readonly client: LanguageClient,
    private readonly agent: AgentClient,
  ) {}

  fillClientCapabilities(capabilities: { window?: { workDoneProgress?: boolean } }): void {
    capabilities.window = capabilities.window ?? {};
    capabilities.window.workDoneProgress = true;
  }

  getState(): FeatureState {
    return { kind: 'static' };
  }

  initialize(): void {
    this.client.onRequest(ShowMessageRequest.type, (params) => this.showMessageRequest(params));
    this.client.onRequest(WorkDoneProgressCreateRequest.type, (params) => {
      this.createProgress(params.token);
      this.agent.claimProgress(String(params.token));
    });
    this.agent.endProgress = (key) => this.end(key);
  }

  clear(): void {
    for (const p of this.progress.values()) p.resolve();
    this.progress.clear();
    for (const d of this.progressDisposables.values()) d.dispose();
    this.progressDisposables.clear();
  }

  private async showMessageRequest(params: ShowMessageRequestParams): Promise<MessageActionItem | null> {
    const actions = params.actions ?? [];
    const log = this.agent.output;
    if (actions.length === 0) {
      const fn =
        params.type === 1
          ? vscode.window.showErrorMessage
          : params.type === 2
            ? vscode.window.showWarningMessage
            : vscode.window.showInformationMessage;
      void fn(params.message);
      return null;
    }
    log.appendLine(
      `[${new Date().toISOString().slice(11, 19)}] approval requested: ${params.message.replace(/\s*\n\s*/g, ' ')}`,
    );
    const items = actions.map((a) => ({ title: a.title, isCloseAffordance: a.title === 'Deny' }));
    const fn =
      params.type === 1
        ? vscode.window.showErrorMessage
        : params.type === 3 || params.type === 4
          ? vscode.window.showInformationMessage
          : vscode.window.showWarningMessage;
    const [first, ...rest] = params.message.split('\n');
    const detail = rest.join('\n').trim();
    const picked = await fn(first, { modal: true, detail: detail || undefined }, ...items);
    log.appendLine(
      `[${new Date().toISOString().slice(11, 19)}] approval answer: ${picked ? picked.title : '(dismissed: denied)'}`,
    );
    if (!picked) return null;
    const original = actions.find((a) => a.title === picked.title);
    return original ?? { title: picked.title };
  }

  private createProgress(token: ProgressToken): void {
    const key = String(token);
    this.progressDisposables.get(key)?.dispose();
    const disposable = this.client.onProgress(WorkDoneProgress.type, token, (value) => {
      switch (value.kind) {
        case 'begin':
          this.begin(token, value);
          break;
        case 'report':
          this.report(key, value);
          break;
        case 'end':
          this.end(key, value.message);
          break;
      }
    });
    this.progressDisposables.set(key, disposable);
  }

  private begin(token: ProgressToken, value: WorkDoneProgressBegin): void {
    const key = String(token);
    // A chat turn shows its progress in the chat view (which has its own stop button).
    const viewId = this.agent.progressViewOf(key);
    void vscode.window.withProgress(
      {
        location: viewId ? { viewId } : vscode.ProgressLocation.Notification,
        title: `LSP Agent: ${value.title.replace(/^lsp-agent:\s*/i, '')}`,
        cancellable: !viewId,
      },
      (progress, cancel) =>
        new Promise<void>((resolve) => {
          const active: ActiveProgress = { progress, resolve, percentage: 0 };
          this.progress.set(key, active);
          this.report(key, { kind: 'report', message: value.message, percentage: value.percentage });
          cancel.onCancellationRequested(() => {
            this.agent.output.appendLine(
              `[${new Date().toISOString().slice(11, 19)}] cancel requested (${value.title})`,
            );
            // The request this progress belongs to is cancelled with $/cancelRequest, which
            // gets the request answered (RequestCancelled); progress nobody here asked for is
            // cancelled with window/workDoneProgress/cancel.
            if (!this.agent.cancelRequestOfProgress(key)) {
              void this.client.sendNotification(WorkDoneProgressCancelNotification.type, { token });
            }
          });
        }),
    );
  }

  private report(key: string, value: WorkDoneProgressReport): void {
    const active = this.progress.get(key);
    if (!active) return;
    let increment: number | undefined;
    if (typeof value.percentage === 'number' && value.percentage > active.percentage) {
      increment = value.percentage - active.percentage;
      active.percentage = value.percentage;
    }
    active.progress.report({ message: value.message, increment });
  }

  private end(key: string, message?: string): void {
    const active = this.progress.get(key);
    if (message && active) active.progress.report({ message });
    this.progress.delete(key);
    this.progressDisposables.get(key)?.dispose();
    this.progressDisposables.delete(key);
    active?.resolve();
  }
}

export class RequestFailed extends Error {}

/** Owns the LanguageClient; (re)starts it lazily and sends commands. */
export class AgentClient implements vscode.Disposable {
  readonly output: vscode.OutputChannel;
  readonly serverLog: vscode.LogOutputChannel;
  readonly traceLog: vscode.LogOutputChannel;
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient | undefined> | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  /** Long requests in flight, each with the progress token the server created for it. */
  private readonly longRequests: { source: vscode.CancellationTokenSource; progress?: string; viewId?: string }[] = [];
  /** Set by the UI feature: closes the progress notification of a token. */
  endProgress: ((key: string) => void) | undefined;
  private readonly stateEmitter = new vscode.EventEmitter<'running' | 'stopped' | 'failed'>();
  readonly onDidChangeState = this.stateEmitter.event;
  private readonly eventEmitter = new vscode.EventEmitter<AgentEvent>();
  /** Every `lspAgent/event` of the server (the chat and memory views render them). */
  readonly onEvent = this.eventEmitter.event;
  /** Wraps commands the client executes itself (commands of code actions resolved by the server). */
  externalCommandHandler:
    | ((command: string, args: unknown[], next: (command: string, args: unknown[]) => Promise<unknown>) => Promise<unknown>)
    | undefined;

  constructor() {
    this.output = vscode.window.createOutputChannel('LSP Agent');
    this.serverLog = vscode.window.createOutputChannel('LSP Agent (server)', { log: true });
    this.traceLog = vscode.window.createOutputChannel('LSP Agent (trace)', { log: true });
    this.disposables.push(
      this.output,
      this.serverLog,
      this.traceLog,
      vscode.workspace.onDidChangeConfiguration((e) => this.onConfigurationChanged(e)),
      // granting trust takes effect at once: the server gets trustWorkspace: true
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.sendConfiguration()),
    );
  }

  get isRunning(): boolean {
    return this.client !== undefined && this.client.state === State.Running;
  }

  /** Starts the server if needed. Returns undefined (after telling the user why) on failure. */
  async ensureStarted(): Promise<LanguageClient | undefined> {
    if (this.client && this.client.state === State.Running) return this.client;
    if (this.starting) return this.starting;
    this.starting = this.start().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async start(): Promise<LanguageClient | undefined> {
    const { launch, viaPython, env } = currentLaunch();
    const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.scheme === 'file'
      ? vscode.workspace.workspaceFolders[0].uri.fsPath
      : undefined;
    const resolved = resolveExecutable(launch.command, cwd);
    if (!resolved) {
      await this.reportStartFailure(launch, viaPython, 'not found');
      return undefined;
    }
    const serverOptions: ServerOptions = {
      command: resolved,
      args: launch.args,
      options: { cwd, env: { ...process.env, ...env } },
    };
    let initialized = false;
    let crashes: number[] = [];
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
      outputChannel: this.serverLog,
      traceOutputChannel: this.traceLog,
      initializationOptions: serverConfig(),
      progressOnInitialization: false,
      // Hovers link archival memories as `command:lspAgent.archival.show?...`: trust that command only.
      markdown: { isTrusted: { enabledCommands: [ServerCommands.archivalShow] } },
      middleware: {
        workspace: {
          handleApplyEdit: async (params, next) => {
            // The agent's edits are saved (unless the file had unsaved changes of the user's),
            // so that its tools - tests, shell commands - see them on disk.
            const uris = editedUris(params.edit);
            const dirtyBefore = new Set(
              vscode.workspace.textDocuments.filter((d) => d.isDirty).map((d) => d.uri.toString()),
            );
            const result = await next(params, new vscode.CancellationTokenSource().token as unknown as CancellationToken);
            const save = vscode.workspace.getConfiguration(SECTION).get<boolean>('ui.saveAgentEdits', true);
            if (save && result && !(result instanceof Error) && (result as { applied?: boolean }).applied) {
              for (const doc of vscode.workspace.textDocuments) {
                const key = doc.uri.toString();
                if (uris.has(key) && doc.isDirty && !dirtyBefore.has(key)) {
                  try {
                    await doc.save();
                  } catch (error) {
                    this.serverLog.warn(`could not save ${key}: ${errorMessage(error)}`);
                  }
                }
              }
            }
            return result;
          },
          configuration: async (params, token, next) => {
            const answers = (await next(params, token)) as unknown[];
            if (!Array.isArray(answers)) return answers;
            return params.items.map((item, i) => {
              if (item.section === SECTION) {
                return serverConfig(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined);
              }
              return answers[i];
            });
          },
        },
        executeCommand: async (command, args, next) => {
          // Commands of code actions: sent like the palette's (cancellable, with progress).
          const run = async (c: string, a: unknown[]): Promise<unknown> => {
            const arg = Array.isArray(a) && a.length === 1 && a[0] && typeof a[0] === 'object' ? a[0] : undefined;
            if (!arg) return next(c, a);
            return this.execute(c, arg as Record<string, unknown>, { long: LongCommands.has(c) });
          };
          return this.externalCommandHandler ? this.externalCommandHandler(command, args, run) : run(command, args);
        },
      },
      errorHandler: {
        error: (_error, _message, count) =>
          (count ?? 0) <= 3 ? { action: ErrorAction.Continue } : { action: ErrorAction.Shutdown },
        closed: () => {
          if (!initialized) {
            // start() reports the failure itself (with the fix); no second popup.
            return { action: CloseAction.DoNotRestart, handled: true };
          }
          const now = Date.now();
          crashes = crashes.filter((t) => now - t < 3 * 60 * 1000);
          crashes.push(now);
          if (crashes.length <= 4) {
            this.serverLog.warn(`the server stopped unexpectedly; restarting (${crashes.length} of 4)`);
            return { action: CloseAction.Restart, handled: true };
          }
          return {
            action: CloseAction.DoNotRestart,
            message:
              'LSP Agent: the server stopped 5 times in 3 minutes and will not be restarted. ' +
              'See the "LSP Agent (server)" output, then run "LSP Agent: Restart Server".',
          };
        },
      },
      initializationFailedHandler: (error) => {
        this.serverLog.appendLine(`initialization failed: ${errorMessage(error)}`);
        return false;
      },
    };
    const client = new LanguageClient('lspAgent', 'LSP Agent', serverOptions, clientOptions);
    client.registerFeature(new AgentUiFeature(client, this));
    client.onDidChangeState((e) => {
      if (e.newState === State.Running) this.stateEmitter.fire('running');
      else if (e.newState === State.Stopped) this.stateEmitter.fire('stopped');
    });
    this.client = client;
    try {
      await client.start();
    } catch (error) {
      this.client = undefined;
      try {
        await client.dispose(2000);
      } catch {
        // already gone
      }
      await this.reportStartFailure(launch, viaPython, errorMessage(error));
      return undefined;
    }
    initialized = true;
    client.onNotification('lspAgent/event', (event: AgentEvent) => this.relayEvent(event));
    this.serverLog.appendLine(`started: ${resolved} ${launch.args.join(' ')}`);
    return client;
  }

  private async reportStartFailure(launch: ServerLaunch, viaPython: boolean, reason: string): Promise<void> {
    this.stateEmitter.fire('failed');
    const message = startFailureMessage(launch, reason, viaPython);
    this.serverLog.appendLine(message);
    const choice = await vscode.window.showErrorMessage(message, 'Open Settings', 'Show Server Log');
    if (choice === 'Open Settings') {
      await vscode.commands.executeCommand(
        'workbench.action.openSettings',
        viaPython ? 'lspAgent.pythonPath' : 'lspAgent.server',
      );
    } else if (choice === 'Show Server Log') {
      this.serverLog.show(true);
    }
  }

  private relayEvent(event: AgentEvent): void {
    if (!event || typeof event !== 'object') return;
    const line = formatEvent(event);
    if (line) this.output.appendLine(line);
    this.eventEmitter.fire(event);
  }

  /** The slash commands the server advertised (`capabilities.experimental.lspAgent`). */
  get slashCommands(): SlashCommand[] {
    const experimental = this.client?.initializeResult?.capabilities?.experimental as
      | { lspAgent?: { slashCommands?: SlashCommand[] } }
      | undefined;
    const list = experimental?.lspAgent?.slashCommands;
    return Array.isArray(list) ? list : [];
  }

  private async onConfigurationChanged(e: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!e.affectsConfiguration(SECTION)) return;
    const launchKeys = ['server.command', 'server.args', 'server.env', 'pythonPath'];
    if (launchKeys.some((k) => e.affectsConfiguration(`${SECTION}.${k}`))) {
      // (Re)start with the new command, also after a failed start: that is how one fixes it.
      this.serverLog.appendLine('server settings changed: restarting');
      await this.restart();
      return;
    }
    await this.sendConfiguration();
  }

  /** workspace/didChangeConfiguration with the current settings and workspace trust. */
  private async sendConfiguration(): Promise<void> {
    if (this.isRunning && this.client) {
      await this.client.sendNotification(DidChangeConfigurationNotification.type, {
        settings: { [SECTION]: serverConfig() },
      });
    }
  }

  async restart(): Promise<LanguageClient | undefined> {
    const old = this.client;
    this.client = undefined;
    if (old) {
      try {
        await old.stop(5000);
      } catch {
        // ignore
      }
      await old.dispose().catch(() => undefined);
    }
    return this.ensureStarted();
  }

  /** A progress token the server just created belongs to the newest long request without one. */
  claimProgress(key: string): void {
    for (let i = this.longRequests.length - 1; i >= 0; i--) {
      if (this.longRequests[i].progress === undefined) {
        this.longRequests[i].progress = key;
        return;
      }
    }
  }

  /** The view that shows the progress of a token's request (undefined: a notification). */
  progressViewOf(key: string): string | undefined {
    return this.longRequests.find((r) => r.progress === key)?.viewId;
  }

  /** Cancels the request a progress token belongs to; false when there is none. */
  cancelRequestOfProgress(key: string): boolean {
    const entry = this.longRequests.find((r) => r.progress === key);
    if (!entry) return false;
    entry.source.cancel();
    return true;
  }

  /**
   * Sends `workspace/executeCommand` with one object argument. Throws on failure (with the
   * server's message); returns undefined when the server could not be started.
   */
  async execute<T = Record<string, unknown>>(
    command: string,
    args: Record<string, unknown>,
    options: { long?: boolean; token?: vscode.CancellationToken; progressView?: string } = {},
  ): Promise<CommandResult<T> | undefined> {
    const client = await this.ensureStarted();
    if (!client) return undefined;
    const source = new vscode.CancellationTokenSource();
    const sub = options.token?.onCancellationRequested(() => source.cancel());
    const entry = { source, progress: undefined as string | undefined, viewId: options.progressView };
    if (options.long) this.longRequests.push(entry);
    try {
      const result = await client.sendRequest(
        ExecuteCommandRequest.type,
        { command, arguments: [args] },
        source.token as unknown as CancellationToken,
      );
      return result as CommandResult<T>;
    } finally {
      sub?.dispose();
      const i = this.longRequests.indexOf(entry);
      if (i >= 0) this.longRequests.splice(i, 1);
      // The request is over: its progress notification goes too, whatever the server sent.
      if (entry.progress !== undefined) this.endProgress?.(entry.progress);
      source.dispose();
    }
  }

  async dispose(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    for (const d of this.disposables) d.dispose();
    this.stateEmitter.dispose();
    this.eventEmitter.dispose();
    if (client) {
      try {
        await client.stop(3000);
      } catch {
        // ignore
      }
    }
  }
}

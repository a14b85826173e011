// Memory at the code, the parts VS Code does not render by itself: the lesson asked for
// "Remember this", anchored memories as a quick pick that opens their code, and the choice of
// what to do with one. Hover, code lens, diagnostics and quick fixes are standard LSP.

import * as vscode from 'vscode';
import { Anchor, AnchorAction, anchorLabel, anchorLines, anchorPlace, anchorState, selectionAt, splitAt } from './anchors';

type AnchorItem = vscode.QuickPickItem & { anchor: Anchor };
type ActionItem = vscode.QuickPickItem & { action: AnchorAction; at?: string };

export class CodeMemory {
  constructor(private readonly workspaceFolder: () => vscode.WorkspaceFolder | undefined) {}

  /** Asks what to remember about the code at `at` (PATH:LINES); undefined: cancelled. */
  async askLesson(at: string): Promise<string | undefined> {
    const { path, lines } = splitAt(at);
    const where = `${vscode.workspace.asRelativePath(vscode.Uri.file(path), false)}${lines ? `:${lines}` : ''}`;
    const lesson = await vscode.window.showInputBox({
      title: `LSP Agent: Remember (${where})`,
      prompt: 'What should the agent remember about this code?',
      placeHolder: 'e.g. Must stay pure: the scheduler calls it from several threads',
      ignoreFocusOut: true,
    });
    return lesson?.trim() ? lesson.trim() : undefined;
  }

  /** Lists anchored memories; picking one opens its code. `where` says what was listed. */
  async showAnchors(anchors: Anchor[], where: string): Promise<void> {
    if (anchors.length === 0) {
      void vscode.window.showInformationMessage(
        `LSP Agent: no memories are anchored ${where}. Select code and use the "Remember this" code action to anchor one.`,
      );
      return;
    }
    const anchor = await this.pickAnchor(anchors, 'Open the code of a memory', `${anchors.length} anchored memor${anchors.length === 1 ? 'y' : 'ies'} ${where}`);
    if (anchor) await this.open(anchor);
  }

  async pickAnchor(anchors: Anchor[], placeHolder: string, title?: string): Promise<Anchor | undefined> {
    const picked = await vscode.window.showQuickPick<AnchorItem>(
      anchors.map((anchor) => ({ ...anchorLabel(anchor), anchor })),
      { title: title ? `LSP Agent: ${title}` : undefined, placeHolder, matchOnDescription: true, matchOnDetail: true, ignoreFocusOut: true },
    );
    return picked?.anchor;
  }

  /** Re-anchor (to the selection, or where its code is now), keep, forget, or bring back. */
  async pickAction(anchor: Anchor): Promise<{ action: AnchorAction; at?: string } | undefined> {
    const items: ActionItem[] = [];
    const selected = this.selection();
    if (selected) {
      items.push({ label: '$(pin) Re-anchor it to the selection', description: anchorLines(selected.place), action: 'reanchor', at: selected.at });
    }
    if (anchor.state === 'forgotten') {
      items.push({ label: '$(history) Bring it back', description: `at ${anchorLines(anchor)}`, action: 'reanchor' });
    } else {
      if (anchor.state !== 'lost') {
        items.push({ label: '$(pin) Re-anchor it where its code is now', description: anchorLines(anchor), action: 'reanchor' });
      }
      if (anchor.state === 'changed') {
        items.push({ label: '$(check) Keep it as is', description: 'the code as it is now is what it is about', action: 'keep' });
      }
      items.push({ label: '$(trash) Forget it', description: 'restorable: bring it back from here', action: 'forget' });
    }
    const state = anchorState(anchor);
    const picked = await vscode.window.showQuickPick(items, {
      title: `LSP Agent: memory at ${anchorPlace(anchor)}${state ? ` · ${state}` : ''}`,
      placeHolder:
        anchor.state === 'lost' && !selected ? 'Its code is gone: select the code it is about, then run this again to re-anchor it there' : anchorLabel(anchor).label,
      ignoreFocusOut: true,
    });
    return picked ? { action: picked.action, at: picked.at } : undefined;
  }

  /** Opens the file of an anchor at its lines. */
  async open(anchor: Anchor): Promise<void> {
    const folder = this.workspaceFolder();
    const uri = anchor.path.startsWith('/') || !folder ? vscode.Uri.file(anchor.path) : vscode.Uri.joinPath(folder.uri, anchor.path);
    const first = Math.max(0, (anchor.start_line || 1) - 1);
    try {
      const doc = await vscode.workspace.openTextDocument(uri);
      const last = Math.min(doc.lineCount - 1, Math.max(first, (anchor.end_line || anchor.start_line || 1) - 1));
      const range = new vscode.Range(first, 0, first, 0);
      const editor = await vscode.window.showTextDocument(doc, { selection: range, preview: false });
      editor.revealRange(new vscode.Range(first, 0, last, 0), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    } catch {
      void vscode.window.showWarningMessage(`LSP Agent: ${anchor.path} cannot be opened (was it deleted?).`);
    }
  }

  /** The active editor's selection as an `at`, when it is in a file of the workspace. */
  private selection(): { at: string; place: { path: string; start_line: number; end_line: number } } | undefined {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.selection.isEmpty || editor.document.uri.scheme !== 'file') return undefined;
    if (!vscode.workspace.getWorkspaceFolder(editor.document.uri)) return undefined;
    const { start, end } = editor.selection;
    const at = selectionAt(editor.document.uri.fsPath, start, end);
    const lines = splitAt(at).lines.split('-').map(Number);
    const path = vscode.workspace.asRelativePath(editor.document.uri, false);
    return { at, place: { path, start_line: lines[0], end_line: lines[1] ?? lines[0] } };
  }
}

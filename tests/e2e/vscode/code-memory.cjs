// End-to-end tests of memory at the code (run by e2e.cjs inside its session, after Init): a
// lesson anchored to a function through the "Remember this" code action and its input box;
// the hover (its link opens the archival passage) and the code lens above the function; the
// function renamed in the editor, its body rewritten (a stale-memory diagnostic and its quick
// fix), the file renamed in the Explorer, the function deleted (a lost memory, forgotten from
// the palette). No model call: anchored lessons are stored as they are.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const FILE = 'pond.py';
const RENAMED = 'aquarium_pond.py';
const LESSON = 'feed_fish must never feed more than two flakes per fish: the koi get sick';
const POND = [
  '"""The pond of the aquarium."""',
  '',
  '',
  'def feed_fish(count: int) -> str:',
  '    """Feed the fish of the pond."""',
  '    flakes = count * 2',
  '    return f"{flakes} flakes for {count} fish"',
  '',
  '',
  'def clean_pond() -> str:',
  '    return "The pond is clean."',
  '',
].join('\n');

async function run(H, scene, page) {
  const { test, waitFor, screenshot, runCommand, answerInput, waitNotification, clearNotifications, log } = H;
  const file = (name) => path.join(scene.workspace, name);
  const editorLines = page.locator('.editor-group-container.active .monaco-editor .view-lines').first();

  /** Puts the cursor at the start of a line (1-based) of the active editor (Quick Open ":N"). */
  async function goToLine(n) {
    await H.closeQuickInput();
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: H.STEP_TIMEOUT });
    await input.fill(`:${n}:1`);
    await page.keyboard.press('Enter');
    await waitFor(async () => new RegExp(`Ln ${n}, Col 1\\b`).test(await page.locator('.part.statusbar').innerText()), `the cursor on line ${n}`, 10000);
  }

  /** Selects whole lines `first`..`last` (1-based) of the active editor. */
  async function selectLines(first, last) {
    await goToLine(first);
    for (let i = first; i <= last; i++) await page.keyboard.press('Shift+ArrowDown');
  }

  async function save(name, check, what) {
    await page.keyboard.press('Control+S');
    let text = '';
    try {
      await waitFor(() => check((text = fs.readFileSync(file(name), 'utf8'))), what, 10000);
    } catch (e) {
      throw new Error(`${e.message}; ${name} on disk: ${JSON.stringify(text)}`);
    }
  }

  async function lensTexts() {
    return page.locator('.editor-group-container.active .codelens-decoration').allInnerTexts();
  }

  async function problemsText() {
    const panel = page.locator('.markers-panel').first();
    if (!(await panel.isVisible().catch(() => false))) {
      await runCommand('Problems: Focus on Problems View');
      await panel.waitFor({ state: 'visible', timeout: H.STEP_TIMEOUT });
    }
    return (await panel.innerText()).replace(/\u00a0/g, ' ');
  }

  async function hoverAt(line) {
    await goToLine(line);
    await runCommand('Show or Focus Hover');
    const hover = page.locator('.monaco-hover').filter({ visible: true }).filter({ hasText: 'lsp-agent remembers' }).first();
    await hover.waitFor({ state: 'visible', timeout: H.STEP_TIMEOUT });
    return hover;
  }

  async function runQuickFix(title) {
    await runCommand('Quick Fix...');
    const row = page.locator('.action-widget .monaco-list-row', { hasText: title }).first();
    await row.waitFor({ state: 'visible', timeout: H.STEP_TIMEOUT });
    return row;
  }

  await test('code memory: "Remember this" on a function asks for the lesson (Escape cancels) and anchors it there', async () => {
    await H.openFile(FILE);
    await editorLines.click();
    await selectLines(4, 7);
    await waitFor(async () => /\(\d+ selected\)/.test(await page.locator('.part.statusbar').innerText()), 'lines 4-7 selected', 10000);
    const openRemember = async () => {
      await runCommand('Refactor...');
      const row = page.locator('.action-widget .monaco-list-row', { hasText: 'Remember this' }).first();
      await row.waitFor({ state: 'visible', timeout: H.STEP_TIMEOUT });
      await row.click();
      const box = page.locator('.quick-input-widget').filter({ hasText: 'What should the agent remember about this code?' });
      await box.waitFor({ state: 'visible', timeout: H.STEP_TIMEOUT });
      return box;
    };
    const box = await openRemember();
    if (!/Remember \(pond\.py:4-7\)/.test(await box.innerText())) throw new Error(`the input box does not name the lines: ${await box.innerText()}`);
    await screenshot('code-memory-lesson-input');
    await page.keyboard.press('Escape'); // cancelled: nothing is stored (the lens below says "1 memory")
    await page.waitForTimeout(1000);
    if ((await H.notificationTexts()).some((t) => /anchored to pond\.py/.test(t))) throw new Error('Escape still remembered something');
    await openRemember();
    await answerInput(LESSON, 'What should the agent remember about this code?');
    await waitNotification(/remembered, anchored to pond\.py:4-7 \(feed_fish\)\./);
    await clearNotifications();
  });

  await test('code memory: the hover on the function shows the lesson; its link and "Show Archival Passage" open the passage', async () => {
    const hover = await hoverAt(4);
    const text = await hover.innerText();
    if (!text.includes(LESSON) || !/feed_fish/.test(text)) throw new Error(`hover: ${text}`);
    await screenshot('code-memory-hover');
    await hover.locator('a', { hasText: /^open$/ }).first().click();
    await H.waitTab(/Agent Archival Passage/);
    await H.waitWebviewText(new RegExp(LESSON.slice(0, 40)), 'the passage opened from the hover');
    await screenshot('code-memory-hover-link');
    await runCommand('LSP Agent: Show Archival Passage');
    await H.pickQuickPickRow((t) => t.includes(LESSON.slice(0, 40)), 'the anchored passage in the picker');
    // the passage, and where it is anchored
    await waitFor(async () => (await H.webviewTexts()).some((t) => t.includes(LESSON.slice(0, 40)) && /pond\.py:4/.test(t)), 'the passage with its anchor');
  });

  await test('code memory: the code lens "1 memory" above the function lists the memory and opens its code', async () => {
    await H.openFile(FILE);
    await waitFor(async () => (await lensTexts()).some((t) => /^1 memory$/.test(t.trim())), 'the code lens "1 memory"');
    await screenshot('code-memory-lens');
    await goToLine(11);
    await page.locator('.editor-group-container.active .codelens-decoration a', { hasText: '1 memory' }).first().click();
    await H.pickQuickPickRow((t) => t.includes(LESSON.slice(0, 40)) && /pond\.py:4-7 \(feed_fish\)/.test(t), 'the memory in the lens picker', 'code-memory-lens-picker');
    await waitFor(async () => /Ln 4, Col 1/.test(await page.locator('.part.statusbar').innerText()), 'the cursor at the function', 10000);
  });

  await test('code memory: the function renamed in the editor (a line added above it): the lens and the hover follow', async () => {
    await goToLine(4);
    await page.keyboard.press('Control+ArrowRight'); // after "def"
    await page.keyboard.press('Control+ArrowRight'); // after "feed_fish"
    await page.keyboard.press('Control+Shift+ArrowLeft');
    await page.keyboard.type('feed_the_fish');
    await page.keyboard.press('Escape'); // word suggestions
    await goToLine(2);
    await page.keyboard.insertText('# Fed by the keeper.\n');
    await save(FILE, (t) => /\n# Fed by the keeper\.\n\n\ndef feed_the_fish\(count/.test(t), 'the renamed function on disk');
    const defLine = page.locator('.editor-group-container.active .view-line', { hasText: 'def feed_the_fish' }).first();
    await waitFor(async () => {
      const lens = page.locator('.editor-group-container.active .codelens-decoration', { hasText: '1 memory' }).first();
      const [l, d] = [await lens.boundingBox(), await defLine.boundingBox()];
      return l && d && l.y < d.y && d.y - l.y <= d.height + l.height; // directly above it
    }, 'the code lens directly above "def feed_the_fish"');
    const hover = await hoverAt(5);
    await waitFor(async () => /feed_the_fish/.test(await hover.innerText()), 'the hover naming feed_the_fish', 15000);
    await screenshot('code-memory-renamed');
    await H.closeQuickInput();
    await page.keyboard.press('Escape');
  });

  await test('code memory: the body rewritten shows a stale memory; the quick fix "Keep this memory as is" clears it', async () => {
    await selectLines(6, 8);
    await page.keyboard.insertText('    food = ["pellets"] * count\n    print(food)\n    return ", ".join(food)\n');
    await save(FILE, (t) => /def feed_the_fish\(count: int\) -> str:\n    food = \["pellets"\]/.test(t) && !/flakes/.test(t), 'the new body on disk');
    // The lens first: VS Code asks for lenses again only while the editor has the focus.
    await waitFor(async () => (await lensTexts()).some((t) => /1 memory · 1 stale/.test(t)), 'the lens "1 memory · 1 stale"');
    await page.locator('.editor-group-container.active .squiggly-info').first().waitFor({ state: 'visible', timeout: H.STEP_TIMEOUT });
    await waitFor(async () => /changed/.test(await problemsText()) && (await problemsText()).includes(LESSON.slice(0, 40)), 'the stale memory in the Problems panel');
    await screenshot('code-memory-stale');
    await goToLine(5);
    const row = await runQuickFix('Keep this memory as is');
    const fixes = await page.locator('.action-widget .monaco-list-row').allInnerTexts();
    for (const t of ['Re-anchor this memory here', 'Forget this memory', 'Ask the agent to re-verify this memory']) {
      if (!fixes.some((f) => f.includes(t))) throw new Error(`quick fixes lack "${t}": ${JSON.stringify(fixes)}`);
    }
    await screenshot('code-memory-quick-fixes');
    await row.click();
    await waitNotification(/memory kept: it is now about the code at pond\.py:5-8 \(feed_the_fish\)/);
    await waitFor(async () => (await lensTexts()).some((t) => /^1 memory$/.test(t.trim())), 'the lens without "stale"');
    await waitFor(async () => !/changed/.test(await problemsText()), 'the stale memory gone from the Problems panel');
    await clearNotifications();
  });

  await test('code memory: the file renamed in the Explorer: "Anchored Memories" lists it at its new path', async () => {
    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: FILE }).first();
    if (!(await row.isVisible().catch(() => false))) await runCommand('View: Show Explorer');
    const input = page.locator('.explorer-folders-view .monaco-inputbox input').first();
    // A context menu ignores a click that comes too soon after it opened: try again then.
    await waitFor(async () => {
      if (await input.isVisible().catch(() => false)) return true;
      await page.keyboard.press('Escape');
      await row.click({ button: 'right' });
      const rename = page.getByRole('menuitem', { name: /^Rename/ }).filter({ visible: true }).first();
      await rename.waitFor({ state: 'visible', timeout: 5000 });
      await page.waitForTimeout(300);
      await rename.click();
      return input.waitFor({ state: 'visible', timeout: 2000 }).then(() => true, () => false);
    }, 'the rename box in the Explorer', 30000, 100);
    await input.fill(RENAMED);
    await page.keyboard.press('Enter');
    await waitFor(() => fs.existsSync(file(RENAMED)) && !fs.existsSync(file(FILE)), `${RENAMED} on disk`, 10000);
    await H.waitTab(new RegExp(`^${RENAMED.replace('.', '\\.')}`));
    await waitFor(async () => {
      await runCommand('LSP Agent: Anchored Memories');
      const rows = await waitFor(async () => (await H.visibleRows()).filter((r) => r.text.includes(LESSON.slice(0, 40))), 'the memory in the picker', 10000);
      if (rows.some((r) => r.text.includes(`${RENAMED}:5-8 (feed_the_fish)`))) return true;
      log(`  picker rows: ${JSON.stringify(rows.map((r) => r.text))}`);
      return false;
    }, `the memory at ${RENAMED}`, 20000, 1000);
    await screenshot('code-memory-file-renamed');
    await H.closeQuickInput();
  });

  await test('code memory: the function deleted reports the lost memory; "Re-anchor / Forget / Keep Memory" forgets it', async () => {
    await H.openFile(RENAMED);
    await selectLines(5, 9);
    await page.keyboard.press('Delete');
    await save(RENAMED, (t) => !/feed_the_fish/.test(t) && /def clean_pond/.test(t), 'the function deleted on disk');
    await waitFor(async () => /lost its code/.test(await problemsText()), 'the lost memory in the Problems panel');
    await screenshot('code-memory-lost');
    await runCommand('LSP Agent: Re-anchor / Forget / Keep Memory');
    await H.pickQuickPickRow((t) => t.includes(LESSON.slice(0, 40)) && /code not found/.test(t), 'the lost memory in the picker');
    await H.pickQuickPickRow((t) => /Forget it/.test(t), 'the "Forget it" action', 'code-memory-actions');
    await waitNotification(/memory forgotten/);
    await waitFor(async () => !/lost its code/.test(await problemsText()), 'the lost memory gone from the Problems panel');
    // listed no more (greeter.py's memory, of the suite's code action test, still is)
    await runCommand('LSP Agent: Anchored Memories');
    const rows = await waitFor(async () => {
      const r = await H.visibleRows();
      return r.length && r.some((x) => /greeter\.py/.test(x.text)) ? r : false;
    }, 'the anchored memories picker');
    if (rows.some((r) => r.text.includes(LESSON.slice(0, 40)))) throw new Error(`the forgotten memory is listed: ${JSON.stringify(rows)}`);
    await H.closeQuickInput();
    await clearNotifications();
  });

  // The suite goes on with the layout it had: no panel, the focus in an editor.
  await H.closeQuickInput();
  await runCommand('View: Hide Panel').catch((e) => log(`  could not hide the panel: ${e.message}`));
}

// Code is typed as it is written here: VS Code must not indent pasted-in lines again.
const SETTINGS = { 'editor.autoIndent': 'none' };

module.exports = { run, FILE, POND, SETTINGS };

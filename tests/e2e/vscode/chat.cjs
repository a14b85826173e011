// End-to-end tests of the chat view and the memory view (run by e2e.cjs inside its session):
// a prompt typed in the chat view streams its answer in pieces; an edit approved inline (after
// its diff) changes the file; the stop button ends a long turn; slash-command completion; fork
// from the view's title bar; the modal when the view is hidden; in the memory view, a block's
// history diff, revert from the tree, skills, and archival search.
// The views use their own model script; the suite's own script continues after them.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const WORDS = Array.from({ length: 60 }, (_, i) => `word${i + 1}`).join(' ');
const STREAMED = 'The aquarium has sharks, rays, sea turtles and many small colourful fish in its tanks.';

const RESPONSES = [
  // 1: streamed word by word
  { content: STREAMED, delay_ms: 120 },
  // 2-3: an edit that needs approval (permission mode "ask"), approved inline
  {
    content: 'I will make the farewell warmer.',
    tool_calls: [
      {
        name: 'edit_file',
        arguments: { path: 'greeter.py', old_string: 'Goodbye, {name}, come back soon.', new_string: 'Goodbye, {name}, we hope to see you again soon!' },
      },
    ],
  },
  { content: 'The farewell is warmer now.' },
  // 4: a long answer, stopped with the stop button
  { content: WORDS, delay_ms: 300 },
  // 5-6: a shell command while the chat view is hidden: asked in a modal
  { content: 'Checking the shell from the chat now, one moment please.', delay_ms: 200, tool_calls: [{ name: 'run_command', arguments: { command: 'echo from-chat' } }] },
  { content: 'The shell works from the chat.' },
];

/** The frame of the chat view's webview (its content iframe). */
async function chatFrame(H, page) {
  return H.waitFor(async () => {
    for (const frame of page.frames()) {
      try {
        if (await frame.locator('#prompt').count()) return frame;
      } catch {
        // detached
      }
    }
    return false;
  }, 'the chat view webview');
}

/** Shows the LSP Agent side bar (chat and memory views), as a click on its activity bar icon. */
async function openAgentSidebar(H, page) {
  const icon = page.locator('.part.activitybar [aria-label^="LSP Agent"]').first();
  await icon.waitFor({ state: 'visible', timeout: H.STEP_TIMEOUT });
  const pane = page.locator('.part.sidebar .pane-header', { hasText: /^\s*chat/i }).first();
  if (!(await pane.isVisible().catch(() => false))) await icon.click();
  await pane.waitFor({ state: 'visible', timeout: H.STEP_TIMEOUT });
}

/** The chat's prompt box: types `text` and sends it with Enter. */
async function sendPrompt(frame, text) {
  const box = frame.locator('#prompt');
  await box.fill(text);
  await box.press('Enter');
}

async function transcriptText(frame) {
  return frame.locator('#items').innerText();
}

async function waitIdle(H, frame, what, timeout) {
  await H.waitFor(async () => (await frame.locator('#send').innerText()).trim() === 'Send', what, timeout, 100);
}

/** Switches the server to another model script (in the Settings editor; VS Code relays it). */
async function useScript(H, scene, scriptPath) {
  await H.setSetting('lspAgent.model', /Agent: Model/, `scripted/${scriptPath}`);
  const name = path.basename(scriptPath).replace(/\./g, '\\.');
  await H.waitFor(async () => {
    await H.clearNotifications();
    await H.runCommand('LSP Agent: Status');
    await H.waitNotification(/LSP Agent: .* · model scripted\//, 'the status notification');
    return (await H.notificationTexts()).some((t) => new RegExp(`model scripted/\\S*${name}`).test(t));
  }, `the server to use ${path.basename(scriptPath)}`, 30000, 1000);
  await H.clearNotifications();
}

function memoryPane(page) {
  return page.locator('.part.sidebar .pane').filter({ has: page.locator('.pane-header', { hasText: /^\s*memory/i }) }).first();
}

/** The rows of the Memory view (label and description), in order (not the sticky copies of parents). */
async function memoryRows(page) {
  const rows = await memoryPane(page).locator('.monaco-list-rows .monaco-list-row').evaluateAll((els) =>
    els.map((e) => ({ index: Number(e.getAttribute('data-index')), text: e.innerText.replace(/\u00a0/g, ' ').replace(/\s+/g, ' ').trim() })),
  );
  return rows.sort((a, b) => a.index - b.index);
}

function memoryRow(page, index) {
  return memoryPane(page).locator(`.monaco-list-rows .monaco-list-row[data-index="${index}"]`);
}

async function run(H, scene, page, { blockLabel }) {
  const { test, waitFor, screenshot, log } = H;
  const chatScript = path.join(scene.tmp, 'chat-script.json');
  fs.writeFileSync(chatScript, JSON.stringify({ responses: RESPONSES }));
  let frame;
  let viewsReady = false;

  await test('chat view: a typed prompt streams its answer in several pieces before the turn ends', async () => {
    await useScript(H, scene, chatScript);
    await openAgentSidebar(H, page);
    frame = await chatFrame(H, page);
    viewsReady = true;
    await frame.locator('#prompt').waitFor({ state: 'visible', timeout: H.STEP_TIMEOUT });
    // Record the answer's text at every change of the transcript, with whether the turn ran.
    await frame.evaluate(() => {
      const w = window;
      w.__samples = [];
      const list = document.getElementById('items');
      w.__observer = new MutationObserver(() => {
        const answers = list.querySelectorAll('.item.assistant');
        const last = answers[answers.length - 1];
        w.__samples.push({ text: last ? last.innerText : '', running: document.getElementById('send').textContent === 'Stop' });
      });
      w.__observer.observe(list, { subtree: true, childList: true, characterData: true });
    });
    await sendPrompt(frame, 'Tell me about the aquarium');
    await waitFor(async () => /sharks, rays/.test(await transcriptText(frame)), 'the first words of the answer', H.STEP_TIMEOUT, 50);
    await screenshot('chat-streaming');
    await waitIdle(H, frame, 'the turn to end');
    await waitFor(async () => (await transcriptText(frame)).includes(STREAMED), 'the whole answer');
    const samples = await frame.evaluate(() => {
      window.__observer.disconnect();
      return window.__samples;
    });
    const during = [...new Set(samples.filter((s) => s.running && s.text && STREAMED.startsWith(s.text.replace(/▍$/, '').trim())).map((s) => s.text.trim()))];
    log(`  ${during.length} distinct partial answers while the turn ran (of ${samples.length} transcript changes)`);
    if (during.length < 3) throw new Error(`the answer arrived in ${during.length} pieces while the turn ran: ${JSON.stringify(during)}`);
    await screenshot('chat-streamed');
  }, { critical: false });

  await test('chat view: an edit is approved inline after its diff, and the file changes', async () => {
    if (!viewsReady) throw new Error('the chat view did not open');
    const greeter = path.join(scene.workspace, 'greeter.py');
    await sendPrompt(frame, 'Make the farewell warmer');
    const approval = frame.locator('.item.approval').last();
    await approval.locator('button', { hasText: /^Allow$/ }).waitFor({ state: 'visible', timeout: H.STEP_TIMEOUT });
    const text = await approval.innerText();
    if (!/greeter\.py/.test(text)) throw new Error(`the approval does not name greeter.py: ${text}`);
    for (const b of ['Allow', 'Deny']) {
      if (!(await approval.locator('button', { hasText: new RegExp(`^${b}$`) }).count())) throw new Error(`the approval lacks "${b}": ${text}`);
    }
    await screenshot('chat-approval-inline');
    await approval.locator('button', { hasText: /^Show diff$/ }).click();
    await H.waitTab(/greeter\.py ↔ proposed edit/, 'the diff of the proposed edit');
    const diffText = async () => (await page.locator('.editor-group-container.active .monaco-diff-editor').first().innerText()).replace(/\u00a0/g, ' ');
    await waitFor(async () => /we hope to see you again/.test(await diffText()), 'the new text in the diff');
    if (/we hope/.test(fs.readFileSync(greeter, 'utf8'))) throw new Error('greeter.py changed before the approval');
    await screenshot('chat-edit-diff');
    await approval.locator('button', { hasText: /^Allow$/ }).click();
    await waitFor(() => /we hope to see you again soon!/.test(fs.readFileSync(greeter, 'utf8')), 'greeter.py changed on disk');
    await waitFor(async () => /The farewell is warmer now\./.test(await transcriptText(frame)), 'the answer after the edit');
    await waitFor(async () => /Allowed/.test(await approval.innerText()), 'the approval marked as allowed');
    await waitIdle(H, frame, 'the turn to end');
    // The tool call is a collapsed row; opened, it shows its result.
    const row = frame.locator('.item.tool', { hasText: 'edit_file' }).last();
    await row.locator('summary .status.ok').waitFor({ state: 'visible', timeout: 10000 });
    await row.locator('summary').click();
    await waitFor(async () => /Edited greeter\.py/.test(await row.innerText()), 'the edit_file row with its result');
    await screenshot('chat-edit-applied');
  });

  await test('chat view: the stop button ends a long turn', async () => {
    if (!viewsReady) throw new Error('the chat view did not open');
    await sendPrompt(frame, 'Count to sixty, slowly');
    await waitFor(async () => /word3\b/.test(await transcriptText(frame)), 'the first words of the long answer', H.STEP_TIMEOUT, 100);
    const button = frame.locator('#send');
    if ((await button.innerText()).trim() !== 'Stop') throw new Error('the send button is not a stop button while the turn runs');
    await screenshot('chat-before-stop');
    const started = Date.now();
    await button.click();
    await waitIdle(H, frame, 'the turn to stop', 15000);
    const took = (Date.now() - started) / 1000;
    log(`  the turn ended ${took.toFixed(1)} s after Stop`);
    let text = '';
    try {
      await waitFor(async () => /stopped/i.test((text = await transcriptText(frame))), 'the transcript to say the turn was stopped', 5000, 100);
    } catch (e) {
      throw new Error(`${e.message}:\n${text.slice(-500)}`);
    }
    if (/word60\b/.test(text)) throw new Error('the whole answer arrived: the turn was not stopped');
    await screenshot('chat-stopped');
  });

  await test('chat view: "/" completes slash commands; /memory answers in the chat', async () => {
    if (!viewsReady) throw new Error('the chat view did not open');
    const box = frame.locator('#prompt');
    await box.fill('');
    await box.pressSequentially('/mem');
    const row = frame.locator('#suggest li', { hasText: '/memory' }).first();
    await row.waitFor({ state: 'visible', timeout: 10000 });
    await screenshot('chat-slash-completion');
    await box.press('Tab');
    const value = await box.inputValue();
    if (!/^\/memory ?$/.test(value)) throw new Error(`Tab completed to ${JSON.stringify(value)}`);
    await box.press('Enter');
    await waitFor(async () => {
      const answers = await frame.locator('.item.command').allInnerTexts();
      return answers.some((t) => t.includes(blockLabel));
    }, `the /memory answer listing block "${blockLabel}"`);
    await waitIdle(H, frame, 'the command to end');
    await screenshot('chat-slash-memory');
  });

  await test('chat view: Fork in the title bar forks the conversation shown', async () => {
    if (!viewsReady) throw new Error('the chat view did not open');
    const before = await frame.locator('#subtitle').innerText();
    await page.locator('.pane-header [aria-label^="Fork Conversation"]').first().click();
    await H.pickQuickPickRow((t) => /Fork the active conversation/.test(t), 'the "fork the active conversation" item');
    await H.waitNotification(/forked into conversation/);
    await waitFor(async () => {
      const after = await frame.locator('#subtitle').innerText();
      return after !== before && /fork of /.test(after) && after.includes(`fork of ${before.slice(0, 8)}`);
    }, 'the header to show the fork');
    // The fork holds the conversation so far.
    await waitFor(async () => /Make the farewell warmer/.test(await transcriptText(frame)), 'the fork with the earlier messages');
    log(`  ${before} -> ${await frame.locator('#subtitle').innerText()}`);
    // It opens at its newest message.
    const atBottom = () => frame.locator('#transcript').evaluate((e) => ({ top: e.scrollTop, height: e.scrollHeight, view: e.clientHeight }));
    let pos;
    try {
      await waitFor(async () => ((pos = await atBottom()), pos.height - pos.top - pos.view < 5), 'the fork scrolled to its newest message', 5000, 100);
    } catch (e) {
      throw new Error(`${e.message}: ${JSON.stringify(pos)}`);
    }
    await screenshot('chat-forked');
    await H.clearNotifications();
  });

  await test('chat view: an approval while the view is hidden is asked in a modal', async () => {
    if (!viewsReady) throw new Error('the chat view did not open');
    await sendPrompt(frame, 'Check the shell from the chat');
    // Another side bar view hides the chat while the answer streams.
    await page.locator('.part.activitybar [aria-label^="Explorer"]').first().click();
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: H.STEP_TIMEOUT });
    const text = await dialog.innerText();
    if (!/echo from-chat/.test(text)) throw new Error(`the dialog does not show the command: ${text}`);
    await screenshot('chat-modal-fallback');
    await dialog.locator('.monaco-button', { hasText: /^Allow$/ }).first().click();
    await openAgentSidebar(H, page);
    await waitFor(async () => /The shell works from the chat\./.test(await transcriptText(frame)), 'the answer after the approval');
    const approval = await frame.locator('.item.approval').last().innerText();
    if (!/Allowed/.test(approval)) throw new Error(`the chat does not show the approval as allowed: ${approval}`);
    await waitIdle(H, frame, 'the turn to end');
    await screenshot('chat-after-modal');
  });

  await test('memory view: blocks with size and last change; a version opens as a diff and is reverted from the tree', async () => {
    if (!viewsReady) throw new Error('the views did not open');
    await openAgentSidebar(H, page);
    await memoryPane(page).waitFor({ state: 'visible', timeout: H.STEP_TIMEOUT });
    let rows = [];
    const block = await waitFor(async () => (rows = await memoryRows(page)).find((r) => new RegExp(`^${blockLabel}\\s*\\d+/\\d+`).test(r.text)), `block "${blockLabel}" in the memory view`);
    if (!/\d+\/\d+/.test(block.text)) throw new Error(`the block row lacks chars/limit: ${block.text}`);
    log(`  block row: ${block.text}`);
    await memoryRow(page, block.index).locator('.monaco-tl-twistie').click();
    const versions = await waitFor(async () => {
      rows = await memoryRows(page);
      const v = rows.filter((r) => r.index > block.index && /^v\d+/.test(r.text));
      return v.length >= 2 ? v : false;
    }, `the versions of "${blockLabel}"`);
    await screenshot('memory-view-versions');
    const number = (r) => Number(/^v(\d+)/.exec(r.text)[1]);
    const newest = Math.max(...versions.map(number));
    const older = versions.find((r) => number(r) === newest - 1);
    if (!older) throw new Error(`no v${newest - 1} among ${JSON.stringify(versions.map((r) => r.text))}`);
    const olderVersion = newest - 1;
    await memoryRow(page, older.index).click();
    await H.waitTab(new RegExp(`${blockLabel}: v${olderVersion}\\b`), `the diff of v${olderVersion}`);
    await page.locator('.editor-group-container.active .monaco-diff-editor').first().waitFor({ state: 'visible', timeout: H.STEP_TIMEOUT });
    await screenshot('memory-view-diff');
    await memoryRow(page, older.index).hover();
    await memoryRow(page, older.index).locator('[aria-label^="Revert to This Version"]').click();
    await H.waitNotification(new RegExp(`"${blockLabel}" reverted to version ${olderVersion} \\(now version (\\d+)\\)`));
    await waitFor(async () => (await memoryRows(page)).some((r) => new RegExp(`^v${newest + 1}(?!\\d)`).test(r.text)), `v${newest + 1} in the tree`);
    await screenshot('memory-view-reverted');
    await memoryRow(page, block.index).locator('.monaco-tl-twistie').click(); // collapse it again
    await H.clearNotifications();
  });

  await test('memory view: skills with their description; archival search from the view', async () => {
    if (!viewsReady) throw new Error('the views did not open');
    // The tree only renders the rows in view: the blocks are folded to bring the skills up.
    const blocks = (await memoryRows(page)).find((r) => /^Memory blocks/.test(r.text));
    if (blocks && (await memoryRow(page, blocks.index).getAttribute('aria-expanded')) === 'true') {
      await memoryRow(page, blocks.index).locator('.monaco-tl-twistie').click();
    }
    await waitFor(async () => (await memoryRows(page)).some((r) => /greet-visitors/.test(r.text) && /Greet aquarium visitors/.test(r.text)), 'the skill and its description');
    await H.openFile('README.md'); // no selection: the passage is typed
    await H.runCommand('LSP Agent: Insert Archival Passage');
    await H.answerInput('The octopus tank is refilled every Friday.', 'passage to store');
    await H.answerInput('tanks', 'Tags');
    await H.waitNotification(/stored archival passage/);
    await H.clearNotifications();
    await page.locator('.pane-header [aria-label^="Search Archival Memory in the Memory View"]').first().click();
    await H.answerInput('octopus tank', 'Search the passages');
    await waitFor(async () => (await memoryRows(page)).some((r) => /octopus tank is refilled/.test(r.text) && /score/.test(r.text)), 'the passage in the memory view with its score');
    await screenshot('memory-view-archival');
    await page.locator('.part.activitybar [aria-label^="Explorer"]').first().click();
  });

  await test('the suite goes on with its own model script', async () => {
    await useScript(H, scene, scene.scriptPath);
  }, { critical: true });
}

module.exports = { run, chatFrame, openAgentSidebar, sendPrompt, waitIdle };

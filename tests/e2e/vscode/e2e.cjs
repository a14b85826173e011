#!/usr/bin/env node
// End-to-end test of the LSP Agent extension in a real VS Code (code-server), driven through
// its UI with Chromium via playwright-core, against the real lsp-agent server with a scripted
// model. Covers: activation and status bar; Status; Init; Remember; Show Memory; Search (block
// hit and code hit); Ask with a selection (modal approval, progress notification, streamed
// events, answer); Memory History; Edit and Revert Memory Block; New/Switch/Fork Conversation;
// a denied approval; the "Remember this" code action; (code-memory.cjs) memory anchored to code:
// hover, code lens, stale and lost diagnostics with quick fixes, renames; Learn Skill (workspace/applyEdit); Reflect;
// Index Code; Create Memory Block; Insert / List / Search / Delete (modal approval) Archival
// Passage; Export Memory (and Overwrite of a file lsp-agent did not write);
// Cancel from the progress notification; the status bar tooltip; start failures (bad server
// command, bad lspAgent.pythonPath) and `<python> -m lsp_agent serve`; and (chat.cjs) the chat
// and memory views.
// Run by run.sh (see harness.cjs for the environment it provides). Prints "N passed, N failed"
// and exits non-zero on failure.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const H = require('./harness.cjs');
const chatTests = require('./chat.cjs');
const codeMemoryTests = require('./code-memory.cjs');

const { STEP_TIMEOUT, bin, log, waitFor, test, screenshot, closeQuickInput, runCommand, answerInput, visibleRows } = H;
const { pickQuickPickRow, notificationTexts, waitNotification, clearNotifications, waitTab, webviewTexts } = H;
const { waitWebviewText, activeEditorText, outputChannelText, openFile, waitStatusBar, setSetting } = H;

// ---- the scene -------------------------------------------------------------------------

const scene = H.createScene({
  files: {
    'greeter.py': [
      '"""A tiny module for the LSP Agent end-to-end test."""',
      '',
      '',
      'def greet_visitor(name: str) -> str:',
      '    """Return the greeting shown to a visitor of the aquarium."""',
      '    return f"Welcome to the aquarium, {name}!"',
      '',
      '',
      'def farewell_visitor(name: str) -> str:',
      '    return f"Goodbye, {name}, come back soon."',
      '',
    ].join('\n'),
    'README.md': '# Aquarium\n\nGreets visitors of the aquarium.\n',
    [codeMemoryTests.FILE]: codeMemoryTests.POND,
  },
  settings: codeMemoryTests.SETTINGS,
  responses: [
    // 1: "Remember" (the server lets the model file the lesson; a plain reply makes it keep the
    //    user's words verbatim), 2-3: "Ask" with a shell command that needs approval.
    { content: 'A fact about the project; noted.' },
    { content: 'Let me check the shell.', tool_calls: [{ name: 'run_command', arguments: { command: 'echo hi' } }] },
    { content: 'Done.' },
    // 4-5: a second "Ask" whose shell command the user denies
    { content: 'One more check.', tool_calls: [{ name: 'run_command', arguments: { command: 'echo again' } }] },
    { content: 'Understood, I did not run it.' },
    // 6: "Learn Skill" from typed text: the model proposes the skill
    {
      content: '',
      tool_calls: [
        {
          name: 'propose_skill',
          arguments: {
            name: 'greet-visitors',
            description: 'Greet aquarium visitors by name. Use when adding a new kind of greeting.',
            body: '# Greet visitors\n\n1. Add a function in greeter.py returning an f-string with the name.\n2. Keep the aquarium wording.\n',
          },
        },
      ],
    },
    // 7: "Reflect"
    { content: 'Nothing new to store.' },
    // 8: an "Ask" that runs a long command, cancelled from the progress notification
    { content: 'This takes a while.', tool_calls: [{ name: 'run_command', arguments: { command: 'sleep 60' } }] },
    { content: 'Finished waiting.' },
  ],
});
const { tmp, workspace } = scene;
let page;

// ---- the tests -----------------------------------------------------------------------------

async function main() {
  page = await H.openWorkbench(scene);

  let blockLabel;
  let rememberedVersion;

  await test('extension activates and the status bar shows agent state and model', async () => {
    const item = page.locator('.part.statusbar .statusbar-item', { hasText: 'Agent' }).first();
    await waitFor(async () => /Agent: .*scripted/.test(await item.innerText()), 'status bar "Agent: <state> · scripted"', 90000);
    await screenshot('status-bar');
  }, { critical: true });

  await test('Status shows a notification and the status markdown', async () => {
    await runCommand('LSP Agent: Status');
    const note = await waitNotification(/LSP Agent: .* · model scripted\//);
    await waitTab(/Agent Status/);
    await waitWebviewText(/\S/, 'status preview content');
    await screenshot('status');
    log(`  notification: ${note.replace(/\s+/g, ' ').slice(0, 160)}`);
    await clearNotifications();
  });

  await test('Init Workspace (static) indexes the workspace', async () => {
    await runCommand('LSP Agent: Init Workspace');
    await pickQuickPickRow((t) => t.startsWith('static'), 'depth quick pick');
    await waitNotification(/workspace initialized \(\d+ blocks, \d+ facts, \d+ files indexed\)/);
    await screenshot('init');
    await clearNotifications();
  });

  await test('Remember stores typed text in a memory block', async () => {
    await runCommand('LSP Agent: Remember...');
    await answerInput('The aquarium opens at nine; the secret word is pomegranate.', 'remember');
    const note = await waitNotification(/remembered in memory block "([^"]+)" \(version \d+\)/);
    blockLabel = /memory block "([^"]+)"/.exec(note)[1];
    rememberedVersion = Number(/\(version (\d+)\)/.exec(note)[1]);
    log(`  remembered in block ${blockLabel}`);
    await screenshot('remember');
    await clearNotifications();
  });

  await test('Show Memory renders the blocks with the remembered text', async () => {
    await runCommand('LSP Agent: Show Memory');
    await waitTab(/Agent Memory/);
    await waitWebviewText(/pomegranate/, 'memory preview containing "pomegranate"');
    await screenshot('show-memory');
  });

  await test('Search Memory lists hits and opens a block hit read-only', async () => {
    await runCommand('LSP Agent: Search Memory...');
    await answerInput('secret word pomegranate', 'Search');
    await pickQuickPickRow((t) => /memory block/.test(t) && /pomegranate/.test(t), 'a memory-block hit in the results');
    await waitTab(/Memory Block - /);
    await waitFor(async () => /pomegranate/.test(await activeEditorText()), 'block document containing "pomegranate"');
    await screenshot('search-block-hit');
  });

  await test('Search Memory opens a code hit at its range', async () => {
    await runCommand('LSP Agent: Search Memory...');
    await answerInput('greet visitor of the aquarium', 'Search');
    await pickQuickPickRow((t) => /code · /.test(t) && /greet/.test(t), 'a code hit in the results', 'search-code-results');
    await waitTab(/^greeter\.py\b/);
    await waitFor(async () => /def greet_visitor/.test(await activeEditorText()), 'greeter.py open');
    await screenshot('search-code-hit');
  });

  let sawProgress = false;
  await test('Ask (with a selection) runs the agent, asks approval in a modal, streams events, shows the answer', async () => {
    await openFile('greeter.py');
    await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+A');
    await waitFor(async () => /selected/.test(await page.locator('.part.statusbar').innerText()), 'a selection in greeter.py', 10000);
    await runCommand('LSP Agent: Ask...');
    await answerInput('Is the shell working?', 'Ask about the selection');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    const text = await dialog.innerText();
    if (!/echo hi/.test(text)) throw new Error(`approval dialog does not mention the command: ${text}`);
    const buttons = await dialog.locator('.monaco-button').allInnerTexts();
    for (const b of ['Allow', 'Always allow', 'Deny']) {
      if (!buttons.includes(b)) throw new Error(`approval dialog lacks "${b}": ${buttons.join(', ')}`);
    }
    // Server progress is shown as a notification with a Cancel button while the agent works.
    const toasts = await notificationTexts();
    sawProgress = toasts.some((t) => /LSP Agent: /.test(t) && /Cancel/.test(t));
    await screenshot('ask-approval-modal');
    await dialog.locator('.monaco-button', { hasText: /^Allow$/ }).first().click();
    await waitTab(/Agent Answer/);
    await waitWebviewText(/Done\./, 'answer preview containing "Done."');
    await screenshot('ask-answer');
    const output = await outputChannelText('LSP Agent');
    for (const needle of ['run_command', 'approval answer: Allow', 'Done.']) {
      if (!output.includes(needle)) throw new Error(`output channel lacks "${needle}":\n${output}`);
    }
    await screenshot('ask-output-channel');
  });

  await test('Ask showed the server progress as a cancellable notification', async () => {
    if (!sawProgress) throw new Error('no "LSP Agent: ..." notification with Cancel while the agent was waiting for approval');
  });

  await test('Memory History shows the versions of the block', async () => {
    await runCommand('LSP Agent: Memory History');
    await pickQuickPickRow((t) => t.trim().startsWith(blockLabel), `block "${blockLabel}" in the picker`);
    await waitTab(/Memory History - /);
    await waitWebviewText(/pomegranate|v\d|version/i, 'history preview');
    await screenshot('memory-history');
  });

  await test('Edit Memory Block: saving the document stores a new version', async () => {
    await runCommand('LSP Agent: Edit Memory Block');
    await pickQuickPickRow((t) => t.trim().startsWith(blockLabel), `block "${blockLabel}" in the picker`);
    await waitTab(new RegExp(`^${blockLabel}\\.md`));
    await waitFor(async () => /pomegranate/.test(await activeEditorText()), 'the block value in the editor');
    await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Enter');
    await page.keyboard.type('Edited from the VS Code e2e test.');
    await page.keyboard.press('Control+S');
    await waitNotification(new RegExp(`memory block "${blockLabel}" saved \\(version \\d+\\)`));
    await screenshot('edit-memory-saved');
    await runCommand('LSP Agent: Show Memory');
    await waitWebviewText(/Edited from the VS Code e2e test/, 'memory preview with the edit');
    await clearNotifications();
  });

  await test('Revert Memory Block: version picker and modal confirmation', async () => {
    await runCommand('LSP Agent: Revert Memory Block');
    await pickQuickPickRow((t) => t.trim().startsWith(blockLabel), `block "${blockLabel}" in the picker`);
    await pickQuickPickRow((t) => t.trim().startsWith(`v${rememberedVersion}`), `version v${rememberedVersion} in the picker`, 'revert-versions');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    await dialog.locator('.monaco-button', { hasText: /^Revert$/ }).first().click();
    await waitNotification(new RegExp(`reverted to version ${rememberedVersion} \\(now version \\d+\\)`));
    await runCommand('LSP Agent: Show Memory');
    await waitFor(async () => {
      const texts = await webviewTexts();
      return texts.some((t) => /pomegranate/.test(t) && !/Edited from the VS Code e2e test/.test(t));
    }, 'memory preview without the edit');
    await screenshot('revert-memory');
    await clearNotifications();
  });

  await test('New, Switch and Fork Conversation', async () => {
    await runCommand('LSP Agent: New Conversation');
    await answerInput('E2E side quest', 'Title');
    await waitNotification(/new conversation "E2E side quest"/);
    await runCommand('LSP Agent: Switch Conversation');
    await pickQuickPickRow((t) => !/E2E side quest/.test(t) && /\S/.test(t), 'another conversation in the picker', 'switch-conversation');
    await waitNotification(/switched to conversation/);
    await runCommand('LSP Agent: Fork Conversation');
    await pickQuickPickRow((t) => /Fork the active conversation/.test(t), 'the "fork the active conversation" item');
    await waitNotification(/forked into conversation/);
    await screenshot('fork-conversation');
    await clearNotifications();
  });

  await test('Ask: denying the approval in the modal refuses the command', async () => {
    await runCommand('LSP Agent: Ask...');
    await answerInput('Run it once more', 'Ask');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    if (!/echo again/.test(await dialog.innerText())) throw new Error('approval dialog does not mention "echo again"');
    await dialog.locator('.monaco-button', { hasText: /^Deny$/ }).first().click();
    await waitWebviewText(/did not run it/, 'answer preview after the denial');
    const output = await outputChannelText('LSP Agent');
    if (!output.includes('approval answer: Deny')) throw new Error(`output channel lacks the denial:\n${output}`);
    await screenshot('ask-denied');
  });

  await test('Code action "Remember this" on a selection runs through the server', async () => {
    await openFile('greeter.py');
    await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+A');
    await waitFor(async () => /selected/.test(await page.locator('.part.statusbar').innerText()), 'a selection in greeter.py', 10000);
    await clearNotifications();
    await runCommand('Refactor...');
    const row = page.locator('.action-widget .monaco-list-row', { hasText: 'Remember this' }).first();
    await row.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    await screenshot('code-actions');
    await row.click();
    // a lesson about a selection is anchored to those lines (no model call)
    await answerInput('Greetings name the aquarium.', 'What should the agent remember about this code?');
    await waitNotification(/remembered, anchored to greeter\.py:1-\d+\./);
    await screenshot('code-action-remembered');
    await clearNotifications();
  });

  // Memory at the code: hover, code lens, diagnostics and quick fixes, renames.
  await codeMemoryTests.run(H, scene, page);

  await test('Learn Skill from typed text writes the SKILL.md through workspace/applyEdit', async () => {
    await openFile('README.md'); // no selection: the skill's source is asked for
    await runCommand('LSP Agent: Learn Skill...');
    await answerInput('greet-visitors', 'Name of the skill');
    await pickQuickPickRow((t) => /From text I type/.test(t), 'the "from text" source');
    await answerInput('To greet a visitor: add a function in greeter.py that returns an f-string.', 'Describe the procedure');
    // An edit in permission mode "ask" may need approval first.
    await waitFor(async () => {
      const dialog = page.locator('.monaco-dialog-box');
      if (await dialog.isVisible().catch(() => false)) {
        await screenshot('learn-skill-approval');
        await dialog.locator('.monaco-button', { hasText: /^Allow$/ }).first().click();
      }
      // The skill is proposed with needsConfirmation: VS Code shows its Refactor Preview and
      // the skill lands only when the user presses Apply.
      const apply = page.locator('.monaco-button', { hasText: /^Apply$/ }).first();
      if (await apply.isVisible().catch(() => false)) {
        // needsConfirmation changes start unticked: tick the file's change, then Apply
        const boxes = page.locator('.monaco-list-row .edit-checkbox, .monaco-list-row .monaco-checkbox, .monaco-list-row input[type="checkbox"]');
        const n = await boxes.count();
        for (let i = 0; i < n; i++) {
          const box = boxes.nth(i);
          if (!(await box.isVisible().catch(() => false))) continue;
          const checked = (await box.getAttribute('aria-checked').catch(() => null)) === 'true'
            || (await box.isChecked().catch(() => false));
          if (!checked) await box.click();
          break; // the file row comes first; its edits follow it
        }
        await screenshot('learn-skill-refactor-preview');
        await apply.click();
      }
      const texts = await notificationTexts();
      return texts.find((t) => /learned skill "greet-visitors"/.test(t));
    }, 'the "learned skill" notification');
    const skillFile = path.join(workspace, '.agents', 'skills', 'greet-visitors', 'SKILL.md');
    await waitFor(() => fs.existsSync(skillFile), `${skillFile} on disk`, 10000);
    // The extension saves the agent's edits, so the file on disk has the content.
    let skillText = '';
    try {
      await waitFor(() => /Greet aquarium visitors/.test((skillText = fs.readFileSync(skillFile, 'utf8'))), 'SKILL.md with the description', 10000);
    } catch (e) {
      throw new Error(`${e.message}; SKILL.md on disk: ${JSON.stringify(skillText)}`);
    }
    await screenshot('learn-skill');
    await clearNotifications();
    // The notification dismissed, the result opens as a preview: wait for it, or it takes the
    // focus from the next test's palette.
    await waitTab(/Agent Skill/);
  });

  await test('Reflect reports the memory changes', async () => {
    await runCommand('LSP Agent: Reflect');
    await waitNotification(/reflection made \d+ memory changes?/);
    await waitTab(/Agent Reflection/);
    await screenshot('reflect');
    await clearNotifications();
  });

  await test('Index Code updates the code index and reports it in a notification', async () => {
    fs.writeFileSync(
      path.join(workspace, 'tanks.py'),
      'def clean_turtle_tank(day: str) -> str:\n    return f"The sea turtle tank is cleaned on {day}."\n',
    );
    await clearNotifications();
    await runCommand('LSP Agent: Index Code');
    let sawIndexProgress = false;
    const note = await waitFor(async () => {
      const texts = await notificationTexts();
      if (texts.some((t) => /LSP Agent: Index code/i.test(t))) sawIndexProgress = true;
      return texts.find((t) => /code index up to date — \d+ files? indexed, \d+ unchanged, .*\d+ chunks? embedded\./.test(t));
    }, 'the "code index up to date" notification', STEP_TIMEOUT, 100);
    log(`  notification: ${note.replace(/\s+/g, ' ').slice(0, 200)}; progress notification seen: ${sawIndexProgress}`);
    await screenshot('index-code');
    await clearNotifications();
  });

  await test('Create Memory Block asks label, description and value; Show Memory has it', async () => {
    await openFile('README.md'); // no selection: the value is asked for
    await runCommand('LSP Agent: Create Memory Block');
    await answerInput('tank-rules', 'Label of the new block');
    await answerInput('Rules for visitors at the fish tanks', 'What is the block for?');
    await answerInput('Never tap on the glass.', 'Its first value');
    await waitNotification(/created memory block "tank-rules"/);
    await runCommand('LSP Agent: Show Memory');
    await waitWebviewText(/Never tap on the glass/, 'memory preview with the new block');
    await screenshot('create-memory');
    await clearNotifications();
  });

  let passageId;
  await test('Insert Archival Passage with tags; List and Search Archival show it', async () => {
    await openFile('README.md');
    await runCommand('LSP Agent: Insert Archival Passage');
    await answerInput('The sea turtle tank is cleaned every Tuesday.', 'passage to store');
    await answerInput('tanks, schedule', 'Tags');
    // the server keeps tags lowercase and sorted
    const note = await waitNotification(/stored archival passage (\S+) \(tags: schedule, tanks\)\./);
    passageId = /archival passage (\S+) \(tags/.exec(note)[1];
    log(`  passage ${passageId}`);
    await clearNotifications();
    await runCommand('LSP Agent: List Archival Passages');
    await waitTab(/Agent Archival Memory/);
    await waitWebviewText(/sea turtle tank is cleaned every Tuesday/, 'archival list preview with the passage');
    await screenshot('archival-list');
    await runCommand('LSP Agent: Search Archival Memory');
    await answerInput('turtle tank cleaning', 'Search the passages');
    await waitTab(/Agent Archival Search/);
    // search results carry a score; the list does not
    await waitFor(
      async () => (await webviewTexts()).some((t) => /sea turtle tank/.test(t) && /score \d/.test(t)),
      'archival search preview with the passage and its score',
    );
    await screenshot('archival-search');
  });

  await test('Delete Archival Passage: the server asks in a modal; Deny keeps it, Allow deletes it', async () => {
    const pickAndAnswer = async (button) => {
      await runCommand('LSP Agent: Delete Archival Passage');
      await pickQuickPickRow((t) => /sea turtle tank/.test(t), 'the passage in the picker', `archival-delete-pick-${button}`);
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
      const text = await dialog.innerText();
      if (!/delete archival passage/i.test(text) || !/sea turtle tank/.test(text)) throw new Error(`approval dialog: ${text}`);
      await dialog.locator('.monaco-button', { hasText: new RegExp(`^${button}$`) }).first().click();
    };
    await pickAndAnswer('Deny');
    await waitNotification(/archival passage \S+ was not deleted\./);
    await clearNotifications();
    await pickAndAnswer('Allow');
    await waitNotification(new RegExp(`deleted archival passage ${passageId}\\.`));
    await screenshot('archival-deleted');
    await clearNotifications();
    // the passage is gone from the picker (or the picker has nothing left to offer)
    await runCommand('LSP Agent: Delete Archival Passage');
    await waitFor(async () => {
      if ((await notificationTexts()).some((t) => /archival memory has no passages/.test(t))) return true;
      const rows = (await page.locator('.quick-input-widget').first().isVisible()) ? await visibleRows() : [];
      const passages = rows.filter((r) => /#|\d{4}-\d\d-\d\d/.test(r.text));
      return passages.length > 0 && !passages.some((r) => /sea turtle tank/.test(r.text));
    }, 'the deleted passage to be gone');
    await closeQuickInput();
    await clearNotifications();
  });

  await test('Export Memory writes AGENTS.md, and offers Overwrite for a CLAUDE.md it did not write', async () => {
    const agentsMd = path.join(workspace, 'AGENTS.md');
    const claudeMd = path.join(workspace, 'CLAUDE.md');
    fs.writeFileSync(claudeMd, '# Notes of my own\n');
    await runCommand('LSP Agent: Export Memory (AGENTS.md / CLAUDE.md)');
    await pickQuickPickRow((t) => t.trim().startsWith('AGENTS.md'), 'AGENTS.md in the format picker', 'export-formats');
    await waitNotification(/Wrote \S*AGENTS\.md/);
    const exported = /^# AGENTS\.md — [\s\S]*Generated by lsp-agent from its memory/;
    await waitFor(() => fs.existsSync(agentsMd) && exported.test(fs.readFileSync(agentsMd, 'utf8')), 'AGENTS.md on disk, written by lsp-agent');
    await clearNotifications();
    await runCommand('LSP Agent: Export Memory (AGENTS.md / CLAUDE.md)');
    await pickQuickPickRow((t) => t.trim().startsWith('CLAUDE.md'), 'CLAUDE.md in the format picker');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    const text = await dialog.innerText();
    if (!/not written by lsp-agent/.test(text)) throw new Error(`overwrite dialog: ${text}`);
    await screenshot('export-overwrite');
    if (fs.readFileSync(claudeMd, 'utf8') !== '# Notes of my own\n') throw new Error('CLAUDE.md changed before Overwrite');
    await dialog.locator('.monaco-button', { hasText: /^Overwrite$/ }).first().click();
    await waitNotification(/Wrote \S*CLAUDE\.md/);
    await waitFor(() => /^# CLAUDE\.md — [\s\S]*Generated by lsp-agent/.test(fs.readFileSync(claudeMd, 'utf8')), 'CLAUDE.md overwritten by the export');
    await screenshot('export-written');
    await clearNotifications();
  });

  // The chat and memory views (their own model script; this one continues after them).
  await chatTests.run(H, scene, page, { blockLabel });

  await test('Cancel on the progress notification stops a long agent turn', async () => {
    await runCommand('LSP Agent: Ask...');
    await answerInput('Wait for a while', 'Ask');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    if (!/sleep 60/.test(await dialog.innerText())) throw new Error('approval dialog does not mention "sleep 60"');
    await dialog.locator('.monaco-button', { hasText: /^Always allow$/ }).first().click();
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'LSP Agent' }).filter({
      has: page.locator('.monaco-button', { hasText: /^Cancel$/ }),
    });
    await toast.first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    await page.waitForTimeout(1500); // let the command start
    await screenshot('cancel-progress');
    await toast.first().locator('.monaco-button', { hasText: /^Cancel$/ }).first().click();
    const started = Date.now();
    const item = page.locator('.part.statusbar .statusbar-item', { hasText: 'Agent' }).first();
    await waitFor(async () => !/thinking/.test(await item.innerText()), 'the agent to stop after Cancel', 25000);
    const took = (Date.now() - started) / 1000;
    log(`  turn ended ${took.toFixed(1)} s after Cancel`);
    const output = await outputChannelText('LSP Agent');
    if (!output.includes('cancel requested')) throw new Error(`output channel lacks "cancel requested":\n${output}`);
    await screenshot('cancelled');
    await clearNotifications();
  });

  await test('status bar is refreshed after commands', async () => {
    const item = page.locator('.part.statusbar .statusbar-item', { hasText: 'Agent' }).first();
    await waitFor(async () => /Agent: /.test(await item.innerText()), 'status bar text');
    await item.hover();
    await waitFor(async () => {
      const texts = await page.locator('.monaco-hover, .workbench-hover').filter({ visible: true }).allInnerTexts();
      return texts.some((t) => /memory: \d+ blocks/.test(t) && /model: .*scripted/.test(t));
    }, 'status bar tooltip with model and counts', 15000);
    await screenshot('status-tooltip');
  });

  await test('a server that cannot start gives a clear error with the fix', async () => {
    await setSetting('lspAgent.server.command', /Server: Command/, path.join(tmp, 'no-such-dir', 'lsp-agent'));
    await waitNotification(/cannot start the server .*no-such-dir.*pipx install lsp-agent/s, 'the start-failure notification');
    await waitStatusBar(/not running/, 'status bar "not running"');
    await screenshot('server-not-found');
    await clearNotifications();
  });

  // The interpreter of the lsp-agent script (its shebang), else the python beside it.
  const venvPython = (() => {
    try {
      const first = fs.readFileSync(fs.realpathSync(bin), 'utf8').split('\n', 1)[0];
      const m = /^#!\s*(\S+python\S*)\s*$/.exec(first);
      if (m && fs.existsSync(m[1])) return m[1];
    } catch {
      // not a script
    }
    return path.join(path.dirname(fs.realpathSync(bin)), 'python');
  })();
  await test('lspAgent.pythonPath: a bad interpreter names the fix, a good one starts "<python> -m lsp_agent serve"', async () => {
    await setSetting('lspAgent.pythonPath', /Python Path/, path.join(tmp, 'no-such-dir', 'python'));
    await waitNotification(/no-such-dir\/python -m lsp_agent serve.*-m pip install lsp-agent.*lspAgent\.pythonPath/s, 'the python start-failure notification');
    await screenshot('python-path-not-found');
    await clearNotifications();
    if (!fs.existsSync(venvPython)) throw new Error(`no python beside LSP_AGENT_BIN (${venvPython})`);
    await setSetting('lspAgent.pythonPath', /Python Path/, venvPython);
    await waitStatusBar(/Agent: .*scripted/, 'the status bar back to "Agent: <state> · scripted"', 90000);
    await runCommand('LSP Agent: Status');
    await waitNotification(/LSP Agent: .* · model scripted\//);
    await screenshot('python-path-running');
  });
}


H.runSuite(scene, main);

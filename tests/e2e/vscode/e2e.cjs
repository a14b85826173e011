#!/usr/bin/env node
// End-to-end test of the LSP Agent extension in a real VS Code (code-server), driven through
// its UI with Chromium via playwright-core, against the real lsp-agent server with a scripted
// model. Covers: activation and status bar; Status; Init; Remember; Show Memory; Search (block
// hit and code hit); Ask with a selection (modal approval, progress notification, streamed
// events, answer); Memory History; Edit and Revert Memory Block; New/Switch/Fork Conversation;
// a denied approval; the "Remember this" code action; Learn Skill (workspace/applyEdit); Reflect;
// Index Code; Create Memory Block; Insert / List / Search / Delete (modal approval) Archival
// Passage; Export Memory (and Overwrite of a file lsp-agent did not write);
// Cancel from the progress notification; the status bar tooltip; start failures (bad server
// command, bad lspAgent.pythonPath) and `<python> -m lsp_agent serve`.
// Run by run.sh, which provides:
//   E2E_NODE_MODULES  folder holding playwright-core and code-server
//   E2E_VSIX          the packaged extension
//   LSP_AGENT_BIN     the lsp-agent executable
//   E2E_ARTIFACTS     where screenshots and logs go (default: <repo>/test-artifacts/vscode)
// Prints "N passed, N failed" and exits non-zero on failure.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');

const repo = path.resolve(__dirname, '..', '..', '..');
const modules = process.env.E2E_NODE_MODULES;
const vsix = process.env.E2E_VSIX;
const bin = process.env.LSP_AGENT_BIN || '/work/main/.venv/bin/lsp-agent';
const artifacts = process.env.E2E_ARTIFACTS || path.join(repo, 'test-artifacts', 'vscode');
const chromiumPath = process.env.E2E_CHROMIUM || '/usr/bin/chromium';
const STEP_TIMEOUT = Number(process.env.E2E_STEP_TIMEOUT_MS || 60000);

if (!modules || !vsix) {
  console.error('e2e.cjs: run it through tests/e2e/vscode/run.sh (E2E_NODE_MODULES, E2E_VSIX unset)');
  process.exit(2);
}
const { chromium } = require(path.join(modules, 'playwright-core'));
const codeServerBin = path.join(modules, '.bin', 'code-server');

fs.rmSync(artifacts, { recursive: true, force: true });
fs.mkdirSync(artifacts, { recursive: true });

const results = [];
let shot = 0;
const log = (...a) => console.log(`[e2e ${new Date().toISOString().slice(11, 19)}]`, ...a);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitFor(fn, what, timeout = STEP_TIMEOUT, interval = 250) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
}

// ---- the scene -------------------------------------------------------------------------

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lsp-agent-vscode-e2e-'));
const workspace = path.join(tmp, 'workspace');
const userData = path.join(tmp, 'user-data');
const extensionsDir = path.join(tmp, 'extensions');
const browserProfile = path.join(tmp, 'chromium');
const store = path.join(tmp, 'store');
const scriptPath = path.join(tmp, 'script.json');
fs.mkdirSync(workspace, { recursive: true });
fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
fs.writeFileSync(
  path.join(workspace, 'greeter.py'),
  [
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
);
fs.writeFileSync(path.join(workspace, 'README.md'), '# Aquarium\n\nGreets visitors of the aquarium.\n');
spawnSync('git', ['init', '-q'], { cwd: workspace });
fs.writeFileSync(
  scriptPath,
  JSON.stringify({
    // 1: "Remember" (the server lets the model file the lesson; a plain reply makes it keep the
    //    user's words verbatim), 2-3: "Ask" with a shell command that needs approval.
    responses: [
      { content: 'A fact about the project; noted.' },
      { content: 'Let me check the shell.', tool_calls: [{ name: 'run_command', arguments: { command: 'echo hi' } }] },
      { content: 'Done.' },
      // 4-5: a second "Ask" whose shell command the user denies
      { content: 'One more check.', tool_calls: [{ name: 'run_command', arguments: { command: 'echo again' } }] },
      { content: 'Understood, I did not run it.' },
      // 6: "Remember this" code action
      { content: 'Noted.' },
      // 7: "Learn Skill" from typed text: the model proposes the skill
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
      // 8: "Reflect"
      { content: 'Nothing new to store.' },
      // 9: an "Ask" that runs a long command, cancelled from the progress notification
      { content: 'This takes a while.', tool_calls: [{ name: 'run_command', arguments: { command: 'sleep 60' } }] },
      { content: 'Finished waiting.' },
    ],
  }),
);
// The server is started through a wrapper that copies its stderr into the artifacts.
const serverWrapper = path.join(tmp, 'lsp-agent-wrapper.sh');
fs.writeFileSync(
  serverWrapper,
  `#!/bin/bash\nexec ${JSON.stringify(bin)} "$@" 2> >(tee -a ${JSON.stringify(path.join(artifacts, 'server-stderr.log'))} >&2)\n`,
  { mode: 0o755 },
);
const settings = {
  'lspAgent.server.command': serverWrapper,
  'lspAgent.model': `scripted/${scriptPath}`,
  'lspAgent.store': store,
  'lspAgent.permissionMode': 'ask',
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'workbench.colorTheme': 'Default Light Modern',
  'window.restoreWindows': 'none',
  'files.hotExit': 'off',
  'git.enabled': false,
  'editor.minimap.enabled': false,
};
fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));

// ---- code-server ---------------------------------------------------------------------------

let server;
let browser;

async function startCodeServer() {
  const install = spawnSync(
    codeServerBin,
    ['--user-data-dir', userData, '--extensions-dir', extensionsDir, '--install-extension', vsix, '--force'],
    { encoding: 'utf8', timeout: 120000 },
  );
  fs.writeFileSync(path.join(artifacts, 'install-extension.log'), `${install.stdout}\n${install.stderr}`);
  if (install.status !== 0) throw new Error(`--install-extension failed: ${install.stderr || install.stdout}`);
  const port = await freePort();
  const logFile = fs.openSync(path.join(artifacts, 'code-server.log'), 'w');
  server = spawn(
    codeServerBin,
    [
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--user-data-dir', userData,
      '--extensions-dir', extensionsDir,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      workspace,
    ],
    { stdio: ['ignore', logFile, logFile], detached: true, env: { ...process.env, SHELL: '/bin/bash' } },
  );
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
  await waitFor(
    () =>
      new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.end();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    'code-server to listen',
    60000,
  );
  return url;
}

function stopAll() {
  if (server && server.exitCode === null) {
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
}
process.on('exit', stopAll);
process.on('SIGINT', () => {
  stopAll();
  process.exit(130);
});

// ---- UI helpers ----------------------------------------------------------------------------

let page;

async function screenshot(name) {
  shot += 1;
  const file = path.join(artifacts, `${String(shot).padStart(2, '0')}-${name}.png`);
  try {
    await page.waitForTimeout(400); // let fades and animations settle
    await page.screenshot({ path: file });
  } catch (e) {
    log(`screenshot ${name} failed: ${e.message}`);
  }
  return file;
}

async function closeQuickInput() {
  // Escape only when a quick input is open: in an editor it would clear the selection.
  if (await page.locator('.quick-input-widget').first().isVisible().catch(() => false)) {
    await page.keyboard.press('Escape');
  }
}

async function runCommand(title) {
  await closeQuickInput();
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  // The exact title must be the focused (first) row before Enter.
  await waitFor(
    async () => {
      const focused = page.locator('.quick-input-list .monaco-list-row.focused');
      return (await focused.count()) > 0 && (await focused.first().innerText()).includes(title);
    },
    `palette row "${title}" focused`,
    10000,
  );
  // Enter can get lost while the palette is still filtering: retry until the palette has
  // handed over (closed, or replaced by the command's own input).
  for (let attempt = 0; attempt < 3; attempt++) {
    await page.keyboard.press('Enter');
    try {
      await waitFor(
        async () => !(await input.first().isVisible()) || (await input.first().inputValue()) !== `>${title}`,
        'the palette to run the command',
        3000,
        100,
      );
      return;
    } catch {
      log(`  palette did not take Enter for "${title}", retrying`);
    }
  }
  throw new Error(`the command palette did not run "${title}"`);
}

/** Types into the open input box (the quick input used by showInputBox) and accepts. */
async function answerInput(text, promptIncludes) {
  const widget = page.locator('.quick-input-widget');
  await waitFor(
    async () => (await widget.isVisible()) && (!promptIncludes || (await widget.innerText()).includes(promptIncludes)),
    `input box${promptIncludes ? ` "${promptIncludes}"` : ''}`,
  );
  const input = page.locator('.quick-input-widget input');
  await input.fill(text);
  await page.keyboard.press('Enter');
}

async function quickPickRows() {
  const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  return rows.allInnerTexts();
}

const ROW_SELECTOR = '.quick-input-widget .quick-input-list .monaco-list-row';

/** Visible quick-pick rows in list order (the DOM order of a virtual list is not the visual one). */
async function visibleRows() {
  const rows = await page.$$eval(ROW_SELECTOR, (els) =>
    els
      .filter((e) => e.offsetParent !== null && e.getClientRects().length > 0)
      .map((e) => ({ index: Number(e.getAttribute('data-index')), text: e.innerText.replace(/\u00a0/g, ' ') })),
  );
  return rows.sort((x, y) => x.index - y.index);
}

async function pickQuickPickRow(predicate, what, screenshotName) {
  let seen = [];
  let row;
  try {
    row = await waitFor(async () => {
      if (!(await page.locator('.quick-input-widget').first().isVisible())) return false;
      const rows = await visibleRows();
      seen = rows.map((r) => r.text);
      return rows.find((r) => predicate(r.text)) || false;
    }, what);
  } catch (e) {
    throw new Error(`${e.message}; rows seen: ${JSON.stringify(seen)}`);
  }
  if (screenshotName) await screenshot(screenshotName);
  await page.locator(`${ROW_SELECTOR}[data-index="${row.index}"]`).filter({ visible: true }).first().click();
}

async function notificationTexts() {
  return page.locator('.notifications-toasts .notification-toast').allInnerTexts();
}

async function waitNotification(re, what) {
  return waitFor(async () => {
    const texts = await notificationTexts();
    return texts.find((t) => re.test(t));
  }, what || `notification ${re}`);
}

async function clearNotifications() {
  try {
    await closeQuickInput();
    const toasts = page.locator('.notifications-toasts .notification-toast');
    const n = await toasts.count();
    for (let i = 0; i < n; i++) {
      const close = page.locator('.notifications-toasts .notification-toast .codicon-notifications-clear').first();
      if (await close.count()) await close.click({ timeout: 1000 }).catch(() => undefined);
    }
  } catch {
    // best effort
  }
}

async function tabTitles() {
  const tabs = page.locator('.tabs-container .tab');
  const out = [];
  for (let i = 0; i < (await tabs.count()); i++) {
    const label = (await tabs.nth(i).getAttribute('aria-label')) || (await tabs.nth(i).innerText());
    out.push(label.replace(/\u00a0/g, ' ').trim());
  }
  return out;
}

async function waitTab(re, what) {
  let seen = [];
  try {
    return await waitFor(async () => (seen = await tabTitles()).find((t) => re.test(t)), what || `editor tab ${re}`);
  } catch (e) {
    throw new Error(`${e.message}; tabs seen: ${JSON.stringify(seen)}`);
  }
}

/** Text of all webview frames (markdown previews live in nested iframes). */
async function webviewTexts() {
  const out = [];
  for (const frame of page.frames()) {
    if (frame === page.mainFrame()) continue;
    try {
      const body = await frame.locator('body').innerText({ timeout: 500 });
      if (body && body.trim()) out.push(body);
    } catch {
      // detached or not ready
    }
  }
  return out;
}

async function waitWebviewText(re, what) {
  return waitFor(async () => (await webviewTexts()).find((t) => re.test(t)), what || `webview text ${re}`);
}

async function activeEditorText() {
  const editor = page.locator('.editor-group-container.active .monaco-editor .view-lines').first();
  return (await editor.innerText({ timeout: 2000 })).replace(/\u00a0/g, ' ');
}

async function outputChannelText(channel) {
  // Opens the output channel via our command, then reads the output editor.
  await runCommand(channel === 'LSP Agent' ? 'LSP Agent: Show Output' : 'Output: Show Output Channels');
  const view = page.locator('.part.panel .monaco-editor .view-lines').first();
  await view.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  return (await view.innerText()).replace(/\u00a0/g, ' ');
}

let abortRest;

async function activeTabLabel() {
  return (await page.locator('.editor-group-container.active .tabs-container .tab.active').first().getAttribute('aria-label').catch(() => '')) || '';
}

/** Opens a workspace file by clicking it in the Explorer (Quick Open as a fallback). */
async function openFile(name) {
  await closeQuickInput();
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
  if (await row.isVisible().catch(() => false)) {
    await row.click();
  } else {
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    await input.fill(name);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().click();
  }
  let seen = '';
  try {
    await waitFor(async () => (seen = await activeTabLabel()).startsWith(name), `${name} as the active editor`, 20000);
  } catch (e) {
    throw new Error(`${e.message}; active tab: ${JSON.stringify(seen)}`);
  }
  await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
}

async function waitStatusBar(re, what, timeout = 30000) {
  const item = page.locator('.part.statusbar .statusbar-item', { hasText: 'Agent' }).first();
  return waitFor(async () => re.test(await item.innerText()), what, timeout);
}

/** Sets a user setting through the Settings editor, as a user would. */
async function setSetting(key, titleRe, value) {
  await runCommand('Preferences: Open User Settings');
  await page.locator('.settings-editor').waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await page.locator('.settings-editor .suggest-input-container .monaco-editor').first().click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(key);
  const item = page.locator('.settings-editor .setting-item-contents').filter({ visible: true }).filter({ hasText: titleRe }).first();
  await item.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  const input = item.locator('input.input').first();
  await input.fill(value);
  await page.keyboard.press('Tab');
  await screenshot(`setting-${key.replace(/[^a-z]+/gi, '-')}`);
  // The Settings editor opens as an overlay here: close it so the palette works again.
  await page.waitForTimeout(700);
  await page.keyboard.press('Escape');
  const settings = page.locator('.settings-editor');
  try {
    await settings.first().waitFor({ state: 'hidden', timeout: 3000 });
  } catch {
    await page.keyboard.press('Control+W');
    await settings.first().waitFor({ state: 'hidden', timeout: 5000 }).catch(() => log('  settings editor still open'));
  }
}

async function test(name, fn, { critical = false } = {}) {
  const started = Date.now();
  if (abortRest) {
    results.push({ name, ok: false, error: new Error(`not run: ${abortRest}`) });
    log(`SKIP (counted as failed) ${name}`);
    return;
  }
  try {
    await fn();
    results.push({ name, ok: true });
    log(`PASS ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    results.push({ name, ok: false, error });
    log(`FAIL ${name}: ${error && error.message}`);
    await screenshot(`FAIL-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`);
    if (critical) abortRest = `"${name}" failed`;
  }
  await closeQuickInput().catch(() => undefined);
}

// ---- the tests -----------------------------------------------------------------------------

async function main() {
  log(`lsp-agent: ${bin}`);
  log(`workspace: ${workspace}`);
  const url = await startCodeServer();
  browser = await chromium.launchPersistentContext(browserProfile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  page = browser.pages()[0] || (await browser.newPage());
  const consoleLog = fs.createWriteStream(path.join(artifacts, 'browser-console.log'));
  page.on('console', (m) => consoleLog.write(`[${m.type()}] ${m.text()}\n`));
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 120000 });
  await page.locator('.part.statusbar').waitFor({ state: 'visible', timeout: 60000 });
  log('workbench loaded');

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
    await waitNotification(/remembered in memory block "[^"]+" \(version \d+\)/);
    await screenshot('code-action-remembered');
    await clearNotifications();
  });

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

(async () => {
  const started = Date.now();
  let fatal;
  try {
    await main();
  } catch (error) {
    fatal = error;
    log(`setup failed: ${error && error.stack}`);
    if (page) await screenshot('FATAL');
  }
  try {
    if (browser) await browser.close();
  } catch {
    // ignore
  }
  stopAll();
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed + (fatal ? 1 : 0);
  for (const r of results.filter((x) => !x.ok)) console.log(`FAILED: ${r.name}\n  ${r.error && r.error.stack}`);
  const total = process.env.E2E_STARTED_AT ? ` (${Math.round(Date.now() / 1000 - Number(process.env.E2E_STARTED_AT))} s with installs and build)` : '';
  log(`finished in ${((Date.now() - started) / 1000).toFixed(0)} s${total}; artifacts in ${artifacts}`);
  if (!process.env.E2E_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
})();

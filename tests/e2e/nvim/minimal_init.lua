-- Minimal, isolated config for the lsp-agent e2e test (no user config, no other plugins).
vim.g.loaded_python3_provider = 0
vim.g.loaded_ruby_provider = 0
vim.g.loaded_perl_provider = 0
vim.g.loaded_node_provider = 0
vim.o.swapfile = false
vim.o.shadafile = "NONE"
vim.o.more = false
if os.getenv("LSP_AGENT_E2E_DEBUG") then vim.lsp.set_log_level("debug") end

if os.getenv("LSP_AGENT_E2E_LEGACY") == "1" then
  vim.g.lsp_agent_legacy = true -- exercise the Neovim 0.10 (vim.lsp.start) code path
end

local repo = assert(os.getenv("LSP_AGENT_REPO"), "LSP_AGENT_REPO not set")
vim.opt.runtimepath:prepend(repo .. "/editors/nvim")
vim.cmd("runtime plugin/lsp_agent.lua")

local tmp = assert(os.getenv("LSP_AGENT_E2E_DIR"), "LSP_AGENT_E2E_DIR not set")
require("lsp_agent").setup({
  -- default cmd { "lsp-agent", "serve" }: run.sh puts the binary under test on PATH
  settings = {
    model = "scripted/" .. tmp .. "/script.json",
    store = tmp .. "/store",
    embedder = os.getenv("LSP_AGENT_E2E_EMBEDDER") or "default",
    permissionMode = "ask",
    reflection = { idleSeconds = 3600, everyTurns = 1000 },
  },
  trust = true, -- the trust tests switch it to false and "prompt"
  ui = { output = "float" },
  progress = "notify",
})

-- Options of the lsp-agent Neovim plugin and their defaults.
local M = {}

M.defaults = {
  -- LSP client name (also the name given to vim.lsp.config / vim.lsp.enable).
  name = "lsp_agent",
  -- How to start the server (stdio).
  cmd = { "lsp-agent", "serve" },
  -- Files/dirs marking a workspace root; the current directory is used when none is found.
  root_markers = {
    ".git",
    ".hg",
    "pyproject.toml",
    "setup.py",
    "package.json",
    "Cargo.toml",
    "go.mod",
    "pom.xml",
    "build.gradle",
    "Makefile",
    ".lsp-agent",
  },
  -- nil: attach to every file buffer; or a list of filetypes.
  filetypes = nil,
  -- Start the server automatically for file buffers (false: only on the first :LspAgent).
  autostart = true,
  -- Sent as initializationOptions and answered for workspace/configuration section `lspAgent`.
  -- Keys (all optional): model, reflectionModel, embedder, codeEmbedder, store, teamStore, permissionMode, maxSteps,
  -- maxTokensPerTurn, turnTimeoutSeconds, reflection = { idleSeconds, everyTurns }.
  settings = {},
  -- Workspace trust, sent as `trustWorkspace`: "prompt" asks once per workspace folder through
  -- Neovim's trust database (vim.secure, 0.11+; :trust / :trust ++deny change the answer),
  -- true / false decide for every folder, or a function(root) -> boolean. Untrusted, the agent
  -- imports none of the folder's files into memory, loads none of its skills and never runs
  -- in permissionMode "auto".
  trust = "prompt",
  ui = {
    -- Where command results go: "float" or "split" (a scratch buffer in a split).
    output = "float",
    -- Max size of the float, as a fraction of the editor.
    float_width = 0.8,
    float_height = 0.8,
    border = "rounded",
    -- Open the quickfix window after :LspAgent search.
    open_quickfix = true,
  },
  -- :LspAgent chat: a transcript in a split on the right, a prompt area below it.
  chat = {
    -- Width of the chat: a fraction of the editor's columns, or columns.
    width = 0.4,
    prompt_height = 6,
    -- Start in insert mode in the prompt area when the chat opens.
    start_insert = true,
    keys = {
      send = "<CR>", -- normal mode, in the prompt area
      send_insert = "<C-s>", -- insert and normal mode, in the prompt area
      stop = "<C-c>", -- stop the running turn (transcript and prompt area)
      close = "q", -- close the chat windows (the conversation stays)
    },
  },
  -- Progress reports ($/progress): "notify" (begin/end via vim.notify, reports echoed),
  -- "echo", or false.
  progress = "notify",
  events = {
    -- Append every lspAgent/event to the agent log buffer (:LspAgent log).
    log = true,
    -- Event types also shown with vim.notify.
    notify = { "error", "tool_call" },
    -- Optional callback(event_params, client_id) for each event.
    on_event = nil,
  },
  -- Memory at the code: "N memories" code lenses above symbols with anchored memories (and
  -- size / prompt cost on memory mirror files), refreshed on attach, BufEnter, InsertLeave,
  -- BufWritePost and when the server asks (workspace/codeLens/refresh).
  codelens = true,
  -- Stale and lost memories as diagnostics (source "lsp-agent") with quick fixes; pulled
  -- (textDocument/diagnostic) and pulled again when the server asks (workspace/diagnostic/refresh).
  diagnostics = true,
  -- Write the buffers an agent edit (workspace/applyEdit) changed, so that files on disk match
  -- what the agent sees (buffers with unsaved changes of yours are left alone).
  save_edits = true,
  -- Extra on_attach(client, bufnr) for the LSP client.
  on_attach = nil,
  -- Extra capabilities merged into the client capabilities.
  capabilities = nil,
}

M.options = vim.deepcopy(M.defaults)

function M.set(opts)
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  -- Lists replace, they don't merge by index.
  if opts and opts.cmd then
    M.options.cmd = opts.cmd
  end
  if opts and opts.root_markers then
    M.options.root_markers = opts.root_markers
  end
  if opts and opts.events and opts.events.notify then
    M.options.events.notify = opts.events.notify
  end
  return M.options
end

-- JSON-encodes as an object even when empty (an empty Lua table would become `[]`).
local function as_object(t)
  if type(t) ~= "table" then
    return t
  end
  if vim.islist(t) and #t > 0 then
    local out = {}
    for i, v in ipairs(t) do
      out[i] = as_object(v)
    end
    return out
  end
  local out = {}
  for k, v in pairs(t) do
    out[k] = as_object(v)
  end
  if next(out) == nil then
    return vim.empty_dict()
  end
  return out
end
M.as_object = as_object

-- The `lspAgent` settings section, ready to be sent.
function M.settings()
  return as_object(M.options.settings or {})
end

return M

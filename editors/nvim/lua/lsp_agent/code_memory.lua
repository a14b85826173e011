-- Memory at the code, the Neovim side: the server's code lenses shown and kept fresh, its
-- pulled diagnostics (stale memories) kept fresh, and "Remember this" asking for the lesson.
-- Neovim 0.11 pulls diagnostics itself on open and change but neither refreshes code lenses
-- nor answers `workspace/codeLens/refresh` or `workspace/diagnostic/refresh`: that is done here.
local config = require("lsp_agent.config")

local M = {}

local function request(client, method, params, handler, bufnr)
  if require("lsp_agent").has_011 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

-- A stopping client's server answers nothing but `exit` (restarts, quitting).
local function stopped(client)
  if require("lsp_agent").has_011 then
    return client:is_stopped()
  end
  return client.is_stopped()
end

local function buffers_of(client)
  local out = {}
  for bufnr in pairs(client.attached_buffers or {}) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      table.insert(out, bufnr)
    end
  end
  return out
end

-- Asks for the lenses of `bufnr` from `client` only (vim.lsp.codelens.refresh asks every
-- client, and drops a refresh while one is running: a server's refresh must not be dropped).
function M.refresh_lenses(client, bufnr)
  if config.options.codelens == false or not client.server_capabilities.codeLensProvider or stopped(client) then
    return
  end
  request(client, "textDocument/codeLens", { textDocument = { uri = vim.uri_from_bufnr(bufnr) } },
    vim.lsp.codelens.on_codelens, bufnr)
end

-- Pulls the diagnostics of `bufnr` (shown by Neovim's own handler, in the pull namespace).
function M.pull_diagnostics(client, bufnr)
  if config.options.diagnostics == false or not client.server_capabilities.diagnosticProvider or stopped(client) then
    return
  end
  request(client, "textDocument/diagnostic", { textDocument = { uri = vim.uri_from_bufnr(bufnr) } },
    vim.lsp.diagnostic.on_diagnostic, bufnr)
end

-- Lenses and diagnostics of every buffer of `client` again (after a command changed memory).
function M.refresh(client)
  for _, bufnr in ipairs(buffers_of(client)) do
    M.refresh_lenses(client, bufnr)
    M.pull_diagnostics(client, bufnr)
  end
end

-- Memory folders (where blocks' mirror files are) -> the root of their workspace, learnt from
-- results (status, memory.show): a mirror file opened later goes to its workspace's server,
-- which shows its size and prompt cost, wherever the store is.
local mirror_roots = {}

local function learn_mirrors(data, client)
  if type(data) ~= "table" or not client.root_dir then
    return
  end
  local folders = { data.memory_folder }
  for _, b in ipairs(type(data.blocks) == "table" and data.blocks or {}) do
    if type(b) == "table" and type(b.mirror_path) == "string" and b.mirror_path ~= "" then
      table.insert(folders, vim.fn.fnamemodify(b.mirror_path, ":h"))
    end
  end
  for _, folder in ipairs(folders) do
    if type(folder) == "string" and folder ~= "" then
      mirror_roots[vim.fs.normalize(folder)] = client.root_dir
    end
  end
end

-- The workspace root of a memory mirror file (nil for any other file).
function M.mirror_root(fname)
  return mirror_roots[vim.fs.normalize(vim.fn.fnamemodify(fname, ":p:h"))]
end

-- After a command (it may have anchored, kept or forgotten a memory, or changed a block whose
-- mirror file is open): refresh once, whatever number of commands just ended.
local pending = {}
function M.after_command(client, data)
  learn_mirrors(data, client)
  if pending[client.id] then
    return
  end
  pending[client.id] = true
  vim.defer_fn(function()
    pending[client.id] = nil
    local c = vim.lsp.get_client_by_id(client.id)
    if c then
      M.refresh(c)
    end
  end, 50)
end

-- Capabilities: the refresh requests we answer.
function M.capabilities(caps)
  caps.workspace = caps.workspace or {}
  if config.options.codelens ~= false then
    caps.workspace.codeLens = { refreshSupport = true }
  end
  if config.options.diagnostics ~= false then
    caps.workspace.diagnostics = { refreshSupport = true }
  end
  return caps
end

local function on_refresh(what)
  return function(_, _, ctx)
    local client = vim.lsp.get_client_by_id(ctx.client_id)
    if client then
      for _, bufnr in ipairs(buffers_of(client)) do
        what(client, bufnr)
      end
    end
    return vim.NIL
  end
end

local function ignore()
  return vim.NIL
end

-- Handlers of the client: refreshes; with `diagnostics = false` the server's diagnostics
-- (pulled by Neovim itself, or pushed) are not shown.
function M.handlers(handlers)
  handlers["workspace/codeLens/refresh"] = on_refresh(M.refresh_lenses)
  handlers["workspace/diagnostic/refresh"] = on_refresh(M.pull_diagnostics)
  if config.options.diagnostics == false then
    handlers["textDocument/diagnostic"] = ignore
    handlers["textDocument/publishDiagnostics"] = ignore
  end
  return handlers
end

-- on_attach: lenses now and whenever the buffer is entered, left in insert mode or written.
function M.on_attach(client, bufnr)
  if config.options.codelens == false then
    return
  end
  M.refresh_lenses(client, bufnr)
  local group = vim.api.nvim_create_augroup("lsp_agent_lens_" .. bufnr, { clear = true })
  vim.api.nvim_create_autocmd({ "BufEnter", "InsertLeave", "BufWritePost" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      local c = vim.lsp.get_client_by_id(client.id)
      if c and c.attached_buffers[bufnr] then
        M.refresh_lenses(c, bufnr)
      end
    end,
  })
end

M.REMEMBER_PROMPT = "What should the agent remember about this code?"

-- Asks for the lesson about some code, then send(lesson); an empty answer cancels.
function M.ask_lesson(send)
  vim.ui.input({ prompt = M.REMEMBER_PROMPT .. " " }, function(lesson)
    lesson = vim.trim(lesson or "")
    if lesson ~= "" then
      send(lesson)
    end
  end)
end

-- The client-side `lspAgent.remember` of "Remember this": with `at` (the selection's lines) the
-- selected code is not the lesson: ask for it (an empty answer cancels) and anchor it there.
function M.remember_command(command, ctx)
  local args = command.arguments and command.arguments[1] or {}
  local opts = { client_id = ctx and ctx.client_id, bufnr = ctx and ctx.bufnr }
  if type(args) ~= "table" or type(args.at) ~= "string" then
    return require("lsp_agent").execute(command.command, args, opts)
  end
  M.ask_lesson(function(lesson)
    require("lsp_agent").execute(command.command, { uri = args.uri, text = lesson, at = args.at }, opts)
  end)
end

return M

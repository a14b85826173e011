-- lsp-agent for Neovim: registers the `lsp-agent serve` language server and relays
-- :LspAgent commands to it (workspace/executeCommand). No agent logic lives here.
local config = require("lsp_agent.config")
local ui = require("lsp_agent.ui")
local handlers = require("lsp_agent.handlers")
local messages = require("lsp_agent.messages")
local results = require("lsp_agent.results")

local M = {}

M.commands_list = {
  "lspAgent.init",
  "lspAgent.remember",
  "lspAgent.search",
  "lspAgent.learnSkill",
  "lspAgent.ask",
  "lspAgent.reflect",
  "lspAgent.memory.show",
  "lspAgent.memory.edit",
  "lspAgent.memory.history",
  "lspAgent.memory.revert",
  "lspAgent.conversation.new",
  "lspAgent.conversation.list",
  "lspAgent.conversation.switch",
  "lspAgent.conversation.fork",
  "lspAgent.status",
}

-- Last executeCommand outcome: { command, args, err, result, client_id, seq }.
M.last = nil
M.seq = 0
-- In-flight requests: "client_id:request_id" -> { client_id, id, command, finish }.
M.pending = {}
M._setup_done = false

-- vim.g.lsp_agent_legacy = true forces the Neovim 0.10 code path (used by the tests).
local has_011 = vim.fn.has("nvim-0.11") == 1 and not vim.g.lsp_agent_legacy
M.has_011 = has_011

---------------------------------------------------------------------------
-- Compat helpers (0.10 uses client.request(...), 0.11 client:request(...))
---------------------------------------------------------------------------

local function client_request(client, method, params, handler, bufnr)
  if has_011 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function client_request_sync(client, method, params, timeout, bufnr)
  if has_011 then
    return client:request_sync(method, params, timeout, bufnr)
  end
  return client.request_sync(method, params, timeout, bufnr)
end

local function client_cancel(client, id)
  if has_011 then
    return client:cancel_request(id)
  end
  return client.cancel_request(id)
end

---------------------------------------------------------------------------
-- Roots and client configuration
---------------------------------------------------------------------------

function M.root_for(bufnr)
  bufnr = bufnr or 0
  local name = vim.api.nvim_buf_get_name(bufnr)
  local root
  if name ~= "" and not name:match("^%a[%w+.-]*://") then
    root = vim.fs.root(bufnr, config.options.root_markers)
  else
    root = vim.fs.root(vim.fn.getcwd(), config.options.root_markers)
  end
  return root or vim.fn.getcwd()
end

M.is_trusted = handlers.is_trusted
M.reset_trust = handlers.reset_trust
M.settings_for = handlers.settings_for
local settings_for = handlers.settings_for

-- The client configuration (without root_dir).
function M.client_config()
  return require("lsp_agent.client_config").build()
end

-- Starts (or reuses) the client for a buffer; returns the client id.
function M.start(bufnr, opts)
  opts = opts or {}
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local cfg
  if has_011 and vim.lsp.config and M._setup_done then
    local ok, resolved = pcall(function()
      return vim.lsp.config[config.options.name]
    end)
    cfg = ok and resolved and vim.deepcopy(resolved) or nil
  end
  cfg = cfg or M.client_config()
  cfg.name = config.options.name
  cfg.root_markers = nil
  cfg.root_dir = opts.root_dir or M.root_for(bufnr)
  local attach = opts.attach
  if attach == nil then
    attach = vim.bo[bufnr].buftype == "" and vim.api.nvim_buf_get_name(bufnr) ~= ""
  end
  if not attach and not has_011 and vim.lsp.start_client then
    -- 0.10's vim.lsp.start has no `attach` option: reuse or start without attaching.
    for _, c in ipairs(vim.lsp.get_clients({ name = cfg.name })) do
      if c.config.root_dir == cfg.root_dir then
        return c.id
      end
    end
    return vim.lsp.start_client(cfg)
  end
  return vim.lsp.start(cfg, { bufnr = bufnr, attach = attach })
end

local function get_clients(filter)
  filter = filter or {}
  filter.name = config.options.name
  return vim.lsp.get_clients(filter)
end
M.get_clients = get_clients

-- The client for the current buffer/directory (nil if none runs).
function M.client(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local attached = get_clients({ bufnr = bufnr })
  if attached[1] then
    return attached[1]
  end
  local all = get_clients()
  if #all == 0 then
    return nil
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  local is_file = vim.bo[bufnr].buftype == "" and name ~= "" and not name:match("^%a[%w+.-]*://")
  local path = vim.fs.normalize(is_file and name or vim.fn.getcwd())
  local best, best_len = nil, -1
  for _, c in ipairs(all) do
    local root = c.root_dir and vim.fs.normalize(c.root_dir)
    if root and (path == root or path:sub(1, #root + 1) == root .. "/") and #root > best_len then
      best, best_len = c, #root
    end
  end
  if best then
    return best
  end
  -- A file outside every running workspace gets its own client; from a scratch/special buffer
  -- outside them all, the only running client is the natural choice.
  if not is_file and #all == 1 then
    return all[1]
  end
  return nil
end

-- Calls cb(client) once a client is running and initialized (starting one if needed).
function M.with_client(cb, opts)
  opts = opts or {}
  local client = opts.client_id and vim.lsp.get_client_by_id(opts.client_id) or M.client(opts.bufnr)
  if not client then
    local id = M.start(opts.bufnr or 0)
    client = id and vim.lsp.get_client_by_id(id)
    if not client then
      vim.notify("lsp-agent: could not start the server (" .. table.concat(config.options.cmd, " ") .. ")", vim.log.levels.ERROR)
      return
    end
  end
  if client.initialized then
    return cb(client)
  end
  local waited = 0
  local function poll()
    if client.initialized then
      return cb(client)
    end
    if (has_011 and client:is_stopped() or (not has_011 and client.is_stopped())) or waited > 60000 then
      vim.notify("lsp-agent: the server did not initialize", vim.log.levels.ERROR)
      return
    end
    waited = waited + 50
    vim.defer_fn(poll, 50)
  end
  poll()
end

---------------------------------------------------------------------------
-- Running commands
---------------------------------------------------------------------------

-- Sends workspace/executeCommand. opts: { client_id, bufnr, on_result(result, client),
-- on_error(err), on_request(request_id, client) (to cancel it), render = false (skip the
-- default display) }. Returns nothing; results arrive asynchronously.
function M.execute(command, args, opts)
  opts = opts or {}
  args = args or {}
  M.with_client(function(client)
    local params = {
      command = command,
      arguments = { config.as_object(args) },
    }
    M.seq = M.seq + 1
    local seq = M.seq
    local req_id
    local done = false
    local function finish(err, result)
      if done then
        return
      end
      done = true
      if req_id then
        M.pending[client.id .. ":" .. req_id] = nil
      end
      M.last = { command = command, args = args, err = err, result = result, client_id = client.id, seq = seq }
      if err then
        if opts.on_error then
          opts.on_error(err)
        else
          vim.notify(messages.error(command, err))
        end
        return
      end
      if type(result) ~= "table" then
        result = { ok = true, data = result, markdown = "" }
      end
      if type(result.data) == "table" and command == "lspAgent.memory.show" then
        M._remember_labels(result.data.blocks)
      end
      if type(result.data) == "table" and command == "lspAgent.conversation.list" then
        M._remember_conversations(result.data.conversations)
      end
      if opts.on_result then
        opts.on_result(result, client)
      end
      if opts.render ~= false then
        results.show(command, result, args, client)
      end
    end
    local ok, rid = client_request(client, "workspace/executeCommand", params, function(err, result)
      finish(err, result)
    end, opts.bufnr or vim.api.nvim_get_current_buf())
    if ok and rid then
      req_id = rid
      -- Neovim drops RequestCancelled responses without calling the handler: cancel() and the
      -- LspRequest autocmd (setup) finish such requests themselves.
      M.pending[client.id .. ":" .. rid] = { client_id = client.id, id = rid, command = command, finish = finish }
      if opts.on_request then
        opts.on_request(rid, client)
      end
    elseif not ok then
      vim.notify("lsp-agent: could not reach the server to run " .. messages.words(command)
        .. " (:LspInfo shows why; :LspRestart restarts it).", vim.log.levels.ERROR)
    end
  end, opts)
end

-- Cancels one request of ours (the chat's stop): the server ends the turn as cancelled.
function M.cancel_request(client, id)
  client_cancel(client, id)
end

-- Synchronous variant (for completion/health). Returns result, err.
function M.execute_sync(command, args, timeout_ms, client)
  client = client or M.client()
  if not client or not client.initialized then
    return nil, "no lsp-agent client running"
  end
  local resp, err = client_request_sync(client, "workspace/executeCommand", {
    command = command,
    arguments = { config.as_object(args or {}) },
  }, timeout_ms or 1000, vim.api.nvim_get_current_buf())
  if not resp then
    return nil, err or "timeout"
  end
  if resp.err then
    return nil, resp.err.message or vim.inspect(resp.err)
  end
  return resp.result, nil
end

-- Cancels every in-flight lsp-agent request (and its work-done progress).
function M.cancel()
  local n = 0
  for _, entry in pairs(ui.progress) do
    local client = entry.client_id and vim.lsp.get_client_by_id(entry.client_id)
    if client and entry.token ~= nil then
      if has_011 then
        client:notify("window/workDoneProgress/cancel", { token = entry.token })
      else
        client.notify("window/workDoneProgress/cancel", { token = entry.token })
      end
    end
  end
  for key, p in pairs(M.pending) do
    local client = vim.lsp.get_client_by_id(p.client_id)
    if client then
      client_cancel(client, p.id)
      n = n + 1
    end
    M.pending[key] = nil
    if p.finish then
      p.finish({ code = -32800, message = "Request cancelled" })
    end
  end
  vim.notify(string.format("lsp-agent: cancelled %d request%s", n, n == 1 and "" or "s"))
end

-- Caches for completion.
M._labels = {}
M._conversations = {}
function M._remember_labels(blocks)
  if type(blocks) ~= "table" then
    return
  end
  local labels = {}
  for _, b in ipairs(blocks) do
    if type(b) == "table" and b.label then
      table.insert(labels, b.label)
    end
  end
  if #labels > 0 then
    M._labels = labels
  end
end
function M._remember_conversations(convs)
  if type(convs) ~= "table" then
    return
  end
  M._conversations = convs
end

function M.block_labels()
  if #M._labels == 0 then
    local result = M.execute_sync("lspAgent.memory.show", {}, 500)
    if result and type(result.data) == "table" then
      M._remember_labels(result.data.blocks)
    end
  end
  return M._labels
end

function M.conversation_ids()
  if #M._conversations == 0 then
    local result = M.execute_sync("lspAgent.conversation.list", {}, 500)
    if result and type(result.data) == "table" then
      M._remember_conversations(result.data.conversations)
    end
  end
  local ids = {}
  for _, c in ipairs(M._conversations) do
    if c.id then
      table.insert(ids, tostring(c.id))
    end
  end
  return ids
end

function M.statusline()
  return ui.statusline()
end

---------------------------------------------------------------------------
-- Setup
---------------------------------------------------------------------------

function M.setup(opts)
  return require("lsp_agent.setup").run(M, opts)
end

-- Pushes new settings to running clients (workspace/didChangeConfiguration).
function M.update_settings(settings)
  config.options.settings = vim.tbl_deep_extend("force", config.options.settings or {}, settings or {})
  for _, client in ipairs(get_clients()) do
    client.settings = { lspAgent = settings_for(client.root_dir) }
    if has_011 then
      client:notify("workspace/didChangeConfiguration", { settings = client.settings })
    else
      client.notify("workspace/didChangeConfiguration", { settings = client.settings })
    end
  end
  if has_011 and vim.lsp.config then
    vim.lsp.config(config.options.name, { settings = { lspAgent = config.settings() }, init_options = config.settings() })
  end
end

return M

-- lsp-agent for Neovim: registers the `lsp-agent serve` language server and relays
-- :LspAgent commands to it (workspace/executeCommand). No agent logic lives here.
local config = require("lsp_agent.config")
local ui = require("lsp_agent.ui")

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

-- Handler for window/showMessageRequest (approvals) through vim.ui.select.
local function show_message_request(_, params, ctx)
  M.last_approval = params
  local actions = params.actions or {}
  local message = tostring(params.message or "")
  local prompt = message:gsub(":%s*\n%s*", ": "):gsub("%s*\n%s*", " — ")
  if not prompt:lower():find("lsp%-agent") then
    prompt = "lsp-agent: " .. prompt
  end
  local log_lines = { "- **approval requested**" }
  for _, l in ipairs(ui.split_lines(message)) do
    table.insert(log_lines, "  " .. l)
  end
  ui.append_log(log_lines)
  if #actions == 0 then
    vim.notify(prompt, vim.log.levels.WARN)
    return vim.NIL
  end
  local co, is_main = coroutine.running()
  local function log_choice(choice)
    ui.append_log({ "  -> " .. (choice and choice.title or "dismissed (deny)") })
  end
  if co and not is_main then
    vim.ui.select(actions, {
      prompt = prompt,
      kind = "lsp_agent_approval",
      format_item = function(a)
        return (tostring(a.title):gsub("\n", " "))
      end,
    }, function(choice)
      log_choice(choice)
      vim.schedule(function()
        coroutine.resume(co, choice or vim.NIL)
      end)
    end)
    return coroutine.yield()
  end
  -- Not in a coroutine (shouldn't happen on 0.10+): synchronous fallback.
  local result = vim.NIL
  vim.ui.select(actions, { prompt = prompt, kind = "lsp_agent_approval", format_item = function(a)
    return a.title
  end }, function(choice)
    result = choice or vim.NIL
  end)
  log_choice(result ~= vim.NIL and result or nil)
  return result
end

---------------------------------------------------------------------------
-- Workspace trust
---------------------------------------------------------------------------

-- Decided once per root: the `trust` option (true, false, or a function(root) -> boolean), or
-- with "prompt" Neovim's own trust database (vim.secure, as for 'exrc'): asked once per folder,
-- the answer kept (:trust / :trust ++deny / :trust ++remove change it). Untrusted, the server
-- imports none of the workspace's files into memory, loads none of its skills and never runs
-- in permissionMode "auto".
local trust_of = {}

function M.is_trusted(root)
  local t = config.options.trust
  if type(t) == "function" then
    return t(root) == true
  elseif t == true or t == false then
    return t
  end
  if not root or root == "" then
    return false
  end
  if trust_of[root] == nil then
    local ok, res = false, nil
    if vim.fn.has("nvim-0.11") == 1 and vim.fn.isdirectory(root) == 1 then
      ok, res = pcall(vim.secure.read, root)
    end
    trust_of[root] = ok and res == true
    if not trust_of[root] then
      vim.notify("lsp-agent: " .. root .. " is not trusted: its files are not imported into memory "
        .. "and its skills are not loaded (:trust it, or set `trust = true`).", vim.log.levels.INFO)
    end
  end
  return trust_of[root]
end

-- Forget the remembered answers (after :trust changed them); running clients keep theirs.
function M.reset_trust()
  trust_of = {}
end

-- The `lspAgent` section for a client rooted at `root`: the settings plus its trust.
local function settings_for(root)
  local s = vim.deepcopy(config.options.settings or {})
  s.trustWorkspace = M.is_trusted(root)
  return config.as_object(s)
end
M.settings_for = settings_for

local function client_root(client_id)
  local client = client_id and vim.lsp.get_client_by_id(client_id)
  return client and client.root_dir or nil
end

-- workspace/configuration: answer the `lspAgent` section from our settings.
local function workspace_configuration(_, params, ctx)
  local out = {}
  for _, item in ipairs((params and params.items) or {}) do
    local section = item.section
    local value
    if section == nil or section == "" then
      value = { lspAgent = settings_for(client_root(ctx and ctx.client_id)) }
    elseif section == "lspAgent" then
      value = settings_for(client_root(ctx and ctx.client_id))
    elseif section:sub(1, 9) == "lspAgent." then
      value = config.options.settings or {}
      for part in section:sub(10):gmatch("[^.]+") do
        value = type(value) == "table" and value[part] or nil
      end
      value = config.as_object(value)
    end
    if value == nil then
      value = vim.NIL
    end
    table.insert(out, value)
  end
  return out
end

-- workspace/applyEdit: Neovim's handler applies the edit to buffers; with save_edits the
-- buffers it touched are written too (unless they had unsaved changes of the user's), so that
-- the agent's next shell command (tests, build) sees the files it just changed.
local function uris_of_edit(edit)
  local uris = {}
  for uri in pairs(type(edit) == "table" and edit.changes or {}) do
    uris[uri] = true
  end
  for _, change in ipairs(type(edit) == "table" and edit.documentChanges or {}) do
    if change.textDocument and change.textDocument.uri then
      uris[change.textDocument.uri] = true
    elseif change.kind == "create" and change.uri then
      uris[change.uri] = true
    elseif change.kind == "rename" and change.newUri then
      uris[change.newUri] = true
    end
  end
  return vim.tbl_keys(uris)
end

local function apply_edit(err, params, ctx)
  local default = vim.lsp.handlers["workspace/applyEdit"]
  if not config.options.save_edits then
    return default(err, params, ctx)
  end
  local dirty_before = {}
  local uris = uris_of_edit(params and params.edit)
  for _, uri in ipairs(uris) do
    local buf = vim.uri_to_bufnr(uri)
    if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].modified then
      dirty_before[uri] = true
    end
  end
  local result = default(err, params, ctx)
  if type(result) == "table" and result.applied then
    for _, uri in ipairs(uris) do
      local buf = vim.uri_to_bufnr(uri)
      if not dirty_before[uri] and vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].modified
        and vim.bo[buf].buftype == "" then
        local ok, werr = pcall(vim.api.nvim_buf_call, buf, function()
          vim.fn.mkdir(vim.fn.fnamemodify(vim.api.nvim_buf_get_name(buf), ":h"), "p")
          vim.cmd("silent keepalt write")
        end)
        if not ok then
          vim.notify("lsp-agent: could not save " .. vim.uri_to_fname(uri) .. ": " .. tostring(werr), vim.log.levels.WARN)
        end
      end
    end
  end
  return result
end

-- window/showMessage through vim.notify (Neovim only echoes non-errors), so notification UIs
-- show the server's warnings (bad settings, store notices).
local function show_message(_, params, ctx)
  local levels = { vim.log.levels.ERROR, vim.log.levels.WARN, vim.log.levels.INFO, vim.log.levels.DEBUG }
  local msg = tostring(params and params.message or "")
  if not msg:lower():find("^lsp%-agent") then
    msg = "lsp-agent: " .. msg
  end
  vim.notify(msg, levels[params and params.type or 3] or vim.log.levels.INFO)
  return vim.NIL
end

local function lsp_event(_, params, ctx)
  ui.on_event(params, ctx and ctx.client_id)
end

-- A client-side command: executes `name` via workspace/executeCommand and shows the result.
-- Used for the commands of resolved code actions so that their results are shown too.
local function client_command(command, ctx)
  local args = command.arguments and command.arguments[1] or {}
  M.execute(command.command, args, { client_id = ctx and ctx.client_id, bufnr = ctx and ctx.bufnr })
end

local function client_commands(names)
  local cmds = {}
  for _, name in ipairs(names) do
    cmds[name] = client_command
  end
  return cmds
end

-- The client configuration (without root_dir).
function M.client_config()
  local o = config.options
  local capabilities = vim.lsp.protocol.make_client_capabilities()
  capabilities.window = capabilities.window or {}
  capabilities.window.workDoneProgress = true
  capabilities.window.showMessage = capabilities.window.showMessage or {}
  capabilities.window.showMessage.messageActionItem = { additionalPropertiesSupport = false }
  capabilities.workspace = capabilities.workspace or {}
  capabilities.workspace.applyEdit = true
  capabilities.workspace.configuration = true
  if o.capabilities then
    capabilities = vim.tbl_deep_extend("force", capabilities, o.capabilities)
  end
  return {
    name = o.name,
    cmd = o.cmd,
    filetypes = o.filetypes,
    settings = { lspAgent = config.settings() },
    init_options = config.settings(),
    capabilities = capabilities,
    handlers = {
      ["window/showMessageRequest"] = show_message_request,
      ["workspace/configuration"] = workspace_configuration,
      ["lspAgent/event"] = lsp_event,
      ["workspace/applyEdit"] = apply_edit,
      ["window/showMessage"] = show_message,
    },
    commands = client_commands(M.commands_list),
    before_init = function(params, cfg)
      -- the root is known only now: relay its trust with the settings
      local section = settings_for(cfg.root_dir)
      params.initializationOptions = section
      cfg.init_options = section
      cfg.settings = type(cfg.settings) == "table" and cfg.settings or {}
      cfg.settings.lspAgent = section
    end,
    on_init = function(client)
      -- Route any other advertised lspAgent.* command through us as well.
      local provider = client.server_capabilities and client.server_capabilities.executeCommandProvider
      for _, name in ipairs(type(provider) == "table" and provider.commands or {}) do
        if type(name) == "string" and name:sub(1, 9) == "lspAgent." and not client.commands[name] then
          client.commands[name] = client_command
        end
      end
    end,
    on_attach = function(client, bufnr)
      if type(o.on_attach) == "function" then
        o.on_attach(client, bufnr)
      end
    end,
  }
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

local renderers = {}

local function default_render(command, result)
  local md = result.markdown
  if type(md) ~= "string" or md == "" then
    md = "```lua\n" .. vim.inspect(result.data or result) .. "\n```"
  end
  ui.show(md, "lsp-agent " .. command:gsub("^lspAgent%.", ""))
end

renderers["lspAgent.search"] = function(command, result, args)
  local hits = (type(result.data) == "table" and result.data.results) or {}
  local title = "lsp-agent search: " .. tostring(args.query or "")
  ui.set_quickfix(hits, title)
  vim.notify(string.format("lsp-agent: %d result%s for %q", #hits, #hits == 1 and "" or "s", tostring(args.query or "")))
end

renderers["lspAgent.ask"] = function(command, result, args)
  local d = type(result.data) == "table" and result.data or {}
  local lines = { "- **reply**" .. (d.conversation_id and (" _(" .. tostring(d.conversation_id) .. ")_") or "") }
  for _, l in ipairs(ui.split_lines(tostring(d.reply or result.markdown or ""))) do
    table.insert(lines, "  " .. l)
  end
  if config.options.events.log ~= false then
    ui.append_log(lines)
  end
  default_render(command, result)
end

-- Sends workspace/executeCommand. opts: { client_id, bufnr, on_result(result), on_error(err),
-- render = false (skip the default display) }. Returns nothing; results arrive asynchronously.
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
        local msg = type(err) == "table" and (err.message or vim.inspect(err)) or tostring(err)
        if opts.on_error then
          opts.on_error(err)
        elseif type(err) == "table" and err.code == -32800 then
          vim.notify("lsp-agent " .. command .. ": cancelled", vim.log.levels.INFO)
        else
          if msg:sub(1, #command + 1) ~= command .. ":" then
            msg = command .. ": " .. msg
          end
          vim.notify("lsp-agent " .. msg, vim.log.levels.ERROR)
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
        local r = renderers[command] or default_render
        r(command, result, args, client)
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
    elseif not ok then
      vim.notify("lsp-agent: could not send " .. command, vim.log.levels.ERROR)
    end
  end, opts)
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

local augroup = nil

function M.setup(opts)
  config.set(opts)
  local o = config.options
  augroup = vim.api.nvim_create_augroup("lsp_agent", { clear = true })

  vim.api.nvim_create_autocmd("LspProgress", {
    group = augroup,
    callback = function(ev)
      local data = ev.data or {}
      local client = data.client_id and vim.lsp.get_client_by_id(data.client_id)
      if client and client.name == o.name then
        ui.on_progress(data.params, client.id)
      end
    end,
  })

  -- A reply that never reaches our handler (Neovim drops RequestCancelled, e.g. after a cancel
  -- from a progress UI) still completes the request: finish it as cancelled. Handlers are
  -- scheduled before this autocmd's callback runs, so a real reply always wins.
  vim.api.nvim_create_autocmd("LspRequest", {
    group = augroup,
    callback = function(ev)
      local data = ev.data or {}
      local req = data.request
      if not (req and req.type == "complete" and data.client_id and data.request_id) then
        return
      end
      local key = data.client_id .. ":" .. data.request_id
      if M.pending[key] then
        vim.schedule(function()
          local p = M.pending[key]
          if p then
            M.pending[key] = nil
            p.finish({ code = -32800, message = "Request cancelled" })
          end
        end)
      end
    end,
  })

  if has_011 and vim.lsp.config and vim.lsp.enable then
    local cfg = M.client_config()
    cfg.root_markers = o.root_markers
    cfg.root_dir = function(bufnr, on_dir)
      on_dir(M.root_for(bufnr))
    end
    vim.lsp.config(o.name, cfg)
    if o.autostart then
      vim.lsp.enable(o.name)
    end
  end

  if o.autostart then
    -- 0.10: start on FileType ourselves. 0.11: vim.lsp.enable only reacts to FileType, so
    -- also cover file buffers that have no filetype.
    vim.api.nvim_create_autocmd({ "FileType", "BufReadPost", "BufNewFile" }, {
      group = augroup,
      callback = function(ev)
        local buf = ev.buf
        if vim.bo[buf].buftype ~= "" or vim.api.nvim_buf_get_name(buf) == "" then
          return
        end
        if has_011 and vim.lsp.enable and vim.bo[buf].filetype ~= "" then
          return -- vim.lsp.enable handles it
        end
        if o.filetypes and not vim.tbl_contains(o.filetypes, vim.bo[buf].filetype) then
          return
        end
        vim.schedule(function()
          if vim.api.nvim_buf_is_valid(buf) and #get_clients({ bufnr = buf }) == 0 then
            M.start(buf)
          end
        end)
      end,
    })
  end

  M._setup_done = true
  if vim.fn.exists(":LspAgent") ~= 2 then
    require("lsp_agent.commands").create_user_command()
  end
  return M
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

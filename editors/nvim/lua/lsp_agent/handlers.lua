-- The handlers of what the server asks or tells the client: approvals (showMessageRequest),
-- workspace/configuration with the workspace's trust, workspace/applyEdit (saved), showMessage,
-- and lspAgent/event.
local config = require("lsp_agent.config")
local ui = require("lsp_agent.ui")

local M = {}

-- Handler for window/showMessageRequest (approvals) through vim.ui.select.
function M.show_message_request(_, params, ctx)
  require("lsp_agent").last_approval = params
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
function M.settings_for(root)
  local s = vim.deepcopy(config.options.settings or {})
  s.trustWorkspace = M.is_trusted(root)
  return config.as_object(s)
end

local function client_root(client_id)
  local client = client_id and vim.lsp.get_client_by_id(client_id)
  return client and client.root_dir or nil
end

-- workspace/configuration: answer the `lspAgent` section from our settings.
function M.workspace_configuration(_, params, ctx)
  local out = {}
  for _, item in ipairs((params and params.items) or {}) do
    local section = item.section
    local value
    if section == nil or section == "" then
      value = { lspAgent = M.settings_for(client_root(ctx and ctx.client_id)) }
    elseif section == "lspAgent" then
      value = M.settings_for(client_root(ctx and ctx.client_id))
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

function M.apply_edit(err, params, ctx)
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
function M.show_message(_, params, ctx)
  local levels = { vim.log.levels.ERROR, vim.log.levels.WARN, vim.log.levels.INFO, vim.log.levels.DEBUG }
  local msg = tostring(params and params.message or "")
  if not msg:lower():find("^lsp%-agent") then
    msg = "lsp-agent: " .. msg
  end
  vim.notify(msg, levels[params and params.type or 3] or vim.log.levels.INFO)
  return vim.NIL
end

function M.lsp_event(_, params, ctx)
  ui.on_event(params, ctx and ctx.client_id)
end

return M

-- :LspAgent {subcommand} ...: what each subcommand sends, and completion (prompts.lua asks for
-- what is missing).
local agent = require("lsp_agent")
local ui = require("lsp_agent.ui")
local prompts = require("lsp_agent.prompts")
local block_buffer = require("lsp_agent.block_buffer")

local M = {}

local is_file_buf, parse_opts, truthy, tag_list = prompts.is_file_buf, prompts.parse_opts, prompts.truthy, prompts.tag_list
local input, text_or_selection, with_label = prompts.input, prompts.text_or_selection, prompts.with_label
local pick_by_id, with_conversation = prompts.pick_by_id, prompts.with_conversation
M.selection = prompts.selection
M.normal_window = block_buffer.normal_window
M.edit_block = block_buffer.edit_block

M.subcommands = {}
local S = M.subcommands

S.status = function()
  agent.execute("lspAgent.status", {})
end

-- :LspAgent doctor [--repair]: what is damaged in the store; --repair rebuilds it
S.doctor = function(rest)
  local repair = vim.trim(rest or "") == "--repair"
  agent.execute("lspAgent.doctor", repair and { repair = true } or {})
end

S.init = function(rest)
  local depth = vim.trim(rest or "")
  agent.execute("lspAgent.init", depth ~= "" and { depth = depth } or {})
end

S.remember = function(rest, cmd_opts)
  local opts, text = parse_opts(rest, { block = true })
  local function send(t)
    local args = {}
    if t and t ~= "" then
      args.text = t
    end
    if opts.block and opts.block ~= "" then
      args.block = opts.block
    end
    agent.execute("lspAgent.remember", args)
  end
  text_or_selection(text, cmd_opts, "Remember (empty: reflect on the conversation): ", send)
end

S.search = function(rest)
  local opts, query = parse_opts(rest, { kind = true, limit = true, path = true, language = true, mode = true })
  local function send(q)
    if q == "" then
      return
    end
    local args = { query = q, kind = opts.kind, mode = opts.mode, language = opts.language, paths = tag_list(opts.path) }
    if opts.limit then
      args.limit = tonumber(opts.limit)
    end
    agent.execute("lspAgent.search", args)
  end
  if query ~= "" then
    return send(query)
  end
  input("Search memory: ", vim.fn.expand("<cword>"), send)
end

S["learn-skill"] = function(rest, cmd_opts)
  local name = vim.trim(rest or "")
  local args = {}
  if name ~= "" then
    args.name = name
  end
  local sel = prompts.selection(cmd_opts)
  if sel and sel.text ~= "" then
    args.text = sel.text
  end
  agent.execute("lspAgent.learnSkill", args)
end

S.ask = function(rest, cmd_opts)
  local bufnr = vim.api.nvim_get_current_buf()
  local function send(prompt)
    if prompt == "" then
      return
    end
    agent.with_client(function(client)
      local args = { prompt = prompt }
      local sel = prompts.selection(cmd_opts, bufnr, client.offset_encoding)
      if sel then
        args.context = sel
      elseif is_file_buf(bufnr) then
        args.context = { uri = vim.uri_from_bufnr(bufnr) }
      end
      agent.execute("lspAgent.ask", args, { client_id = client.id, bufnr = bufnr })
    end, { bufnr = bufnr })
  end
  local prompt = vim.trim(rest or "")
  if prompt ~= "" then
    return send(prompt)
  end
  input("Ask the agent: ", nil, send)
end

S.reflect = function()
  agent.execute("lspAgent.reflect", {})
end

-- :LspAgent memory: the memory buffer; :LspAgent memory {label}: that block in the float.
S.memory = function(rest)
  local label = vim.trim(rest or "")
  if label == "" then
    return require("lsp_agent.memory_view").open()
  end
  agent.execute("lspAgent.memory.show", { label = label })
end

S.history = function(rest)
  with_label(vim.trim(rest or ""), function(label)
    agent.execute("lspAgent.memory.history", { label = label })
  end)
end

S.edit = function(rest)
  local label, value = (rest or ""):match("^%s*(%S+)%s*(.-)%s*$")
  if label and value ~= "" then
    return agent.execute("lspAgent.memory.edit", { label = label, value = value, reason = "edited in Neovim" })
  end
  with_label(label, block_buffer.edit_block, "Edit memory block: ")
end

S.revert = function(rest)
  local label, version = (rest or ""):match("^%s*(%S*)%s*(%S*)")
  with_label(label, function(l)
    if version ~= "" and tonumber(version) then
      return agent.execute("lspAgent.memory.revert", { label = l, version = tonumber(version) })
    end
    agent.execute("lspAgent.memory.history", { label = l }, {
      render = false,
      on_result = function(result)
        local versions = (type(result.data) == "table" and result.data.versions) or {}
        if #versions == 0 then
          vim.notify("lsp-agent: no history for " .. l, vim.log.levels.WARN)
          return
        end
        vim.ui.select(versions, {
          prompt = "Revert " .. l .. " to: ",
          format_item = function(v)
            return string.format("v%s  %s  %s  %s", tostring(v.version), tostring(v.author or ""), tostring(v.timestamp or ""), tostring(v.reason or ""))
          end,
        }, function(choice)
          if choice then
            agent.execute("lspAgent.memory.revert", { label = l, version = choice.version })
          end
        end)
      end,
    })
  end, "Revert memory block: ")
end

-- :[range]LspAgent create {label} [limit=N] [read_only=true] [shared=true] [description]
-- The selection, if any, becomes the block's first value.
S.create = function(rest, cmd_opts)
  local label, after = (rest or ""):match("^%s*(%S*)%s*(.-)%s*$")
  local opts, description = parse_opts(after, { limit = true, read_only = true, shared = true })
  local sel = prompts.selection(cmd_opts)
  local function send(l)
    if l == "" then
      return
    end
    local args = { label = l }
    if description ~= "" then
      args.description = description
    end
    if sel and sel.text ~= "" then
      args.value = sel.text
    end
    if opts.limit then
      args.limit = tonumber(opts.limit)
    end
    if opts.read_only then
      args.read_only = truthy(opts.read_only)
    end
    if opts.shared then
      args.shared = truthy(opts.shared)
    end
    agent.execute("lspAgent.memory.create", args)
  end
  if label ~= "" then
    return send(label)
  end
  input("New memory block label: ", nil, send)
end

-- Picks an archival passage id (from args or via vim.ui.select), then calls cb(id).
local function with_passage(id, cb, prompt)
  if id and id ~= "" then
    return cb(id)
  end
  pick_by_id("lspAgent.archival.list", "passages", "no archival passages", prompt or "Passage: ",
    function(p)
      local text = tostring(p.content or ""):gsub("%s+", " ")
      return string.format("%s  %s", tostring(p.id), text:sub(1, 60))
    end, cb)
end

local archival = {}
-- insert [tag=a,b] [text]  (or the selection, or asks)
archival.insert = function(rest, cmd_opts)
  local opts, text = parse_opts(rest, { tag = true })
  local function send(t)
    if t == "" then
      return
    end
    agent.execute("lspAgent.archival.insert", { text = t, tags = tag_list(opts.tag) })
  end
  text_or_selection(text, cmd_opts, "Archival passage: ", send)
end
-- search [tag=a,b] [all_tags=true] [since=DATE] [until=DATE] [limit=N] [mode=MODE] [query]
archival.search = function(rest)
  local opts, query = parse_opts(rest, { tag = true, all_tags = true, since = true, ["until"] = true, limit = true, mode = true })
  local function send(q)
    if q == "" then
      return
    end
    local args = { query = q, tags = tag_list(opts.tag), since = opts.since, ["until"] = opts["until"], mode = opts.mode }
    if opts.all_tags then
      args.all_tags = truthy(opts.all_tags)
    end
    if opts.limit then
      args.limit = tonumber(opts.limit)
    end
    agent.execute("lspAgent.archival.search", args)
  end
  if query ~= "" then
    return send(query)
  end
  input("Search archival memory: ", vim.fn.expand("<cword>"), send)
end
-- list [tag=a,b] [limit=N]
archival.list = function(rest)
  local opts = parse_opts(rest, { tag = true, limit = true })
  agent.execute("lspAgent.archival.list", { tags = tag_list(opts.tag), limit = tonumber(opts.limit or "") })
end
-- delete [id]  (the server asks for confirmation)
archival.delete = function(rest)
  with_passage(vim.trim(rest or ""), function(id)
    agent.execute("lspAgent.archival.delete", { id = id })
  end, "Delete passage: ")
end
M.archival_subcommands = archival

S.archival = function(rest, cmd_opts)
  local sub, args = (rest or ""):match("^%s*(%S*)%s*(.-)%s*$")
  if sub == "" then
    sub = "list"
  end
  local fn = archival[sub]
  if not fn then
    vim.notify("lsp-agent: :LspAgent archival takes insert, search, list or delete, not " .. sub .. ".", vim.log.levels.ERROR)
    return
  end
  fn(args, cmd_opts)
end

-- :LspAgent export [agents-md|claude-md] [output=PATH] [force=true]
S.export = function(rest)
  local format, after = (rest or ""):match("^%s*(%S*)%s*(.-)%s*$")
  local opts = parse_opts(after, { output = true, force = true })
  local function send(f)
    local args = { format = f, output = opts.output }
    if opts.force then
      args.force = truthy(opts.force)
    end
    agent.execute("lspAgent.export", args)
  end
  if format ~= "" then
    return send(format)
  end
  vim.ui.select({ "agents-md", "claude-md" }, { prompt = "Export memory as: " }, function(choice)
    if choice then
      send(choice)
    end
  end)
end

-- :LspAgent index [embed-only]
S.index = function(rest)
  local embed_only = vim.trim(rest or "") == "embed-only"
  agent.execute("lspAgent.index", embed_only and { embed_only = true } or {})
end

local conversation = {}
conversation.new = function(rest)
  local title = vim.trim(rest or "")
  agent.execute("lspAgent.conversation.new", title ~= "" and { title = title } or {})
end
conversation.list = function()
  agent.execute("lspAgent.conversation.list", {})
end
conversation.switch = function(rest)
  with_conversation(vim.trim(rest or ""), function(id)
    agent.execute("lspAgent.conversation.switch", { id = id })
  end, "Switch to conversation: ")
end
conversation.fork = function(rest)
  local id = vim.trim(rest or "")
  agent.execute("lspAgent.conversation.fork", id ~= "" and { id = id } or {})
end
-- history, rename and delete: conversations.lua
conversation.history = function(rest)
  require("lsp_agent.conversations").history(vim.trim(rest or ""))
end
conversation.rename = function(rest)
  require("lsp_agent.conversations").rename(rest)
end
conversation.delete = function(rest)
  require("lsp_agent.conversations").delete(vim.trim(rest or ""))
end
M.conversation_subcommands = conversation

S.conversation = function(rest)
  local sub, args = (rest or ""):match("^%s*(%S*)%s*(.-)%s*$")
  if sub == "" then
    sub = "list"
  end
  local fn = conversation[sub]
  if not fn then
    vim.notify("lsp-agent: :LspAgent conversation takes new, list, switch, fork, history, rename or delete, not "
      .. sub .. ".", vim.log.levels.ERROR)
    return
  end
  fn(args)
end

-- :LspAgent chat [new [title] | switch [id] | fork [title]]
S.chat = function(rest)
  local sub, args = (rest or ""):match("^%s*(%S*)%s*(.-)%s*$")
  require("lsp_agent.chat").command(sub, args)
end

S.log = function()
  ui.open_log()
end

S.cancel = function()
  agent.cancel()
end

M.order = {
  "archival",
  "ask",
  "cancel",
  "chat",
  "conversation",
  "create",
  "doctor",
  "edit",
  "export",
  "history",
  "index",
  "init",
  "learn-skill",
  "log",
  "memory",
  "reflect",
  "remember",
  "revert",
  "search",
  "status",
}

-- Entry point of :LspAgent (cmd_opts as given to nvim_create_user_command callbacks).
function M.run(cmd_opts)
  if not agent._setup_done then
    agent.setup({})
  end
  local sub, rest = (cmd_opts.args or ""):match("^%s*(%S*)%s*(.-)%s*$")
  if sub == "" then
    sub = "status"
  end
  local fn = S[sub]
  if not fn then
    vim.notify("lsp-agent: there is no :LspAgent " .. sub .. "; the subcommands are " .. table.concat(M.order, ", ") .. ".", vim.log.levels.ERROR)
    return
  end
  fn(rest, cmd_opts)
end

local function filter(list, lead)
  local out = {}
  for _, v in ipairs(list) do
    if vim.startswith(v, lead) then
      table.insert(out, v)
    end
  end
  return out
end

function M.complete(arglead, cmdline, cursorpos)
  local line = cmdline:sub(1, cursorpos)
  local after = line:match("LspAgent!?%s+(.*)$")
  if not after then
    return filter(M.order, arglead)
  end
  local words = vim.split(after, "%s+", { trimempty = false })
  -- words[#words] is the word being completed (== arglead)
  if #words <= 1 then
    return filter(M.order, arglead)
  end
  local sub = words[1]
  local n = #words -- position of the word being completed
  if sub == "doctor" and n == 2 then
    return filter({ "--repair" }, arglead)
  elseif sub == "init" and n == 2 then
    return filter({ "static", "standard", "deep" }, arglead)
  elseif sub == "conversation" then
    if n == 2 then
      return filter({ "new", "list", "switch", "fork", "history", "rename", "delete" }, arglead)
    elseif n == 3 and vim.tbl_contains({ "switch", "fork", "history", "rename", "delete" }, words[2]) then
      return filter(agent.conversation_ids(), arglead)
    end
  elseif sub == "chat" then
    if n == 2 then
      return filter({ "new", "switch", "fork" }, arglead)
    elseif n == 3 and words[2] == "switch" then
      return filter(agent.conversation_ids(), arglead)
    end
  elseif sub == "archival" then
    if n == 2 then
      return filter({ "insert", "search", "list", "delete" }, arglead)
    elseif words[2] == "delete" and n == 3 then
      local result = agent.execute_sync("lspAgent.archival.list", {}, 500)
      local ids = {}
      for _, p in ipairs((result and type(result.data) == "table" and result.data.passages) or {}) do
        table.insert(ids, tostring(p.id))
      end
      return filter(ids, arglead)
    elseif words[2] == "search" then
      return filter({ "tag=", "all_tags=true", "since=", "until=", "limit=", "mode=hybrid", "mode=vector", "mode=text" }, arglead)
    elseif words[2] == "list" then
      return filter({ "tag=", "limit=" }, arglead)
    elseif words[2] == "insert" then
      return filter({ "tag=" }, arglead)
    end
  elseif sub == "export" then
    if n == 2 then
      return filter({ "agents-md", "claude-md" }, arglead)
    end
    return filter({ "output=", "force=true" }, arglead)
  elseif sub == "index" and n == 2 then
    return filter({ "embed-only" }, arglead)
  elseif sub == "create" and n >= 3 then
    return filter({ "limit=", "read_only=true", "shared=true" }, arglead)
  elseif (sub == "memory" or sub == "history" or sub == "edit" or sub == "revert") and n == 2 then
    return filter(agent.block_labels(), arglead)
  elseif sub == "search" then
    if vim.startswith(arglead, "kind=") then
      return filter({ "kind=all", "kind=messages", "kind=archival", "kind=blocks", "kind=skills", "kind=code", "kind=tests", "kind=docs", "kind=config" }, arglead)
    end
    if vim.startswith(arglead, "mode=") then
      return filter({ "mode=hybrid", "mode=vector", "mode=text" }, arglead)
    end
    return filter({ "kind=", "limit=", "path=", "language=", "mode=" }, arglead)
  elseif sub == "remember" and n == 2 and vim.startswith(arglead, "block=") then
    local out = {}
    for _, l in ipairs(agent.block_labels()) do
      table.insert(out, "block=" .. l)
    end
    return filter(out, arglead)
  end
  return {}
end

-- Defines :LspAgent (idempotent).
function M.create_user_command()
  vim.api.nvim_create_user_command("LspAgent", function(opts)
    M.run(opts)
  end, {
    nargs = "*",
    range = true,
    force = true,
    desc = "lsp-agent: " .. table.concat(M.order, "|"),
    complete = function(arglead, cmdline, cursorpos)
      return M.complete(arglead, cmdline, cursorpos)
    end,
  })
end

return M

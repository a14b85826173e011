-- :LspAgent {subcommand} ... — parsing, prompting and completion.
local agent = require("lsp_agent")
local ui = require("lsp_agent.ui")

local M = {}

local function is_file_buf(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  return vim.bo[bufnr].buftype == "" and name ~= "" and not name:match("^%a[%w+.-]*://")
end

-- The text and LSP range of a command range (visual selection aware).
-- Returns nil when the command was given no range.
function M.selection(cmd_opts, bufnr, offset_encoding)
  if not cmd_opts or (cmd_opts.range or 0) == 0 then
    return nil
  end
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local l1, l2 = cmd_opts.line1, cmd_opts.line2
  local vs, ve = vim.fn.getpos("'<"), vim.fn.getpos("'>")
  local vmode = vim.fn.visualmode()
  local sl, sc, el, ec
  local last_line = vim.api.nvim_buf_get_lines(bufnr, l2 - 1, l2, false)[1] or ""
  if vs[2] == l1 and ve[2] == l2 and (vmode == "v" or vmode == "\22") then
    sl, sc = l1 - 1, math.max(vs[3] - 1, 0)
    el = l2 - 1
    if ve[3] >= #last_line then
      ec = #last_line
    else
      local extra = vim.str_utf_end and vim.str_utf_end(last_line, ve[3]) or 0
      ec = math.min(ve[3] + extra, #last_line)
    end
  else
    sl, sc, el, ec = l1 - 1, 0, l2 - 1, #last_line
  end
  local text = table.concat(vim.api.nvim_buf_get_text(bufnr, sl, sc, el, ec, {}), "\n")
  local enc = offset_encoding or "utf-16"
  local function pos(row, col)
    local ok, ch = pcall(vim.lsp.util.character_offset, bufnr, row, col, enc)
    return { line = row, character = ok and ch or col }
  end
  return {
    text = text,
    uri = vim.uri_from_bufnr(bufnr),
    range = { start = pos(sl, sc), ["end"] = pos(el, ec) },
  }
end

-- Splits leading key=value options (for the keys in `allowed`) from free text.
local function parse_opts(rest, allowed)
  local opts = {}
  rest = rest or ""
  while true do
    local key, value, after = rest:match("^%s*([%w_]+)=(%S*)%s*(.*)$")
    if key and allowed[key] then
      opts[key] = value
      rest = after
    else
      break
    end
  end
  return opts, vim.trim(rest)
end

local function truthy(v)
  return v == "true" or v == "1" or v == "yes" or v == "on"
end

-- "a,b" -> { "a", "b" } (nil when empty).
local function tag_list(v)
  if not v or v == "" then
    return nil
  end
  local tags = vim.split(v, ",", { trimempty = true })
  return #tags > 0 and tags or nil
end

local function input(prompt, default, cb)
  vim.ui.input({ prompt = prompt, default = default }, function(value)
    if value == nil then
      return
    end
    cb(value)
  end)
end

-- Calls send(text) with the given text, else the visual selection, else what the user types.
local function text_or_selection(text, cmd_opts, prompt, send)
  if text ~= "" then
    return send(text)
  end
  local sel = M.selection(cmd_opts)
  if sel and sel.text ~= "" then
    return send(sel.text)
  end
  input(prompt, nil, send)
end

-- Picks a block label (from args or via vim.ui.select), then calls cb(label).
local function with_label(label, cb, prompt)
  if label and label ~= "" then
    return cb(label)
  end
  agent.execute("lspAgent.memory.show", {}, {
    render = false,
    on_result = function(result)
      local labels = {}
      for _, b in ipairs((type(result.data) == "table" and result.data.blocks) or {}) do
        table.insert(labels, b.label)
      end
      if #labels == 0 then
        vim.notify("lsp-agent: no memory blocks", vim.log.levels.WARN)
        return
      end
      vim.ui.select(labels, { prompt = prompt or "Memory block: " }, function(choice)
        if choice then
          cb(choice)
        end
      end)
    end,
  })
end

-- Asks the server for a list (`command`'s result.data[field]) and lets the user pick one item;
-- calls cb(item.id). Used for conversations and archival passages.
local function pick_by_id(command, field, empty, prompt, format_item, cb)
  agent.execute(command, {}, {
    render = false,
    on_result = function(result)
      local items = (type(result.data) == "table" and result.data[field]) or {}
      if #items == 0 then
        vim.notify("lsp-agent: " .. empty, vim.log.levels.WARN)
        return
      end
      vim.ui.select(items, { prompt = prompt, format_item = format_item }, function(choice)
        if choice then
          cb(tostring(choice.id))
        end
      end)
    end,
  })
end

local function with_conversation(id, cb, prompt)
  if id and id ~= "" then
    return cb(id)
  end
  pick_by_id("lspAgent.conversation.list", "conversations", "no conversations",
    prompt or "Conversation: ", function(c)
      return string.format("%s%s  (%s messages)  %s", c.active and "* " or "  ", tostring(c.title or c.id), tostring(c.messages or 0), tostring(c.id))
    end, cb)
end

-- Makes a normal window current (the previous one, else the first), never a float: buffers
-- opened from a command must not land in a leftover float.
function M.normal_window()
  local function normal(w)
    return w and w ~= 0 and vim.api.nvim_win_is_valid(w) and vim.api.nvim_win_get_config(w).relative == ""
  end
  if normal(vim.api.nvim_get_current_win()) then
    return
  end
  local prev = vim.fn.win_getid(vim.fn.winnr("#"))
  if normal(prev) then
    return vim.api.nvim_set_current_win(prev)
  end
  for _, w in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    if normal(w) then
      return vim.api.nvim_set_current_win(w)
    end
  end
end

-- Opens a memory block in an editable buffer; :w saves it with lspAgent.memory.edit.
function M.edit_block(label)
  agent.execute("lspAgent.memory.show", { label = label }, {
    render = false,
    on_result = function(result)
      local block
      for _, b in ipairs((type(result.data) == "table" and result.data.blocks) or {}) do
        if b.label == label then
          block = b
        end
      end
      if not block then
        vim.notify("lsp-agent: there is no memory block " .. label .. " (:LspAgent memory lists them).", vim.log.levels.ERROR)
        return
      end
      local name = "lsp-agent://memory/" .. label
      local buf = -1
      for _, b in ipairs(vim.api.nvim_list_bufs()) do
        if vim.api.nvim_buf_get_name(b) == name then
          buf = b
        end
      end
      M.normal_window()
      if buf ~= -1 and vim.bo[buf].modified then
        -- unsaved edits of the block: keep them
        vim.api.nvim_set_current_buf(buf)
        vim.notify("lsp-agent: " .. name .. " has unsaved changes (:w saves them, :bwipeout! drops them)", vim.log.levels.WARN)
        return
      end
      if buf == -1 then
        buf = vim.api.nvim_create_buf(true, false)
        vim.api.nvim_buf_set_name(buf, name)
      end
      vim.bo[buf].buftype = "acwrite"
      vim.bo[buf].swapfile = false
      vim.bo[buf].filetype = "markdown"
      vim.api.nvim_buf_set_lines(buf, 0, -1, false, ui.split_lines(block.value or ""))
      vim.bo[buf].modified = false
      vim.b[buf].lsp_agent_label = label
      if block.read_only then
        vim.bo[buf].readonly = true
      end
      vim.api.nvim_create_autocmd("BufWriteCmd", {
        buffer = buf,
        group = vim.api.nvim_create_augroup("lsp_agent_edit_" .. buf, { clear = true }),
        callback = function()
          local value = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
          agent.execute("lspAgent.memory.edit", { label = label, value = value, reason = "edited in Neovim" }, {
            render = false,
            on_result = function(res)
              if vim.api.nvim_buf_is_valid(buf) then
                vim.bo[buf].modified = false
              end
              vim.notify(require("lsp_agent.messages").confirmation("lspAgent.memory.edit", res.data, {}))
            end,
          })
        end,
      })
      vim.api.nvim_set_current_buf(buf)
    end,
  })
end

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
  local sel = M.selection(cmd_opts)
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
      local sel = M.selection(cmd_opts, bufnr, client.offset_encoding)
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
  with_label(label, M.edit_block, "Edit memory block: ")
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
  local sel = M.selection(cmd_opts)
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
    vim.notify("lsp-agent: unknown archival subcommand " .. sub .. " (insert, search, list, delete)", vim.log.levels.ERROR)
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
M.conversation_subcommands = conversation

S.conversation = function(rest)
  local sub, args = (rest or ""):match("^%s*(%S*)%s*(.-)%s*$")
  if sub == "" then
    sub = "list"
  end
  local fn = conversation[sub]
  if not fn then
    vim.notify("lsp-agent: unknown conversation subcommand " .. sub .. " (new, list, switch, fork)", vim.log.levels.ERROR)
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
    vim.notify("lsp-agent: unknown subcommand " .. sub .. " (" .. table.concat(M.order, ", ") .. ")", vim.log.levels.ERROR)
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
      return filter({ "new", "list", "switch", "fork" }, arglead)
    elseif n == 3 and (words[2] == "switch" or words[2] == "fork") then
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

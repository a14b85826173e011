-- Showing results (the result float or the output split), the agent log, progress.
local config = require("lsp_agent.config")
local markdown = require("lsp_agent.markdown")

local M = {}

-- The last thing shown (for scripting and tests): { title, lines, bufnr, winid }.
M.last_output = nil

local function split_lines(text)
  text = (text or ""):gsub("\r\n", "\n")
  local lines = vim.split(text, "\n", { plain = true })
  while #lines > 1 and lines[#lines] == "" do
    table.remove(lines)
  end
  return lines
end
M.split_lines = split_lines

local output_buf = nil

local function show_split(lines, title)
  if not (output_buf and vim.api.nvim_buf_is_valid(output_buf)) then
    output_buf = vim.api.nvim_create_buf(false, true)
    vim.bo[output_buf].buftype = "nofile"
    vim.bo[output_buf].bufhidden = "hide"
    vim.bo[output_buf].swapfile = false
    pcall(vim.api.nvim_buf_set_name, output_buf, "lsp-agent://output")
    vim.keymap.set("n", "q", "<cmd>close<cr>", { buffer = output_buf, nowait = true, silent = true })
  end
  local buf = output_buf
  vim.bo[buf].modifiable = true
  local content = { "# " .. (title or "lsp-agent"), "" }
  vim.list_extend(content, lines)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, markdown.prepare(content))
  vim.bo[buf].modifiable = false
  local win = vim.fn.bufwinid(buf)
  if win == -1 then
    local back = vim.api.nvim_get_current_win()
    vim.cmd("botright split")
    win = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(win, buf)
    vim.api.nvim_set_current_win(back) -- results never take the focus
  end
  markdown.attach(buf)
  markdown.window(win)
  return buf, win
end

-- Shows markdown text in the result float or in the output split (config.ui.output), without
-- moving the focus.
function M.show(text, title, opts)
  opts = opts or {}
  local lines = split_lines(text)
  local mode = opts.output or config.options.ui.output
  local buf, win
  if mode == "split" then
    buf, win = show_split(lines, title)
  else
    buf, win = require("lsp_agent.float").show(lines, title)
  end
  M.last_output = { title = title, lines = lines, bufnr = buf, winid = win }
  return buf, win
end

---------------------------------------------------------------------------
-- Quickfix for search hits (lsp_agent.quickfix)
---------------------------------------------------------------------------

function M.hits_to_qf(hits)
  return require("lsp_agent.quickfix").items(hits)
end

function M.set_quickfix(hits, query, open)
  return require("lsp_agent.quickfix").set(hits, query, open)
end

local function one_line(s)
  s = tostring(s or ""):gsub("%s+", " ")
  return vim.trim(s)
end

---------------------------------------------------------------------------
-- Agent log (lspAgent/event)
---------------------------------------------------------------------------

local log_buf = nil
M.events = {}

function M.log_buffer()
  if log_buf and vim.api.nvim_buf_is_valid(log_buf) then
    return log_buf
  end
  log_buf = vim.api.nvim_create_buf(false, true)
  vim.bo[log_buf].buftype = "nofile"
  vim.bo[log_buf].bufhidden = "hide"
  vim.bo[log_buf].swapfile = false
  vim.bo[log_buf].filetype = "markdown"
  pcall(vim.api.nvim_buf_set_name, log_buf, "lsp-agent://log")
  vim.api.nvim_buf_set_lines(log_buf, 0, -1, false, { "# lsp-agent log", "" })
  vim.bo[log_buf].modifiable = false
  return log_buf
end

function M.append_log(lines)
  local buf = M.log_buffer()
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, -1, -1, false, lines)
  vim.bo[buf].modifiable = false
  local win = vim.fn.bufwinid(buf)
  if win ~= -1 then
    pcall(vim.api.nvim_win_set_cursor, win, { vim.api.nvim_buf_line_count(buf), 0 })
  end
end

function M.open_log()
  local buf = M.log_buffer()
  local win = vim.fn.bufwinid(buf)
  if win == -1 then
    vim.cmd("botright split")
    vim.api.nvim_win_set_buf(0, buf)
    win = vim.api.nvim_get_current_win()
  else
    vim.api.nvim_set_current_win(win)
  end
  pcall(vim.api.nvim_win_set_cursor, win, { vim.api.nvim_buf_line_count(buf), 0 })
  return buf
end

local function short(s, n)
  s = one_line(s)
  if #s > n then
    return s:sub(1, n - 1) .. "…"
  end
  return s
end

-- Formats one lspAgent/event for the log.
function M.format_event(ev)
  local t = ev.type or "event"
  local head = "**" .. t .. "**"
  if ev.tool then
    head = head .. " `" .. tostring(ev.tool) .. "`"
  end
  if ev.conversation_id then
    head = head .. " _(" .. tostring(ev.conversation_id) .. ")_"
  end
  local lines = { "- " .. head }
  if ev.arguments ~= nil and ev.arguments ~= vim.NIL then
    local ok, enc = pcall(vim.json.encode, ev.arguments)
    table.insert(lines, "  args: `" .. short(ok and enc or vim.inspect(ev.arguments), 300) .. "`")
  end
  if ev.text and ev.text ~= vim.NIL and ev.text ~= "" then
    for _, l in ipairs(split_lines(tostring(ev.text))) do
      table.insert(lines, "  " .. l)
    end
  end
  return lines
end

-- Events the log leaves out: the pieces of text (the `message` event has it whole) and counts.
local NOT_LOGGED = { text_delta = true, usage = true }

-- What a notification says about an event, in words.
local function event_note(ev)
  local text = (ev.text and ev.text ~= vim.NIL) and short(ev.text, 200) or ""
  if ev.type == "tool_call" then
    return "running " .. (text ~= "" and text or tostring(ev.tool or "a tool"))
  elseif ev.type == "error" then
    return "the turn stopped early" .. (text ~= "" and (": " .. text) or ".")
  end
  return tostring(ev.type):gsub("_", " ") .. (text ~= "" and (": " .. text) or "")
end

function M.on_event(ev, client_id)
  if type(ev) ~= "table" then
    return
  end
  table.insert(M.events, ev)
  local ok, in_chat = pcall(function()
    return require("lsp_agent.chat").on_event(ev, client_id)
  end)
  if not ok then
    M.append_log({ "- **chat view failed on an event**", "  " .. one_line(in_chat) })
    in_chat = false
  end
  local opts = config.options.events or {}
  if opts.log ~= false and not NOT_LOGGED[ev.type] then
    M.append_log(M.format_event(ev))
  end
  -- the chat shows its own turns; a cancelled turn is reported by its request
  local quiet = in_chat or (ev.type == "error" and ev.stopped == "cancelled")
  if opts.notify and vim.tbl_contains(opts.notify, ev.type) and not quiet then
    vim.notify("lsp-agent: " .. event_note(ev), ev.type == "error" and vim.log.levels.WARN or vim.log.levels.INFO)
  end
  if type(opts.on_event) == "function" then
    pcall(opts.on_event, ev, client_id)
  end
end

---------------------------------------------------------------------------
-- Progress
---------------------------------------------------------------------------

M.progress = {} -- token -> { title, message, percentage, done }
M.progress_log = {}

function M.on_progress(params, client_id)
  local value = params and params.value
  if type(value) ~= "table" then
    return
  end
  local token = tostring(params.token)
  local entry = M.progress[token] or { token = params.token, client_id = client_id }
  M.progress[token] = entry
  if value.title then
    -- the server may already prefix its titles with its name
    entry.title = tostring(value.title):gsub("^[Ll]sp%-agent:%s*", "")
  end
  if value.message then
    entry.message = value.message
  end
  if value.percentage then
    entry.percentage = value.percentage
  end
  entry.kind = value.kind
  table.insert(M.progress_log, { token = token, kind = value.kind, title = entry.title, message = value.message, percentage = value.percentage })
  local mode = config.options.progress
  if value.kind == "begin" then
    entry.started = vim.uv and vim.uv.now() or vim.loop.now()
  end
  if not mode then
    if value.kind == "end" then
      M.progress[token] = nil
    end
    return
  end
  local text = "lsp-agent: " .. (entry.title or "working")
  if value.message and value.message ~= "" then
    text = text .. ": " .. value.message
  end
  if value.percentage then
    text = text .. string.format(" (%d%%)", value.percentage)
  end
  local level = nil
  if value.kind == "end" then
    entry.done = true
    M.progress[token] = nil
    if next(require("lsp_agent").pending) ~= nil then
      -- a request of ours ends with it: its result or its whole error says how it went
      vim.api.nvim_echo({ { "" } }, false, {})
      return
    end
    local msg = value.message or "done"
    text = "lsp-agent: " .. (entry.title or "background work") .. ": " .. msg
    local now = vim.uv and vim.uv.now() or vim.loop.now()
    local long = entry.started and (now - entry.started) >= 2000
    if msg:lower():find("fail") then
      level = vim.log.levels.WARN
    elseif long and not msg:lower():find("cancel") then
      level = vim.log.levels.INFO -- whoever cancelled knows
    end
  end
  -- "notify": the end of long (>= 2 s) or failed background work is notified; the rest is
  -- echoed.
  if mode == "notify" and level then
    vim.notify(text, level)
  else
    vim.api.nvim_echo({ { text, "Comment" } }, false, {})
  end
end

-- For statuslines: the running progress titles, or "".
function M.statusline()
  local parts = {}
  for _, e in pairs(M.progress) do
    local s = e.title or "working"
    if e.percentage then
      s = s .. string.format(" %d%%", e.percentage)
    end
    table.insert(parts, s)
  end
  return table.concat(parts, ", ")
end

return M

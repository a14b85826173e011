-- Showing results: floats / scratch buffers, quickfix, the agent log.
local config = require("lsp_agent.config")

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

local function scratch_buf(name)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].swapfile = false
  if name then
    pcall(vim.api.nvim_buf_set_name, buf, name)
  end
  return buf
end

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
  local content = { "<!-- " .. (title or "lsp-agent") .. " -->", "" }
  vim.list_extend(content, lines)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, content)
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = "markdown"
  local win = vim.fn.bufwinid(buf)
  if win == -1 then
    vim.cmd("botright split")
    win = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(win, buf)
  end
  vim.wo[win].wrap = true
  vim.wo[win].conceallevel = 2
  return buf, win
end

local function show_float(lines, title)
  local buf = scratch_buf(nil)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = "markdown"
  local ui = config.options.ui
  local cols, rows = vim.o.columns, vim.o.lines
  local maxw = math.max(20, math.floor(cols * (ui.float_width or 0.8)))
  local maxh = math.max(5, math.floor(rows * (ui.float_height or 0.8)))
  local width = 20
  for _, l in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(l) + 2)
  end
  if title then
    width = math.max(width, vim.fn.strdisplaywidth(title) + 4)
  end
  width = math.min(width, maxw)
  local height = math.min(math.max(#lines, 1), maxh)
  local win_opts = {
    relative = "editor",
    width = width,
    height = height,
    row = math.max(0, math.floor((rows - height) / 2) - 1),
    col = math.max(0, math.floor((cols - width) / 2)),
    style = "minimal",
    border = ui.border or "rounded",
  }
  if title and vim.fn.has("nvim-0.9") == 1 then
    win_opts.title = " " .. title .. " "
    win_opts.title_pos = "center"
  end
  local win = vim.api.nvim_open_win(buf, true, win_opts)
  vim.wo[win].wrap = true
  vim.wo[win].conceallevel = 2
  for _, key in ipairs({ "q", "<Esc>" }) do
    vim.keymap.set("n", key, function()
      if vim.api.nvim_win_is_valid(win) then
        vim.api.nvim_win_close(win, true)
      end
    end, { buffer = buf, nowait = true, silent = true })
  end
  return buf, win
end

-- Shows markdown text as a float or in the output split (config.ui.output).
function M.show(markdown, title, opts)
  opts = opts or {}
  local lines = split_lines(markdown)
  local mode = opts.output or config.options.ui.output
  local buf, win
  if mode == "split" then
    buf, win = show_split(lines, title)
  else
    buf, win = show_float(lines, title)
  end
  M.last_output = { title = title, lines = lines, bufnr = buf, winid = win }
  return buf, win
end

---------------------------------------------------------------------------
-- Quickfix for search hits
---------------------------------------------------------------------------

local function one_line(s)
  s = tostring(s or ""):gsub("%s+", " ")
  return vim.trim(s)
end

-- Converts protocol Hits into quickfix items.
function M.hits_to_qf(hits)
  local items = {}
  for _, hit in ipairs(hits or {}) do
    local kind = hit.kind or "?"
    local title = one_line(hit.title)
    local snippet = one_line(hit.snippet)
    local text
    if title ~= "" and snippet ~= "" and title ~= snippet then
      text = string.format("[%s] %s: %s", kind, title, snippet)
    else
      text = string.format("[%s] %s", kind, title ~= "" and title or snippet)
    end
    local item = { text = text, user_data = hit }
    local loc = hit.location
    if type(loc) == "table" and type(loc.uri) == "string" then
      local ok, fname = pcall(vim.uri_to_fname, loc.uri)
      item.filename = ok and fname or loc.uri
      local start = loc.range and loc.range.start or {}
      local finish = loc.range and loc.range["end"] or {}
      item.lnum = (start.line or 0) + 1
      item.col = (start.character or 0) + 1
      if finish.line then
        item.end_lnum = finish.line + 1
        item.end_col = (finish.character or 0) + 1
      end
      item.valid = 1
    else
      if kind == "message" and hit.conversation_id then
        item.text = text .. " (conversation " .. tostring(hit.conversation_id) .. ")"
      elseif kind == "block" and hit.label and not title:find(hit.label, 1, true) then
        item.text = string.format("[block %s] %s", hit.label, snippet ~= "" and snippet or title)
      end
      item.valid = 0
    end
    table.insert(items, item)
  end
  return items
end

function M.set_quickfix(hits, title, open)
  local items = M.hits_to_qf(hits)
  vim.fn.setqflist({}, " ", { title = title or "lsp-agent", items = items })
  if open == nil then
    open = config.options.ui.open_quickfix
  end
  if open and #items > 0 then
    vim.cmd("botright copen")
  end
  return items
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

function M.on_event(ev, client_id)
  if type(ev) ~= "table" then
    return
  end
  table.insert(M.events, ev)
  local opts = config.options.events or {}
  if opts.log ~= false then
    M.append_log(M.format_event(ev))
  end
  if opts.notify and vim.tbl_contains(opts.notify, ev.type) then
    local msg = ev.type
    if ev.tool then
      msg = msg .. " " .. tostring(ev.tool)
    end
    if ev.text and ev.text ~= vim.NIL and ev.text ~= "" then
      msg = msg .. ": " .. short(ev.text, 200)
    end
    vim.notify("lsp-agent: " .. msg, ev.type == "error" and vim.log.levels.ERROR or vim.log.levels.INFO)
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
    local msg = value.message or "done"
    text = "lsp-agent: " .. (entry.title or "done") .. ": " .. msg
    local now = vim.uv and vim.uv.now() or vim.loop.now()
    local long = entry.started and (now - entry.started) >= 2000
    if msg:lower():find("fail") then
      level = vim.log.levels.WARN
    elseif long or msg:lower():find("cancel") then
      level = vim.log.levels.INFO
    end
  end
  -- "notify": the end of a long (>= 2 s), failed or cancelled task is notified; the rest is
  -- echoed (the result itself is shown anyway).
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

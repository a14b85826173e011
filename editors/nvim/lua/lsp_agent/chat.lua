-- :LspAgent chat: a transcript (streamed markdown, tool calls folded) above a prompt area.
-- A prompt goes to lspAgent.ask with inline approvals; the turn's lspAgent/event notifications
-- are written as they come; approvals are asked with vim.ui.select and relayed with
-- lspAgent.approve; the stop mapping cancels the request. One chat at a time, for the
-- workspace of the buffer it was opened from; conversations live in the server.
local agent = require("lsp_agent")
local config = require("lsp_agent.config")
local render = require("lsp_agent.chat_render")
local Transcript = require("lsp_agent.transcript")

local M = {}

-- The chat: { client_id, conversation_id, title, transcript, prompt_buf, turn, usage, older,
-- loading (commands changing the conversation still running), queued (a prompt waits for them) }.
-- turn: { prompt, slash, running, done, turn_id, last_seq, request_id, client, streamed }.
local S = {}

local function opts()
  return config.options.chat or {}
end

local function key(name)
  return (opts().keys or {})[name]
end

function M.busy()
  return S.turn ~= nil and S.turn.running == true
end

function M.state()
  return S
end

---------------------------------------------------------------------------
-- Windows
---------------------------------------------------------------------------

local function winbar()
  local parts = { "lsp-agent chat" }
  if S.conversation_id then
    local title = (S.title and S.title ~= "") and S.title or "untitled"
    table.insert(parts, title .. " (" .. tostring(S.conversation_id):sub(1, 8) .. ")")
  else
    table.insert(parts, "new conversation")
  end
  local u = S.usage
  if type(u) == "table" and u.prompt_tokens then
    local tokens = (tonumber(u.prompt_tokens) or 0) + (tonumber(u.completion_tokens) or 0)
    local cost = tonumber(u.cost)
    table.insert(parts, string.format("%d tokens%s", tokens, cost and cost > 0 and string.format(", $%.4f", cost) or ""))
  end
  if M.busy() then
    table.insert(parts, "working… " .. tostring(key("stop")) .. " stops")
  end
  return (table.concat(parts, " · "):gsub("%%", "%%%%"))
end

local function refresh_winbar()
  if S.transcript and S.transcript:valid() then
    for _, win in ipairs(vim.fn.win_findbuf(S.transcript.buf)) do
      vim.wo[win].winbar = winbar()
    end
  end
end

function M.foldexpr()
  return S.transcript and S.transcript:fold_level(vim.v.lnum) or "0"
end

function M.foldtext()
  local line = vim.fn.getline(vim.v.foldstart)
  local n = vim.v.foldend - vim.v.foldstart
  return n > 0 and string.format("%s  (%d more line%s)", line, n, n == 1 and "" or "s") or line
end

local function close_view()
  for _, buf in ipairs({ S.transcript and S.transcript.buf, S.prompt_buf }) do
    if buf and vim.api.nvim_buf_is_valid(buf) then
      for _, win in ipairs(vim.fn.win_findbuf(buf)) do
        if #vim.api.nvim_list_wins() > 1 then
          pcall(vim.api.nvim_win_close, win, true)
        end
      end
    end
  end
end
M.close = close_view

local send, stop, toggle_or_load

local function map(buf, modes, lhs, fn, desc)
  if lhs and lhs ~= "" then
    vim.keymap.set(modes, lhs, fn, { buffer = buf, nowait = true, silent = true, desc = "lsp-agent chat: " .. desc })
  end
end

local function prompt_buffer()
  if S.prompt_buf and vim.api.nvim_buf_is_valid(S.prompt_buf) then
    return S.prompt_buf
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  pcall(vim.api.nvim_buf_set_name, buf, "lsp-agent://chat/prompt")
  vim.bo[buf].filetype = "markdown"
  vim.bo[buf].omnifunc = "v:lua.require'lsp_agent.chat'.omnifunc"
  map(buf, "n", key("send"), function()
    send()
  end, "send the prompt")
  map(buf, { "n", "i" }, key("send_insert"), function()
    send()
  end, "send the prompt")
  map(buf, { "n", "i" }, key("stop"), function()
    stop()
  end, "stop the turn")
  map(buf, "n", key("close"), close_view, "close")
  -- a slash at the start of the prompt offers the server's commands
  vim.keymap.set("i", "/", function()
    local line = vim.api.nvim_get_current_line()
    local col = vim.api.nvim_win_get_cursor(0)[2]
    if vim.api.nvim_win_get_cursor(0)[1] == 1 and line:sub(1, col):match("^%s*$") then
      return "/<C-x><C-o>"
    end
    return "/"
  end, { buffer = buf, expr = true, desc = "lsp-agent chat: slash commands" })
  S.prompt_buf = buf
  return buf
end

local function transcript()
  if S.transcript and S.transcript:valid() then
    return S.transcript
  end
  S.transcript = Transcript.new("lsp-agent://chat")
  local buf = S.transcript.buf
  map(buf, "n", key("stop"), function()
    stop()
  end, "stop the turn")
  map(buf, "n", key("close"), close_view, "close")
  map(buf, "n", "<CR>", function()
    toggle_or_load()
  end, "open or close a tool call, or show earlier messages")
  for _, lhs in ipairs({ "i", "a", "o" }) do
    map(buf, "n", lhs, function()
      local win = vim.fn.bufwinid(S.prompt_buf or -1)
      if win ~= -1 then
        vim.api.nvim_set_current_win(win)
        vim.cmd("startinsert!")
      end
    end, "type a prompt")
  end
  return S.transcript
end

-- Shows the transcript and prompt windows (a split on the right) and focuses the prompt.
local function show()
  local t, pbuf = transcript(), prompt_buffer()
  local twin, pwin = vim.fn.bufwinid(t.buf), vim.fn.bufwinid(pbuf)
  if twin == -1 then
    require("lsp_agent.commands").normal_window()
    local width = opts().width or 0.4
    if width < 1 then
      width = math.floor(vim.o.columns * width)
    end
    vim.cmd("botright " .. math.max(30, width) .. "vsplit")
    twin = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(twin, t.buf)
    t:window(twin, "v:lua.require'lsp_agent.chat'.foldexpr()", "v:lua.require'lsp_agent.chat'.foldtext()")
    pwin = -1
  end
  if pwin == -1 then
    vim.api.nvim_set_current_win(twin)
    vim.cmd("belowright " .. (opts().prompt_height or 6) .. "split")
    pwin = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(pwin, pbuf)
    vim.wo[pwin].winfixheight = true
    vim.wo[pwin].wrap = true
    vim.wo[pwin].winbar = string.format("prompt · %s sends · %s stops · / commands · %s closes",
      tostring(key("send")), tostring(key("stop")), tostring(key("close")))
  end
  vim.api.nvim_set_current_win(pwin)
  refresh_winbar()
  if opts().start_insert ~= false then
    vim.cmd("startinsert!")
  end
end

---------------------------------------------------------------------------
-- Conversations
---------------------------------------------------------------------------

local function adopt(conversation)
  if type(conversation) == "table" and conversation.id then
    S.conversation_id = tostring(conversation.id)
    S.title = conversation.title ~= vim.NIL and conversation.title or ""
  end
  refresh_winbar()
end

local history_limit = 50

-- Runs a command of the chat's conversation. While such commands run the chat is loading: a
-- prompt sent meanwhile waits for them (the history must not land over a running turn).
local function run(command, args, on_result, background)
  if not background then
    S.loading = (S.loading or 0) + 1
  end
  local function settled()
    if background then
      return
    end
    S.loading = math.max(0, S.loading - 1)
    if S.loading == 0 and S.queued then
      S.queued = false
      vim.schedule(function()
        send()
      end)
    end
  end
  agent.execute(command, args, {
    client_id = S.client_id,
    render = false,
    on_result = function(result)
      local ok, err = pcall(on_result, type(result.data) == "table" and result.data or {})
      settled()
      if not ok then
        error(err)
      end
    end,
    on_error = function(err)
      vim.notify(require("lsp_agent.messages").error(command, err))
      settled()
    end,
  })
end

-- Shows a conversation's newest messages (replacing the transcript), or the page before
-- S.older when older is true.
local function load_history(id, older)
  local args = { id = id, limit = history_limit }
  if older then
    args.before = S.older
  end
  run("lspAgent.conversation.history", args, function(d)
    local t = transcript()
    local recs = render.history(d.messages, true)
    if d.has_more then
      table.insert(recs, 1, render.older_line())
    end
    S.older = d.has_more and d.before or nil
    if older then
      t:remove_line(1)
      if #recs > 0 then
        table.insert(recs, { text = "" })
      end
      t:prepend(recs)
    else
      t:clear()
      adopt(d.conversation)
      t:append(recs, "lines")
    end
  end, older)
end

toggle_or_load = function()
  local lnum = vim.api.nvim_win_get_cursor(0)[1]
  if lnum == 1 and S.older and vim.api.nvim_get_current_line():find("^⋯") then
    return load_history(S.conversation_id, true)
  end
  if vim.fn.foldlevel(lnum) > 0 then
    vim.cmd("normal! za")
  end
end

-- Binds the chat to `client` (another workspace's chat starts over).
local function bind(client)
  if S.client_id == client.id then
    return false
  end
  if M.busy() then
    stop()
  end
  S.client_id, S.conversation_id, S.title, S.turn, S.usage, S.older = client.id, nil, nil, nil, nil, nil
  transcript():clear()
  return true
end

local function with_chat(fn)
  agent.with_client(function(client)
    local fresh = bind(client)
    show()
    fn(client, fresh)
  end)
end

-- :LspAgent chat: the chat of this workspace, on its active conversation.
function M.open()
  with_chat(function(_, fresh)
    if not fresh then
      return
    end
    run("lspAgent.conversation.list", {}, function(d)
      if d.active and d.active ~= vim.NIL then
        S.conversation_id = tostring(d.active)
        load_history(S.conversation_id)
      end
    end)
  end)
end

function M.new(title)
  with_chat(function()
    run("lspAgent.conversation.new", (title and title ~= "") and { title = title } or {}, function(d)
      S.older = nil
      transcript():clear()
      adopt(d.conversation)
    end)
  end)
end

function M.fork(title)
  with_chat(function()
    local args = { id = S.conversation_id, title = (title and title ~= "") and title or nil }
    run("lspAgent.conversation.fork", args, function(d)
      local conv = d.conversation
      adopt(conv)
      transcript():append(render.note("Forked into " .. ((conv.title and conv.title ~= "") and conv.title or "a copy")
        .. " (" .. tostring(conv.id) .. "): the conversation continues here."), "note")
    end)
  end)
end

-- Shows conversation `id` in the chat (made the active one when `activate`).
local function show_conversation(id, activate)
  if not activate then
    S.conversation_id = id
    return load_history(id)
  end
  run("lspAgent.conversation.switch", { id = id }, function(d)
    adopt(d.conversation)
    load_history(S.conversation_id)
  end)
end

function M.switch(id)
  with_chat(function()
    if id and id ~= "" then
      return show_conversation(id, true)
    end
    run("lspAgent.conversation.list", {}, function(d)
      local convs = d.conversations or {}
      if #convs == 0 then
        return vim.notify("lsp-agent: there are no conversations yet; send a prompt to start one.", vim.log.levels.WARN)
      end
      vim.ui.select(convs, {
        prompt = "Switch the chat to: ",
        format_item = function(c)
          local title = (c.title and c.title ~= "" and c.title ~= vim.NIL) and c.title or "(untitled)"
          return string.format("%s%s  (%s messages)", c.active and "* " or "  ", title, tostring(c.messages or 0))
        end,
      }, function(choice)
        if choice then
          show_conversation(tostring(choice.id), true)
        end
      end)
    end)
  end)
end

-- :LspAgent conversation history [id]: a conversation in the chat, without making it active
-- (prompts sent there continue it).
function M.history(id)
  with_chat(function()
    show_conversation(id, false)
  end)
end

-- What the turn's code (chat_turn.lua) may use of the view.
local view = {
  state = S, transcript = transcript, refresh_winbar = refresh_winbar, adopt = adopt, busy = M.busy,
  loading = function()
    return (S.loading or 0) > 0
  end,
}
local turn = require("lsp_agent.chat_turn")

send = function()
  turn.send(view)
end
stop = function()
  turn.stop(view)
end
M.send, M.stop = send, stop

-- For ui.on_event: writes the event if it belongs to the chat's turn; true when it did.
function M.on_event(ev, client_id)
  return turn.on_event(view, ev, client_id)
end

-- omnifunc of the prompt area: the server's slash commands.
function M.omnifunc(findstart, base)
  return turn.omnifunc(view, findstart, base)
end

-- Runs `sub` of :LspAgent chat [new [TITLE] | switch [ID] | fork [TITLE]].
function M.command(sub, rest)
  if sub == "" then
    return M.open()
  elseif sub == "new" then
    return M.new(rest)
  elseif sub == "switch" then
    return M.switch(rest)
  elseif sub == "fork" then
    return M.fork(rest)
  end
  vim.notify("lsp-agent: :LspAgent chat takes new [title], switch [id] or fork [title], not " .. sub .. ".", vim.log.levels.ERROR)
end

return M

-- :LspAgent chat against the real server: streamed text, folded tool calls, inline approvals
-- through vim.ui.select, stop with a mapping, slash commands, new / fork / switch.
local H = require("harness")
local agent = require("lsp_agent")
local ui = require("lsp_agent.ui")
local config = require("lsp_agent.config")
local check, find = H.check, H.find

local function buf_named(name)
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(b) == name then
      return b
    end
  end
end

local function chat_bufs()
  return buf_named("lsp-agent://chat"), buf_named("lsp-agent://chat/prompt")
end

local function transcript()
  local t = chat_bufs()
  return t and H.buf_text(t) or ""
end

-- Types a prompt in the prompt area and sends it with the send mapping.
local function send(text)
  local _, prompt = chat_bufs()
  local win = vim.fn.bufwinid(prompt)
  check(win ~= -1, "the prompt area is shown")
  vim.api.nvim_set_current_win(win)
  vim.api.nvim_buf_set_lines(prompt, 0, -1, false, vim.split(text, "\n"))
  H.press(config.options.chat.keys.send)
end

local function events_since(n)
  return vim.list_slice(ui.events, n + 1)
end

local function wait_done(n, what)
  H.wait_for(function()
    return find(events_since(n), function(e)
      return e.type == "done"
    end) ~= nil
  end, "the done event of " .. what)
  H.wait_for(function()
    return not require("lsp_agent.chat").busy()
  end, "the chat's turn to end")
end

local function active_conversation()
  return H.sync("lspAgent.conversation.list").active
end

H.test(":LspAgent chat streams a turn: text, a folded tool call, an approval answered in vim.ui.select", function()
  H.open_file("main.py")
  H.use_script("chat.json")
  vim.cmd("LspAgent chat")
  H.wait_for(function()
    local t, p = chat_bufs()
    return t and p and vim.fn.bufwinid(t) ~= -1 and vim.fn.bufwinid(p) ~= -1
  end, "the chat windows")
  local tbuf, pbuf = chat_bufs()
  check(vim.api.nvim_get_current_buf() == pbuf, "the focus is in the prompt area")
  H.wait_for(function()
    return not require("lsp_agent.chat").state().loading or require("lsp_agent.chat").state().loading == 0
  end, "the active conversation's history")
  -- every state of the transcript while the turn runs
  local states, seen_done = {}, false
  config.options.events.on_event = function(ev)
    if ev.type == "done" then
      seen_done = true
    elseif not seen_done then
      local text = H.buf_text(tbuf)
      if states[#states] ~= text then
        table.insert(states, text)
      end
    end
  end
  H.selects = {}
  local n = #ui.events
  send("please run echo hi")
  check(H.buf_text(pbuf) == "", "the prompt area is emptied")
  local ok, err = pcall(wait_done, n, "the chat turn")
  config.options.events.on_event = nil
  assert(ok, err)
  check(#states >= 3, "at least 3 distinct transcript states before done", #states)
  local text = transcript()
  for _, want in ipairs({ "please run echo hi", "I will run it to see what it prints.", "run_command", "The command printed hi" }) do
    check(text:find(want, 1, true), "the transcript shows: " .. want, text)
  end
  local approval = find(H.selects, function(s)
    return vim.tbl_contains(s.items, "Allow")
  end)
  check(approval and vim.tbl_contains(approval.items, "Deny") and vim.tbl_contains(approval.items, "Always allow"),
    "the approval was asked in vim.ui.select", H.selects)
  check(find(events_since(n), function(e)
    return e.type == "approval_request" and e.inline == true
  end), "an inline approval request", events_since(n))
  check(find(events_since(n), function(e)
    return e.type == "approval_result" and e.allowed == true
  end), "answered Allow through lspAgent.approve", events_since(n))
  -- the tool call is a closed fold holding its result
  local win = vim.fn.bufwinid(tbuf)
  local lines = vim.api.nvim_buf_get_lines(tbuf, 0, -1, false)
  local call
  for i, l in ipairs(lines) do
    if l:find("run_command", 1, true) and not call then
      call = i
    end
  end
  check(call, "a tool call line", lines)
  vim.api.nvim_win_call(win, function()
    check(vim.fn.foldclosed(call) == call, "the tool call is folded", { line = lines[call], level = vim.fn.foldlevel(call) })
    local last = vim.fn.foldclosedend(call)
    local body = table.concat(vim.list_slice(lines, call, last), "\n")
    check(body:find("hi", 1, true), "its result is inside the fold", body)
  end)
  -- heading markers are concealed once the burst of writes is over
  local ok = vim.wait(2000, function()
    return #H.visible_markup(win) == 0
  end, 20)
  check(ok, "the transcript's markdown is rendered", H.visible_markup(win))
end)

H.test("the stop mapping stops a streaming turn", function()
  H.use_script("chat-stop.json")
  local tbuf, pbuf = chat_bufs()
  local n = #ui.events
  send("count slowly")
  H.wait_for(function()
    return transcript():find("one two", 1, true) ~= nil
  end, "the first words")
  vim.api.nvim_set_current_win(vim.fn.bufwinid(pbuf))
  H.press(config.options.chat.keys.stop)
  wait_done(n, "the stopped turn")
  local done = find(events_since(n), function(e)
    return e.type == "done"
  end)
  check(done.stopped == "cancelled", "the turn ended as cancelled", done)
  local text = transcript()
  check(not text:find("twenty", 1, true), "it stopped before the end", text)
  check(text:find("(stopped by the user)", 1, true), "the transcript shows the server's end of the turn", text)
  check(vim.api.nvim_buf_is_valid(tbuf), "the chat is still there")
end)

H.test("an edit approval shows the proposed change as a diff, then the edit is allowed", function()
  H.use_script("chat-edit.json")
  local asked = 0
  H.pick = function(items)
    if vim.tbl_contains(items, "Show the change") then
      asked = asked + 1
      return asked == 1 and "Show the change" or "Allow"
    end
    return items[1]
  end
  local n = #ui.events
  send("mention python3 in the README")
  wait_done(n, "the edit turn")
  check(asked == 2, "asked again after showing the change", asked)
  local diff = find(vim.api.nvim_list_bufs(), function(b)
    return vim.api.nvim_buf_is_loaded(b) and vim.bo[b].filetype == "diff"
  end)
  check(diff, "a diff buffer")
  local text = H.buf_text(diff)
  check(text:find("README.md", 1, true) and text:find("+Run `python3 main.py` (CHAT_EDIT).", 1, true), "the proposed change", text)
  H.wait_for(function()
    return table.concat(vim.fn.readfile(H.ws .. "/README.md"), "\n"):find("CHAT_EDIT", 1, true) ~= nil
  end, "the edit on disk")
  check(transcript():find("README updated.", 1, true), "the agent saw the edit applied")
  vim.api.nvim_win_close(vim.fn.bufwinid(diff), true)
end)

H.test("slash commands: completion from the server's list, /help answered in the chat", function()
  local _, pbuf = chat_bufs()
  vim.api.nvim_set_current_win(vim.fn.bufwinid(pbuf))
  vim.api.nvim_buf_set_lines(pbuf, 0, -1, false, { "/he" })
  vim.api.nvim_win_set_cursor(0, { 1, 3 })
  local omni = vim.bo[pbuf].omnifunc
  check(omni ~= "", "the prompt area completes")
  local function complete(findstart, base)
    return vim.fn.eval(string.format("%s(%d, '%s')", omni, findstart, base))
  end
  local start = complete(1, "")
  check(start == 0, "completion starts at the slash", start)
  local items = complete(0, "/he")
  check(find(items, function(i)
    return i.word == "/help"
  end), "/help is offered", items)
  local all = complete(0, "/")
  local advertised = agent.client().server_capabilities.experimental.lspAgent.slashCommands
  check(#all == #advertised, "every advertised command", { all = #all, advertised = advertised })
  local n = #H.notes
  send("/help")
  H.wait_for(function()
    return transcript():find("/remember", 1, true) ~= nil
  end, "the /help text in the transcript")
  check(not require("lsp_agent.chat").busy(), "a slash command is not a running turn")
  -- /new: the chat moves to the new conversation, with an empty transcript
  send("/new Slashed")
  H.wait_for(function()
    local active = active_conversation()
    return active ~= vim.NIL and require("lsp_agent.chat").state().conversation_id == active
      and not transcript():find("/remember", 1, true)
  end, "the chat on the conversation /new made")
  local conv = find(H.sync("lspAgent.conversation.list").conversations, function(c)
    return c.active
  end)
  check(conv.title == "Slashed", "titled by /new", conv)
  check(#vim.tbl_filter(function(x)
    return x.level == vim.log.levels.ERROR
  end, H.notes_since(n)) == 0, "no error", H.notes_since(n))
end)

local first_id, fork_id
H.test(":LspAgent chat new, fork and switch", function()
  local before = active_conversation()
  vim.cmd("LspAgent chat new Birds")
  H.wait_for(function()
    local state = require("lsp_agent.chat").state()
    return state.conversation_id ~= before and state.title == "Birds" and state.loading == 0
  end, "the chat on a new conversation")
  check(vim.trim(transcript()) == "", "with an empty transcript", transcript())
  first_id = active_conversation()
  check(first_id and first_id ~= vim.NIL, "a new active conversation", first_id)
  local conv = find(H.sync("lspAgent.conversation.list").conversations, function(c)
    return c.id == first_id
  end)
  check(conv.title == "Birds", "titled as asked", conv)
  H.use_script("chat-pelican.json")
  local n = #ui.events
  send("remember the word PELICAN")
  wait_done(n, "the turn in the new conversation")
  check(transcript():find("the word is PELICAN", 1, true), "reply shown", transcript())
  local function holds(id, text)
    local msgs = H.sync("lspAgent.conversation.history", { id = id }).messages
    return find(msgs, function(m)
      return tostring(m.content):find(text, 1, true) ~= nil
    end) ~= nil
  end
  check(holds(first_id, "remember the word PELICAN"), "the turn went to the new conversation")

  vim.cmd("LspAgent chat fork")
  H.wait_for(function()
    return active_conversation() ~= first_id
  end, "the fork to become active")
  fork_id = active_conversation()
  local fork = find(H.sync("lspAgent.conversation.list").conversations, function(c)
    return c.id == fork_id
  end)
  check(fork.parent_id == first_id, "forked from the conversation shown", fork)
  check(transcript():find("PELICAN", 1, true), "the fork keeps the transcript")
  H.use_script("chat-fork.json")
  n = #ui.events
  send("and in the fork?")
  wait_done(n, "the turn in the fork")
  check(holds(fork_id, "and in the fork?") and not holds(first_id, "and in the fork?"), "the turn went to the fork")
  check(transcript():find("OSPREY", 1, true), "fork reply shown")

  vim.cmd("LspAgent chat switch " .. first_id)
  H.wait_for(function()
    local t = transcript()
    return t:find("PELICAN", 1, true) ~= nil and not t:find("OSPREY", 1, true)
  end, "the first conversation's history")
  check(active_conversation() == first_id, "switched back")
  -- without an id: picked from the list (the stub takes the first entry)
  H.selects = {}
  vim.cmd("LspAgent chat switch")
  H.wait_for(function()
    return #H.selects == 1
  end, "the conversation picker")
  check(type(H.selects[1].items[1]) == "table" and H.selects[1].items[1].id, "conversations offered", H.selects[1].items)
  H.wait_for(function()
    return active_conversation() == H.selects[1].items[1].id
  end, "the picked conversation to be active")
end)

H.test("the chat closes with q; its history comes back from the server", function()
  local tbuf, pbuf = chat_bufs()
  vim.api.nvim_set_current_win(vim.fn.bufwinid(pbuf))
  H.press(config.options.chat.keys.close)
  check(vim.fn.bufwinid(tbuf) == -1 and vim.fn.bufwinid(pbuf) == -1, "both windows closed")
  vim.cmd("bwipeout! " .. tbuf) -- nothing left in Neovim: the transcript must come from the server
  vim.cmd("LspAgent chat switch " .. first_id)
  H.wait_for(function()
    local t = transcript()
    return t:find("remember the word PELICAN", 1, true) ~= nil and t:find("the word is PELICAN", 1, true) ~= nil
  end, "the chat to reopen with the conversation's history")
  local t = chat_bufs()
  check(vim.fn.bufwinid(t) ~= -1, "shown again")
end)

H.test(":LspAgent conversation history, rename and delete", function()
  vim.cmd("LspAgent conversation history " .. fork_id)
  H.wait_for(function()
    return transcript():find("OSPREY", 1, true) ~= nil
  end, "the fork's history in the chat")
  check(active_conversation() == first_id, "history does not switch")
  local n = #H.notes
  H.run("LspAgent conversation rename " .. fork_id .. " Seabirds", "lspAgent.conversation.rename")
  local conv = find(H.sync("lspAgent.conversation.list").conversations, function(c)
    return c.id == fork_id
  end)
  check(conv.title == "Seabirds", "renamed", conv)
  check(find(H.notes_since(n), function(x)
    return x.msg:find("Seabirds", 1, true)
  end), "the rename is confirmed", H.notes_since(n))
  H.run("LspAgent conversation delete " .. fork_id, "lspAgent.conversation.delete")
  check(not find(H.sync("lspAgent.conversation.list").conversations, function(c)
    return c.id == fork_id
  end), "deleted (after the server asked)")
  check(not transcript():find("OSPREY", 1, true), "the chat no longer shows it")
end)

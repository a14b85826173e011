-- A chat turn: the prompt sent to lspAgent.ask (inline approvals), its lspAgent/event
-- notifications written to the transcript, approvals asked with vim.ui.select and answered with
-- lspAgent.approve, the stop that cancels the request, slash command completion.
local agent = require("lsp_agent")
local messages = require("lsp_agent.messages")
local render = require("lsp_agent.chat_render")

local M = {}

local ANSWERS = { allow = "Allow", always = "Always allow", deny = "Deny" }
local SHOW_EDIT = "Show the change"

local function present(v)
  return v ~= nil and v ~= vim.NIL and v ~= ""
end

-- The proposed edit of an approval as a diff in a scratch split (read-only).
local function show_edit(edit)
  local path = present(edit.path) and edit.path or (present(edit.uri) and vim.uri_to_fname(edit.uri)) or ""
  local old = ""
  local buf = vim.fn.bufnr(path)
  if buf ~= -1 and vim.api.nvim_buf_is_loaded(buf) then
    old = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n") .. "\n"
  elseif path ~= "" and vim.fn.filereadable(path) == 1 then
    old = table.concat(vim.fn.readfile(path), "\n") .. "\n"
  end
  local new = tostring(edit.new_text or "")
  local diff = (vim.text and vim.text.diff or vim.diff)(old, new, { result_type = "unified" }) or ""
  local out = vim.api.nvim_create_buf(false, true)
  vim.bo[out].bufhidden = "wipe"
  local lines = { "--- " .. path, "+++ " .. path .. " (proposed)" }
  vim.list_extend(lines, render.split(diff ~= "" and diff or "(no change)"))
  vim.api.nvim_buf_set_lines(out, 0, -1, false, lines)
  vim.bo[out].modifiable = false
  vim.bo[out].filetype = "diff"
  vim.cmd("botright split")
  vim.api.nvim_win_set_buf(0, out)
  vim.keymap.set("n", "q", "<cmd>close<cr>", { buffer = out, nowait = true, silent = true })
end

-- Asks the user about an inline approval and relays the answer.
local function ask_approval(view, ev)
  local S = view.state
  local items = {}
  for _, c in ipairs(type(ev.choices) == "table" and ev.choices or { "allow", "always", "deny" }) do
    if ANSWERS[c] then
      table.insert(items, ANSWERS[c])
    end
  end
  if type(ev.edit) == "table" then
    table.insert(items, SHOW_EDIT)
  end
  local what = messages.one_line((ev.action or "The agent asks") .. (present(ev.detail) and (": " .. ev.detail) or ""))
  vim.ui.select(items, { prompt = "lsp-agent: " .. what, kind = "lsp_agent_approval" }, function(choice)
    if choice == SHOW_EDIT then
      show_edit(ev.edit)
      return vim.schedule(function()
        ask_approval(view, ev)
      end)
    end
    local answer = "deny" -- dismissing the question refuses
    for k, label in pairs(ANSWERS) do
      if label == choice then
        answer = k
      end
    end
    agent.execute("lspAgent.approve", { approval_id = ev.approval_id, answer = answer }, {
      client_id = S.client_id,
      render = false,
      on_error = function(err)
        view.transcript():append(render.note(messages.error("lspAgent.approve", err), "ErrorMsg"), "note")
      end,
    })
  end)
end

local function finish(view)
  local S = view.state
  if S.turn then
    S.turn.running = false
  end
  view.refresh_winbar()
end

local function on_result(view, turn, result)
  local S = view.state
  local d = type(result.data) == "table" and result.data or {}
  local t = view.transcript()
  if turn.slash then
    if d.slash == "new" then
      t:clear() -- a new conversation starts with an empty transcript
    end
    t:text(type(result.markdown) == "string" and result.markdown or "")
    if present(d.conversation_id) and tostring(d.conversation_id) ~= S.conversation_id then
      S.conversation_id, S.title = tostring(d.conversation_id), nil
    end
  else
    if not turn.turn_id and present(d.reply) then
      t:text(d.reply) -- a server that does not stream: the reply as a whole
    end
    if present(d.conversation_id) then
      S.conversation_id = tostring(d.conversation_id)
    end
  end
  if turn == S.turn then
    finish(view)
  end
end

local function on_error(view, turn, err)
  local S = view.state
  if type(err) == "table" and err.code == -32800 then
    -- the server may answer the cancel before the turn's last events: wait for its `done`
    if not turn.done then
      return vim.defer_fn(function()
        if not turn.done and turn == S.turn and turn.running then
          view.transcript():append(render.note("(stopped)", "WarningMsg"), "note")
          finish(view)
        end
      end, 3000)
    end
  else
    local text = messages.error("lspAgent.ask", err)
    view.transcript():append(render.note(text, "ErrorMsg"), "note")
    if vim.fn.bufwinid(view.transcript().buf) == -1 then
      vim.notify(text, vim.log.levels.ERROR) -- nobody sees the transcript
    end
  end
  if turn == S.turn then
    finish(view)
  end
end

-- Sends what the prompt area holds.
function M.send(view)
  local S = view.state
  local pbuf = S.prompt_buf
  if not (pbuf and vim.api.nvim_buf_is_valid(pbuf)) then
    return
  end
  local text = vim.trim(table.concat(vim.api.nvim_buf_get_lines(pbuf, 0, -1, false), "\n"))
  if text == "" then
    return
  end
  if view.loading() then
    S.queued = true -- sent once the conversation is shown
    return
  end
  if view.busy() then
    return vim.notify("lsp-agent: the agent is still answering; " .. tostring(require("lsp_agent.config").options.chat.keys.stop)
      .. " stops it.", vim.log.levels.WARN)
  end
  vim.api.nvim_buf_set_lines(pbuf, 0, -1, false, {})
  local t = view.transcript()
  -- "/cmd" is run by the server; "//text" sends "/text" to the model
  local slash = text:sub(1, 1) == "/" and text:sub(2, 2) ~= "/"
  t:append(render.user(text, t:line_count() == 0, slash and "lsp-agent" or "Agent"), "header")
  local stored = text:sub(1, 2) == "//" and text:sub(2) or text -- what turn_start will say
  local turn = { prompt = stored, slash = slash, running = true, last_seq = 0, streamed = "" }
  S.turn = turn
  local args = { prompt = text, inline_approvals = true }
  if S.conversation_id then
    args.conversation_id = S.conversation_id
  end
  agent.execute("lspAgent.ask", args, {
    client_id = S.client_id,
    render = false,
    on_request = function(id, client)
      turn.request_id, turn.client = id, client
    end,
    on_result = function(result)
      on_result(view, turn, result)
    end,
    on_error = function(err)
      on_error(view, turn, err)
    end,
  })
  view.refresh_winbar()
end

-- Stops the running turn: the request is cancelled, the server ends the turn.
function M.stop(view)
  local turn = view.state.turn
  if not (turn and turn.running) then
    return vim.notify("lsp-agent: nothing to stop.", vim.log.levels.INFO)
  end
  if turn.client and turn.request_id then
    agent.cancel_request(turn.client, turn.request_id)
    vim.api.nvim_echo({ { "lsp-agent: stopping…", "Comment" } }, false, {})
  end
end

-- Writes an event of the chat's turn. Returns true when the event was the chat's.
function M.on_event(view, ev, client_id)
  local S = view.state
  local turn = S.turn
  if not (turn and turn.running and client_id == S.client_id and type(ev) == "table") then
    return false
  end
  if not turn.turn_id then
    -- our turn is the one that starts with our prompt (in our conversation, if known)
    if ev.type ~= "turn_start" or turn.slash
      or (present(ev.prompt) and vim.trim(tostring(ev.prompt)) ~= turn.prompt)
      or (S.conversation_id and present(ev.conversation_id) and tostring(ev.conversation_id) ~= S.conversation_id) then
      return false
    end
    turn.turn_id = ev.turn_id
    if present(ev.conversation_id) then
      S.conversation_id = tostring(ev.conversation_id)
    end
  elseif ev.turn_id ~= turn.turn_id then
    return false
  end
  local seq = tonumber(ev.seq)
  if seq then
    if seq <= turn.last_seq then
      return true -- late or repeated
    end
    turn.last_seq = seq
  end
  local t = view.transcript()
  if ev.type == "text_delta" then
    if present(ev.text) then
      turn.streamed = turn.streamed .. ev.text
      t:text(ev.text)
    end
  elseif ev.type == "message" then
    if turn.streamed == "" and present(ev.text) then
      t:text(ev.text) -- nothing was streamed: the answer whole
    end
  elseif ev.type == "usage" then
    S.usage = ev
    view.refresh_winbar()
  elseif ev.type == "done" then
    turn.done = true
    if type(ev.usage) == "table" then
      S.usage = ev.usage
    end
    finish(view)
  else
    local recs, kind = render.event(ev)
    if recs then
      if kind == "tool" and t.last == "text" then
        table.insert(recs, 1, { text = "" })
      end
      t:append(recs, kind)
    end
    if ev.type == "approval_request" and ev.inline ~= false then
      ask_approval(view, ev)
    end
  end
  return true
end

-- The slash commands the server advertises: [{ name, usage, description }].
local function slash_commands(view)
  local client = vim.lsp.get_client_by_id(view.state.client_id or -1) or agent.client()
  local exp = client and client.server_capabilities and client.server_capabilities.experimental
  local list = type(exp) == "table" and type(exp.lspAgent) == "table" and exp.lspAgent.slashCommands
  return type(list) == "table" and list or {}
end

function M.omnifunc(view, findstart, base)
  if findstart == 1 then
    local row, col = unpack(vim.api.nvim_win_get_cursor(0))
    local before = vim.api.nvim_get_current_line():sub(1, col)
    if row == 1 and before:match("^/%S*$") then
      return 0
    end
    return -3 -- not a command: no completion
  end
  local items = {}
  for _, c in ipairs(slash_commands(view)) do
    local word = tostring(c.name or "")
    if word:sub(1, 1) ~= "/" then
      word = "/" .. word
    end
    if vim.startswith(word, base) then
      table.insert(items, { word = word, menu = present(c.usage) and c.usage or nil,
        info = present(c.description) and c.description or nil })
    end
  end
  return items
end

return M

-- What the chat writes for each event of a turn and for each message of a conversation's
-- history: records { text, level, hl } for the transcript (level ">1" starts a tool call's
-- fold, "1" is inside it).
local M = {}

local DIM = "Comment"
-- Why a turn stopped early (`stopped` of error and done events), in words.
local STOPPED = { max_steps = "too many steps", max_tokens = "too many tokens", timeout = "out of time", cancelled = "by you" }
local RESULT_LINES = 12

local function one_line(s)
  return vim.trim((tostring(s or ""):gsub("%s+", " ")))
end

local function present(v)
  return v ~= nil and v ~= vim.NIL and v ~= ""
end

local function split(text)
  text = tostring(text or ""):gsub("\r\n", "\n")
  local lines = vim.split(text, "\n", { plain = true })
  while #lines > 1 and lines[#lines] == "" do
    table.remove(lines)
  end
  return lines
end
M.split = split

-- "## You" and the prompt, then the header the answer streams under.
function M.user(prompt, first, answer_header)
  local out = {}
  if not first then
    table.insert(out, { text = "" })
  end
  table.insert(out, { text = "## You" })
  for _, l in ipairs(split(prompt)) do
    table.insert(out, { text = l })
  end
  table.insert(out, { text = "" })
  table.insert(out, { text = "## " .. (answer_header or "Agent") })
  return out
end

function M.tool_call(text)
  return { text = "▸ " .. one_line(text), level = ">1", hl = "Special" }
end

local function tool_body(text, ok)
  local out = {}
  local lines = split(text)
  for i, l in ipairs(lines) do
    if i > RESULT_LINES then
      table.insert(out, { text = string.format("      … %d more lines", #lines - RESULT_LINES), level = "1", hl = DIM })
      break
    end
    local mark = i == 1 and (ok == false and "✗ " or "→ ") or "  "
    table.insert(out, { text = "    " .. mark .. l, level = "1", hl = DIM })
  end
  return out
end

-- Records for one event of a turn (nil: nothing to write). Text deltas are streamed apart.
function M.event(ev)
  local t = ev.type
  if t == "thinking" and present(ev.text) then
    local out = {}
    for _, l in ipairs(split(ev.text)) do
      table.insert(out, { text = "  " .. l, hl = DIM })
    end
    return out, "note"
  elseif t == "tool_call" then
    local text = present(ev.text) and ev.text or tostring(ev.tool or "tool")
    return { M.tool_call(text) }, "tool"
  elseif t == "approval_request" then
    local what = one_line((ev.action or "approval") .. (present(ev.detail) and (": " .. ev.detail) or ""))
    return { { text = "    ? " .. what, level = "1", hl = "WarningMsg" } }, "tool"
  elseif t == "approval_result" then
    return { { text = "    " .. (ev.allowed and "✓ allowed" or "✗ denied"), level = "1", hl = DIM } }, "tool"
  elseif t == "tool_result" then
    return tool_body(ev.text, ev.ok), "tool"
  elseif t == "memory_change" then
    local text
    if present(ev.block) then
      text = string.format("✎ memory: %s is now version %s%s", ev.block, tostring(ev.version),
        present(ev.reason) and (" (" .. one_line(ev.reason) .. ")") or "")
    else
      text = "✎ archival memory: " .. one_line(ev.text)
    end
    return { { text = text, hl = DIM } }, "note"
  elseif t == "error" then
    local text = present(ev.text) and one_line(ev.text) or ""
    if present(ev.stopped) and not text:lower():find("stopped", 1, true) then
      local why = STOPPED[ev.stopped] or tostring(ev.stopped)
      text = "stopped (" .. why .. ")" .. (text ~= "" and (": " .. text) or "")
    end
    return { { text = "⚠ " .. text, hl = "WarningMsg" } }, "note"
  end
end

-- A note of the chat itself (a fork, a failure): dimmed, set apart.
function M.note(text, hl)
  return { { text = "" }, { text = one_line(text), hl = hl or DIM } }
end

local function args_text(args)
  if type(args) == "string" then
    return args
  end
  local ok, enc = pcall(vim.json.encode, args)
  return ok and enc or ""
end

-- Records for history messages (oldest first). first: nothing is above them.
function M.history(messages, first)
  local out = {}
  local pending = {} -- tool calls of the last assistant message, by id, shown with their result
  local order = {}
  local function flush()
    for _, id in ipairs(order) do
      if pending[id] then
        table.insert(out, M.tool_call(pending[id]))
      end
    end
    pending, order = {}, {}
  end
  local prev = first and "none" or "lines"
  for _, m in ipairs(messages or {}) do
    if m.role ~= "tool" then
      flush()
    end
    if m.role == "user" then
      vim.list_extend(out, M.user(m.content, prev == "none"))
      prev = "header"
    elseif m.role == "assistant" then
      if present(m.content) then
        if prev ~= "header" then
          table.insert(out, { text = "" })
        end
        for _, l in ipairs(split(m.content)) do
          table.insert(out, { text = l })
        end
        prev = "text"
      end
      for _, c in ipairs(type(m.tool_calls) == "table" and m.tool_calls or {}) do
        local id = tostring(c.id or #order + 1)
        pending[id] = string.format("%s(%s)", tostring(c.name), one_line(args_text(c.arguments)))
        table.insert(order, id)
        prev = "tool"
      end
    elseif m.role == "tool" then
      local id = tostring(m.tool_call_id or "")
      local header = pending[id] or (tostring(m.name or "tool") .. "(…)")
      pending[id] = nil
      table.insert(out, M.tool_call(header))
      vim.list_extend(out, tool_body(m.content, true))
      prev = "tool"
    elseif m.role == "summary" then
      table.insert(out, { text = "▸ summary of the earlier conversation", level = ">1", hl = DIM })
      for _, l in ipairs(split(m.content)) do
        table.insert(out, { text = "    " .. l, level = "1", hl = DIM })
      end
      prev = "tool"
    end
  end
  flush()
  return out, prev
end

-- The line that loads the page before the first message shown.
function M.older_line()
  return { text = "⋯ earlier messages: press <CR> here to show them", hl = DIM }
end

return M

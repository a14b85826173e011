-- What a :LspAgent command asks for: the selection of its range, key=value options, text typed
-- in vim.ui.input, a block, conversation or passage picked in vim.ui.select.
local agent = require("lsp_agent")

local M = {}

function M.is_file_buf(bufnr)
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
function M.parse_opts(rest, allowed)
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

function M.truthy(v)
  return v == "true" or v == "1" or v == "yes" or v == "on"
end

-- "a,b" -> { "a", "b" } (nil when empty).
function M.tag_list(v)
  if not v or v == "" then
    return nil
  end
  local tags = vim.split(v, ",", { trimempty = true })
  return #tags > 0 and tags or nil
end

function M.input(prompt, default, cb)
  vim.ui.input({ prompt = prompt, default = default }, function(value)
    if value == nil then
      return
    end
    cb(value)
  end)
end

-- Calls send(text) with the given text, else the visual selection, else what the user types.
function M.text_or_selection(text, cmd_opts, prompt, send)
  if text ~= "" then
    return send(text)
  end
  local sel = M.selection(cmd_opts)
  if sel and sel.text ~= "" then
    return send(sel.text)
  end
  M.input(prompt, nil, send)
end

-- Picks a block label (from args or via vim.ui.select), then calls cb(label).
function M.with_label(label, cb, prompt)
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
function M.pick_by_id(command, field, empty, prompt, format_item, cb)
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

function M.with_conversation(id, cb, prompt)
  if id and id ~= "" then
    return cb(id)
  end
  M.pick_by_id("lspAgent.conversation.list", "conversations", "no conversations",
    prompt or "Conversation: ", function(c)
      return string.format("%s%s  (%s messages)  %s", c.active and "* " or "  ", tostring(c.title or c.id), tostring(c.messages or 0), tostring(c.id))
    end, cb)
end

return M

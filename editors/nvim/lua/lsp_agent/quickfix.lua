-- Search hits in the quickfix list: each entry one screen line, `path:line: text` (the path said
-- once); code and skill hits at their location, memory block hits in the block's mirror file
-- (the server locates them), conversation messages without a location.
local config = require("lsp_agent.config")
local messages = require("lsp_agent.messages")

local M = {}

local one_line = messages.one_line

-- The first non-empty line of a snippet.
local function first_line(s)
  for _, l in ipairs(vim.split(tostring(s or ""), "\n", { plain = true })) do
    l = vim.trim(l)
    if l ~= "" then
      return one_line(l)
    end
  end
  return ""
end

-- The entry's text: `[kind] what` without the path the entry already shows.
local function hit_text(hit, located)
  local kind = tostring(hit.kind or "?")
  local title = one_line(hit.title)
  local snippet = first_line(hit.snippet)
  if kind == "code" or kind == "skill" then
    -- a code title is "path:lines symbol": the path and lines are the entry's location
    local symbol = hit.symbol and one_line(hit.symbol) or title:gsub("^%S+:%d[%d-]*%s*", "")
    if snippet ~= "" and (symbol == "" or snippet:find(symbol, 1, true)) then
      return "[" .. kind .. "] " .. snippet
    end
    return "[" .. kind .. "] " .. (symbol ~= "" and (symbol .. ": ") or "") .. snippet
  elseif kind == "block" then
    local label = hit.label and tostring(hit.label) or title:gsub("^Memory block:%s*", "")
    return "[block " .. label .. "] " .. snippet
  end
  if located or title == "" or title == snippet then
    return "[" .. kind .. "] " .. (snippet ~= "" and snippet or title)
  end
  return "[" .. kind .. "] " .. title .. ": " .. snippet
end

-- Protocol Hits as quickfix items (block hits come located in their mirror file).
function M.items(hits)
  local items = {}
  for _, hit in ipairs(hits or {}) do
    local item = { user_data = hit, valid = 0 }
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
    end
    item.text = hit_text(hit, item.valid == 1)
    table.insert(items, item)
  end
  return items
end

-- quickfixtextfunc of our lists: `path:line: text`, cut to the window's width.
function M.text(info)
  local list = info.quickfix == 1 and vim.fn.getqflist({ id = info.id, items = 0, winid = 0 })
    or vim.fn.getloclist(info.winid, { id = info.id, items = 0, winid = 0 })
  local width = (list.winid and list.winid ~= 0) and vim.api.nvim_win_get_width(list.winid) or vim.o.columns
  local out = {}
  for i = info.start_idx, info.end_idx do
    local item = list.items[i]
    local line = item.text
    if item.bufnr and item.bufnr > 0 then
      local name = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(item.bufnr), ":~:.")
      line = string.format("%s:%d: %s", name, item.lnum, item.text)
    end
    if vim.fn.strdisplaywidth(line) > width - 1 then
      line = vim.fn.strcharpart(line, 0, width - 2) .. "…"
      while vim.fn.strdisplaywidth(line) > width - 1 do
        line = vim.fn.strcharpart(line, 0, vim.fn.strchars(line) - 2) .. "…"
      end
    end
    table.insert(out, line)
  end
  return out
end

-- Fills the quickfix list with search hits (and opens it, config.ui.open_quickfix).
function M.set(hits, query, open)
  local items = M.items(hits)
  local title = "lsp-agent: search for “" .. one_line(query) .. "”"
  vim.fn.setqflist({}, " ", {
    title = title,
    items = items,
    quickfixtextfunc = M.text,
  })
  if open == nil then
    open = config.options.ui.open_quickfix
  end
  if open and #items > 0 then
    vim.cmd("botright copen")
  end
  return items
end

return M

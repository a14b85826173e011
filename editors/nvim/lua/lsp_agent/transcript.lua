-- The chat's transcript buffer: markdown written as it streams, tool calls as folds (a header
-- line, then their approval and result lines), dimmed lines for thinking and notes. Lines are
-- appended (or a page of history prepended); each line's fold level is kept here for foldexpr.
local markdown = require("lsp_agent.markdown")

local T = {}
T.__index = T

local ns = vim.api.nvim_create_namespace("lsp_agent_transcript")

function T.new(name)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  pcall(vim.api.nvim_buf_set_name, buf, name)
  local self = setmetatable({ buf = buf, levels = {}, last = "none", empty = true }, T)
  markdown.attach(buf)
  vim.bo[buf].modifiable = false
  return self
end

function T:valid()
  return vim.api.nvim_buf_is_valid(self.buf)
end

local function edit(self, fn)
  vim.bo[self.buf].modifiable = true
  local followers = {}
  local count = vim.api.nvim_buf_line_count(self.buf)
  for _, win in ipairs(vim.fn.win_findbuf(self.buf)) do
    if vim.api.nvim_win_get_cursor(win)[1] >= count then
      table.insert(followers, win) -- at the end: keep following the text
    end
  end
  fn()
  vim.bo[self.buf].modifiable = false
  local new_count = vim.api.nvim_buf_line_count(self.buf)
  for _, win in ipairs(followers) do
    pcall(vim.api.nvim_win_set_cursor, win, { new_count, 0 })
  end
  self:schedule_render()
end

-- Heading markers are concealed once the burst of writes is over.
function T:schedule_render()
  if self.render_pending then
    return
  end
  self.render_pending = true
  vim.defer_fn(function()
    self.render_pending = false
    if self:valid() then
      markdown.conceal_headings(self.buf)
    end
  end, 30)
end

function T:clear()
  edit(self, function()
    vim.api.nvim_buf_set_lines(self.buf, 0, -1, false, {})
    vim.api.nvim_buf_clear_namespace(self.buf, ns, 0, -1)
  end)
  self.levels, self.last, self.empty = {}, "none", true
end

-- Rows to write for records { text, level = ">1" | "1" | nil, hl = group | nil }.
local function write(self, records, row)
  local lines = {}
  for _, r in ipairs(records) do
    table.insert(lines, (tostring(r.text):gsub("\n", " ")))
  end
  if self.empty then
    vim.api.nvim_buf_set_lines(self.buf, 0, -1, false, lines)
    self.empty = false
  else
    vim.api.nvim_buf_set_lines(self.buf, row, row, false, lines)
  end
  for i, r in ipairs(records) do
    local at = row + i - 1
    if r.hl then
      vim.api.nvim_buf_set_extmark(self.buf, ns, at, 0, {
        end_row = at, end_col = #lines[i], hl_group = r.hl, priority = 200,
      })
    end
  end
end

-- Appends whole lines. kind: what they are ("text", "tool", "note", ...), so that streamed
-- text after them starts a paragraph of its own.
function T:append(records, kind)
  if #records == 0 then
    return
  end
  edit(self, function()
    local row = self.empty and 0 or vim.api.nvim_buf_line_count(self.buf)
    write(self, records, row)
    for i, r in ipairs(records) do
      self.levels[row + i] = r.level
    end
  end)
  self.last = kind or "lines"
end

-- Inserts lines at the top (an older page of history): the levels below move down with them.
function T:prepend(records)
  if #records == 0 then
    return
  end
  if self.empty then
    return self:append(records, "lines")
  end
  edit(self, function()
    write(self, records, 0)
    local moved = {}
    for lnum, level in pairs(self.levels) do
      moved[lnum + #records] = level
    end
    for i, r in ipairs(records) do
      moved[i] = r.level
    end
    self.levels = moved
  end)
end

-- Deletes line `lnum` (1-based), e.g. the "earlier messages" line once that page is shown.
function T:remove_line(lnum)
  edit(self, function()
    vim.api.nvim_buf_set_lines(self.buf, lnum - 1, lnum, false, {})
    local moved = {}
    for l, level in pairs(self.levels) do
      if l < lnum then
        moved[l] = level
      elseif l > lnum then
        moved[l - 1] = level
      end
    end
    self.levels = moved
  end)
end

-- Streams text: appended to the current paragraph, newlines start new lines.
function T:text(s)
  if s == nil or s == "" then
    return
  end
  edit(self, function()
    local count = vim.api.nvim_buf_line_count(self.buf)
    if self.empty then
      vim.api.nvim_buf_set_lines(self.buf, 0, -1, false, { "" })
      self.empty = false
    elseif self.last ~= "text" then
      -- a new paragraph after a tool call or a header
      local prev = vim.api.nvim_buf_get_lines(self.buf, count - 1, count, false)[1]
      local add = (prev ~= "" and self.last ~= "header") and { "", "" } or { "" }
      vim.api.nvim_buf_set_lines(self.buf, count, count, false, add)
    end
    count = vim.api.nvim_buf_line_count(self.buf)
    local last = vim.api.nvim_buf_get_lines(self.buf, count - 1, count, false)[1]
    vim.api.nvim_buf_set_text(self.buf, count - 1, #last, count - 1, #last, vim.split(s, "\n", { plain = true }))
  end)
  self.last = "text"
end

function T:line_count()
  return self.empty and 0 or vim.api.nvim_buf_line_count(self.buf)
end

-- foldexpr: ">1" opens a tool call's fold, "1" its lines, "0" the rest.
function T:fold_level(lnum)
  return self.levels[lnum] or "0"
end

-- The window options that show the transcript: rendered markdown, tool calls folded.
function T:window(win, foldexpr, foldtext)
  markdown.window(win)
  vim.wo[win].foldmethod = "expr"
  vim.wo[win].foldexpr = foldexpr
  vim.wo[win].foldtext = foldtext
  vim.wo[win].foldlevel = 0
  vim.wo[win].foldenable = true
  vim.wo[win].fillchars = "fold: "
  vim.wo[win].number = false
  vim.wo[win].relativenumber = false
  vim.wo[win].signcolumn = "no"
end

return T

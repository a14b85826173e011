-- Showing the server's markdown as a reader expects it: highlighted by treesitter's markdown
-- parser with its markup concealed (emphasis, code spans, fences, heading markers), or, without
-- the parser, as plain text with the markup taken out.
local M = {}

local ns = vim.api.nvim_create_namespace("lsp_agent_markdown")
local has_parser = nil

-- Whether treesitter's markdown parsers are there (Neovim 0.10+ bundles them).
function M.available()
  if has_parser == nil then
    has_parser = vim.treesitter ~= nil and vim.treesitter.language ~= nil
      and pcall(vim.treesitter.language.add, "markdown")
      and pcall(vim.treesitter.language.add, "markdown_inline")
      and pcall(vim.treesitter.query.get, "markdown", "highlights")
  end
  return has_parser
end

-- For tests and users without the parser: force plain text.
function M.set_available(v)
  has_parser = v
end

-- Markdown lines as plain text: headings, emphasis and code markers removed.
function M.plain(lines)
  local out = {}
  for _, l in ipairs(lines) do
    if not l:match("^%s*```") then
      l = l:gsub("^(%s*)#+%s+", "%1")
      l = l:gsub("%*%*(.-)%*%*", "%1"):gsub("__(.-)__", "%1")
      l = l:gsub("`([^`]*)`", "%1")
      table.insert(out, l)
    end
  end
  return out
end

-- The lines to put in a buffer shown with M.attach: as they are when treesitter renders them.
function M.prepare(lines)
  if M.available() then
    return lines
  end
  return M.plain(lines)
end

local heading_query = nil

-- Hides the `#` markers of headings between rows first..last (0-based, inclusive), which the
-- bundled queries leave visible; the heading keeps its highlight.
function M.conceal_headings(buf, first, last)
  if not M.available() or not vim.api.nvim_buf_is_valid(buf) then
    return
  end
  first = first or 0
  last = last or (vim.api.nvim_buf_line_count(buf) - 1)
  vim.api.nvim_buf_clear_namespace(buf, ns, first, last + 1)
  local ok, parser = pcall(vim.treesitter.get_parser, buf, "markdown")
  if not ok or not parser then
    return
  end
  parser:parse({ first, last + 1 })
  if not heading_query then
    heading_query = vim.treesitter.query.parse("markdown", [[
      (atx_heading [(atx_h1_marker) (atx_h2_marker) (atx_h3_marker)
                    (atx_h4_marker) (atx_h5_marker) (atx_h6_marker)] @marker)
    ]])
  end
  for _, tree in ipairs(parser:trees()) do
    for _, node in heading_query:iter_captures(tree:root(), buf, first, last + 1) do
      local row, col, _, end_col = node:range()
      local line = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ""
      if line:sub(end_col + 1, end_col + 1) == " " then
        end_col = end_col + 1 -- the space after the marker too
      end
      pcall(vim.api.nvim_buf_set_extmark, buf, ns, row, col, { end_col = end_col, conceal = "" })
    end
  end
end

-- Renders a buffer holding markdown: treesitter highlighting and concealed markup (or nothing
-- to do for plain text). Safe to call again after the buffer changed.
function M.attach(buf)
  vim.bo[buf].filetype = "markdown"
  if not M.available() then
    return false
  end
  if not (vim.treesitter.highlighter and vim.treesitter.highlighter.active[buf]) then
    pcall(vim.treesitter.start, buf, "markdown")
  end
  M.conceal_headings(buf)
  return true
end

-- Window options that make concealed markup disappear (also on the cursor's line).
function M.window(win)
  vim.wo[win].conceallevel = 2
  vim.wo[win].concealcursor = "nc"
  vim.wo[win].wrap = true
  vim.wo[win].linebreak = true
end

return M

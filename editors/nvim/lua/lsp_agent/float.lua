-- The one result float: shown without taking focus, reused by the next result (never stacked),
-- closed when the cursor moves in the window it was shown from, when that window shows another
-- buffer, or with `q` / <Esc> inside it (enter it with <C-w>w to scroll or copy).
local config = require("lsp_agent.config")
local markdown = require("lsp_agent.markdown")

local M = {}

local state = { buf = nil, win = nil, source_win = nil, source_buf = nil, cursor = nil }
local group = vim.api.nvim_create_augroup("lsp_agent_float", { clear = true })

local function valid_win(w)
  return w and vim.api.nvim_win_is_valid(w)
end

function M.close()
  vim.api.nvim_clear_autocmds({ group = group })
  if valid_win(state.win) then
    local back = vim.api.nvim_get_current_win() == state.win and state.source_win
    pcall(vim.api.nvim_win_close, state.win, true)
    if valid_win(back) then
      vim.api.nvim_set_current_win(back)
    end
  end
  state.win = nil
end

-- The window of the float, or nil.
function M.win()
  return valid_win(state.win) and state.win or nil
end

local function buffer()
  if state.buf and vim.api.nvim_buf_is_valid(state.buf) then
    return state.buf
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  for _, key in ipairs({ "q", "<Esc>" }) do
    vim.keymap.set("n", key, M.close, { buffer = buf, nowait = true, silent = true, desc = "Close the lsp-agent result" })
  end
  state.buf = buf
  return buf
end

-- Closes the float once the user moves on in the window it was shown from.
local function watch_source()
  vim.api.nvim_clear_autocmds({ group = group })
  local source_buf = state.source_buf
  vim.api.nvim_create_autocmd({ "CursorMoved", "CursorMovedI", "InsertEnter" }, {
    group = group,
    buffer = source_buf,
    callback = function(ev)
      local win = vim.api.nvim_get_current_win()
      -- an event for the unmoved cursor (e.g. after a window switch) keeps it open
      if ev.event == "InsertEnter" or win ~= state.source_win
        or not vim.deep_equal(vim.api.nvim_win_get_cursor(win), state.cursor) then
        M.close()
      end
    end,
  })
  vim.api.nvim_create_autocmd("BufEnter", {
    group = group,
    callback = function(ev)
      local win = vim.api.nvim_get_current_win()
      if ev.buf ~= state.buf and ev.buf ~= source_buf and win == state.source_win then
        M.close() -- the window it was shown from now shows something else
      end
    end,
  })
end

-- Shows lines of markdown; returns buf, win. The focus stays where it is.
function M.show(lines, title)
  local buf = buffer()
  local shown = markdown.prepare(lines)
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, shown)
  vim.bo[buf].modifiable = false
  local ui = config.options.ui
  local cols, rows = vim.o.columns, vim.o.lines
  local maxw = math.max(20, math.floor(cols * (ui.float_width or 0.8)))
  local maxh = math.max(3, math.floor(rows * (ui.float_height or 0.8)))
  local width = 20
  for _, l in ipairs(shown) do
    width = math.max(width, vim.fn.strdisplaywidth(l) + 2)
  end
  if title then
    width = math.max(width, vim.fn.strdisplaywidth(title) + 4)
  end
  width = math.min(width, maxw)
  local height = 0
  for _, l in ipairs(shown) do
    height = height + math.max(1, math.ceil(vim.fn.strdisplaywidth(l) / width))
  end
  height = math.min(math.max(height, 1), maxh)
  local win_opts = {
    relative = "editor",
    width = width,
    height = height,
    row = math.max(0, math.floor((rows - height) / 2) - 1),
    col = math.max(0, math.floor((cols - width) / 2)),
    style = "minimal",
    border = ui.border or "rounded",
    focusable = true,
  }
  if title then
    win_opts.title = " " .. title .. " "
    win_opts.title_pos = "center"
  end
  local current = vim.api.nvim_get_current_win()
  if current ~= state.win then
    state.source_win = current
    state.source_buf = vim.api.nvim_get_current_buf()
    state.cursor = vim.api.nvim_win_get_cursor(current)
  end
  if valid_win(state.win) then
    vim.api.nvim_win_set_config(state.win, win_opts)
  else
    state.win = vim.api.nvim_open_win(buf, false, win_opts)
  end
  markdown.attach(buf)
  markdown.window(state.win)
  pcall(vim.api.nvim_win_set_cursor, state.win, { 1, 0 })
  watch_source()
  return buf, state.win
end

return M

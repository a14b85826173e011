-- Test helpers shared by the e2e files run in a real headless Neovim against a real server:
-- a tiny TAP-like runner, captured notifications, stubbed pickers, waiting for results.
local H = {}

H.tmp = assert(os.getenv("LSP_AGENT_E2E_DIR"))
H.ws = H.tmp .. "/workspace"
H.store = H.tmp .. "/store"
H.TIMEOUT = tonumber(os.getenv("LSP_AGENT_E2E_TIMEOUT") or "") or 60000

local agent = require("lsp_agent")
H.passed, H.failed = 0, 0

function H.say(s)
  io.stdout:write(s .. "\n")
  io.stdout:flush()
end

-- Every vim.notify call: { msg, level }.
H.notes = {}
vim.notify = function(msg, level)
  table.insert(H.notes, { msg = tostring(msg), level = level })
  io.stderr:write("[notify " .. tostring(level) .. "] " .. tostring(msg) .. "\n")
end

function H.notes_since(n)
  return vim.list_slice(H.notes, n + 1)
end

-- vim.ui.select stub: records every call; H.pick(items, opts) chooses (default: "Allow" when
-- offered, else the first item). Returning "hold" keeps the callback in H.held.
H.selects = {}
H.pick = nil
H.held = nil
vim.ui.select = function(items, opts, on_choice)
  table.insert(H.selects, { items = items, opts = opts })
  local choice
  if H.pick then
    choice = H.pick(items, opts)
  elseif vim.tbl_contains(items, "Allow") then
    choice = "Allow"
  else
    choice = items[1]
  end
  if choice == "hold" then
    H.held = on_choice
    return
  end
  for i, it in ipairs(items) do
    if it == choice then
      return on_choice(it, i)
    end
  end
  on_choice(nil, nil)
end

H.input_answers = {}
vim.ui.input = function(_, on_confirm)
  on_confirm(table.remove(H.input_answers, 1))
end

function H.close_floats()
  for _, w in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(w).relative ~= "" then
      pcall(vim.api.nvim_win_close, w, true)
    end
  end
end

function H.test(name, fn)
  local t0 = vim.uv.hrtime()
  local ok, err = xpcall(fn, debug.traceback)
  local took = string.format(" (%.1fs)", (vim.uv.hrtime() - t0) / 1e9)
  if ok then
    H.passed = H.passed + 1
    H.say("ok - " .. name .. took)
  else
    H.failed = H.failed + 1
    H.say("not ok - " .. name .. took)
    for _, l in ipairs(vim.split(tostring(err), "\n")) do
      H.say("    " .. l)
    end
  end
  H.pick = nil
  H.close_floats()
end

function H.check(cond, msg, ...)
  if not cond then
    local extra = select("#", ...) > 0 and (": " .. vim.inspect(...)) or ""
    error((msg or "assertion failed") .. extra, 2)
  end
end

function H.wait_for(cond, what, ms)
  if not vim.wait(ms or H.TIMEOUT, cond, 10) then
    error("timed out waiting for " .. what, 2)
  end
end

function H.find(list, pred)
  for _, v in ipairs(list or {}) do
    if pred(v) then
      return v
    end
  end
end

-- Runs an Ex command and waits for the executeCommand outcome of `expect` (result or error).
function H.run_raw(excmd, expect, ms)
  local before = agent.last
  vim.cmd(excmd)
  H.wait_for(function()
    return agent.last ~= before and agent.last ~= nil and agent.last.command == expect
  end, expect .. " after `" .. excmd .. "`", ms)
  return agent.last
end

-- Like run_raw, and the command must succeed: returns its data and result.
function H.run(excmd, expect, ms)
  local last = H.run_raw(excmd, expect, ms)
  if last.err then
    error(expect .. " failed: " .. vim.inspect(last.err), 2)
  end
  return last.result.data, last.result
end

-- Runs a command synchronously (for checking the server's state), failing on errors.
function H.sync(command, args)
  local res, err = agent.execute_sync(command, args or {}, 20000)
  H.check(res, command, err)
  return res.data
end

function H.open_file(rel)
  H.close_floats()
  vim.cmd("edit " .. vim.fn.fnameescape(H.ws .. "/" .. rel))
  local buf = vim.api.nvim_get_current_buf()
  H.wait_for(function()
    local c = agent.get_clients({ bufnr = buf })[1]
    return c ~= nil and c.initialized
  end, "client attached to " .. rel)
  return buf
end

-- Points the server at another model setting and waits until lspAgent.status reports it.
function H.use_model(model)
  agent.update_settings({ model = model })
  local got
  for _ = 1, 100 do
    local r = agent.execute_sync("lspAgent.status", {}, 10000)
    got = r and r.data and r.data.model
    if got == model or (model ~= "" and got and tostring(got):find(model, 1, true)) then
      return
    end
    vim.wait(100)
  end
  error("the server did not pick up model " .. vim.inspect(model) .. " (status.model = " .. tostring(got) .. ")", 2)
end

function H.use_script(file)
  H.use_model("scripted/" .. H.tmp .. "/" .. file)
end

function H.float_wins()
  local wins = {}
  for _, w in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(w).relative ~= "" then
      table.insert(wins, w)
    end
  end
  return wins
end

function H.buf_text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

-- Whether the byte at (row, col) (0-based) is hidden in `win`: concealed by treesitter or by an
-- extmark while 'conceallevel' >= 2.
function H.concealed(win, row, col)
  if vim.wo[win].conceallevel < 2 then
    return false
  end
  local buf = vim.api.nvim_win_get_buf(win)
  local pos = vim.inspect_pos(buf, row, col, { syntax = false, semantic_tokens = false, extmarks = "all" })
  for _, cap in ipairs(pos.treesitter or {}) do
    if cap.metadata and cap.metadata.conceal ~= nil then
      return true
    end
  end
  for _, m in ipairs(pos.extmarks or {}) do
    if m.opts and m.opts.conceal ~= nil then
      return true
    end
  end
  return false
end

-- The markup a reader of `win` would see: every `**` and every heading's `#` marker left visible.
function H.visible_markup(win)
  local buf = vim.api.nvim_win_get_buf(win)
  local raw = {}
  for i, line in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    local start = 1
    while true do
      local s = line:find("**", start, true)
      if not s then
        break
      end
      if not H.concealed(win, i - 1, s - 1) then
        table.insert(raw, line)
      end
      start = s + 2
    end
    if line:match("^#+ ") and not H.concealed(win, i - 1, 0) then
      table.insert(raw, line)
    end
  end
  return raw
end

-- Calls the buffer-local mapping `lhs` (mode `mode`) of the current buffer, as a key press would.
function H.press(lhs, mode)
  local m = vim.fn.maparg(lhs, mode or "n", false, true)
  H.check(m and m.buffer == 1, "a buffer-local mapping for " .. lhs, m)
  if m.callback then
    m.callback()
  else
    vim.api.nvim_feedkeys(vim.keycode(lhs), "mx", false)
  end
end

function H.finish()
  H.say(string.format("%d passed, %d failed", H.passed, H.failed))
  vim.cmd(H.failed == 0 and "qall!" or "cquit 1")
end

return H

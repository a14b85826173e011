-- The defects a new user found (issue 12): each test fails on the plugin before the fix.
local H = require("harness")
local agent = require("lsp_agent")
local check, find, run = H.check, H.find, H.run

local main_win

H.test("setup: the workspace is initialised", function()
  H.open_file("main.py")
  main_win = vim.api.nvim_get_current_win()
  run("LspAgent init", "lspAgent.init")
  run("LspAgent remember Deploys go through the staging cluster named heron", "lspAgent.remember")
end)

H.test("result floats never take focus or stack; cursor move and q close them", function()
  H.open_file("main.py")
  run("LspAgent status", "lspAgent.status")
  check(#H.float_wins() == 1, "one float", H.float_wins())
  check(vim.api.nvim_get_current_win() == main_win, "focus stays in the file's window")
  run("LspAgent memory notes", "lspAgent.memory.show")
  check(#H.float_wins() == 1, "the float is reused, not stacked", #H.float_wins())
  check(vim.api.nvim_get_current_win() == main_win, "focus still in the file's window")
  -- moving the cursor in the file closes it
  vim.api.nvim_win_set_cursor(0, { 3, 0 })
  vim.api.nvim_exec_autocmds("CursorMoved", { buffer = vim.api.nvim_get_current_buf() })
  H.wait_for(function()
    return #H.float_wins() == 0
  end, "the float to close on cursor move", 2000)
  -- q inside it closes it too
  run("LspAgent status", "lspAgent.status")
  local float = H.float_wins()[1]
  vim.api.nvim_set_current_win(float)
  H.press("q")
  check(not vim.api.nvim_win_is_valid(float), "q closed the float")
  check(vim.api.nvim_get_current_win() == main_win, "back in the file's window")
  -- the next command that opens a buffer opens it in a real window, whatever float is around
  run("LspAgent remember The invoice rounding rule is KESTREL", "lspAgent.remember")
  vim.cmd("LspAgent edit notes")
  H.wait_for(function()
    return vim.api.nvim_buf_get_name(0):find("lsp-agent://memory/notes", 1, true) ~= nil
  end, "the block buffer")
  local win = vim.api.nvim_get_current_win()
  check(vim.api.nvim_win_get_config(win).relative == "", "the block opened in a normal window")
  check(vim.api.nvim_win_get_height(win) > 3, "a window of useful height", vim.api.nvim_win_get_height(win))
  vim.cmd("bwipeout!")
end)

H.test("markdown in a result float is rendered: no raw ** or ### markers", function()
  H.open_file("main.py")
  local _, result = run("LspAgent status", "lspAgent.status")
  check(result.markdown:find("**", 1, true) and result.markdown:find("### ", 1, true), "the server sent markup", result.markdown)
  local win = H.float_wins()[1]
  check(win, "a float")
  local raw = H.visible_markup(win)
  check(#raw == 0, "markers hidden from the reader", raw)
  local title = vim.api.nvim_win_get_config(win).title
  local text = type(title) == "table" and table.concat(vim.tbl_map(function(c)
    return c[1]
  end, title)) or tostring(title or "")
  check(text:find("status", 1, true) and not text:find("lspAgent", 1, true), "a title in words", text)
  run("LspAgent memory notes", "lspAgent.memory.show")
  text = vim.api.nvim_win_get_config(H.float_wins()[1]).title
  text = type(text) == "table" and text[1][1] or tostring(text)
  check(not text:find("memory.show", 1, true), "no command name in the title", text)
end)

H.test("errors: no internal names, no schema text; each shown once", function()
  H.open_file("main.py")
  local n = #H.notes
  local last = H.run_raw("LspAgent memory nosuch_block", "lspAgent.memory.show")
  check(last.err, "an error")
  vim.wait(300)
  local errs = vim.tbl_filter(function(x)
    return x.level == vim.log.levels.ERROR
  end, H.notes_since(n))
  check(#errs == 1, "one error shown", H.notes_since(n))
  check(errs[1].msg:find("nosuch_block", 1, true), "it names the block", errs[1].msg)
  check(not errs[1].msg:find("lspAgent", 1, true) and not errs[1].msg:find("memory.show", 1, true), "no internal name", errs[1].msg)
  n = #H.notes
  last = H.run_raw("LspAgent init bogus", "lspAgent.init")
  check(last.err, "an error")
  vim.wait(300)
  local shown = H.notes_since(n)
  check(#shown == 1, "one message", shown)
  local msg = shown[1].msg
  check(msg:find("static", 1, true) and msg:find("deep", 1, true), "says what is expected", msg)
  for _, bad in ipairs({ "Expected an object", "Input should", "workspace?", "uri?", "lspAgent." }) do
    check(not msg:find(bad, 1, true), "no schema text (" .. bad .. ")", msg)
  end
end)

H.test("no model: one whole error with the Neovim way to set one", function()
  H.open_file("main.py")
  H.use_model("")
  local n = #H.notes
  local ok, err = pcall(function()
    local last = H.run_raw("LspAgent ask what is this project?", "lspAgent.ask")
    check(last.err, "ask fails without a model")
    vim.wait(300)
    local about = vim.tbl_filter(function(x)
      return x.msg:lower():find("model", 1, true) ~= nil
    end, H.notes_since(n))
    check(#about == 1, "shown once", H.notes_since(n))
    local msg = about[1].msg
    check(msg:find("setup({ settings = { model = ", 1, true), "Neovim's way to set it", msg)
    check(not msg:find("--model", 1, true) and not msg:find("lspAgent.", 1, true), "no other editor's advice", msg)
    check(msg:match("%.%s*$"), "whole (ends its sentence)", msg)
  end)
  H.use_script("script.json")
  assert(ok, err)
end)

H.test(":checkhealth warns when no model is set", function()
  H.open_file("main.py")
  H.use_model("")
  local ok, err = pcall(function()
    vim.cmd("checkhealth lsp_agent")
    local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
    local warn = find(lines, function(l)
      return l:find("WARNING", 1, true) and l:lower():find("model", 1, true)
    end)
    check(warn, "a warning about the model", lines)
    check(H.buf_text(0):find("setup({ settings = { model = ", 1, true), "with the way to set it", lines)
    check(not find(lines, function(l)
      return l:find("OK", 1, true) and l:find("model: *$")
    end), "no empty model under a tick", lines)
    vim.cmd("bwipeout!")
  end)
  H.use_script("script.json")
  assert(ok, err)
end)

H.test("quickfix: `path:line: text`, once, one screen line; memory hits in their mirror file", function()
  H.open_file("main.py")
  run("LspAgent remember The billing port is ZEBRA_PROTOCOL 7070", "lspAgent.remember")
  local data = run("LspAgent search ZEBRA_PROTOCOL", "lspAgent.search")
  local qf = vim.fn.getqflist({ title = 0, items = 0, winid = 0 })
  check(qf.winid ~= 0, "quickfix window open")
  check(not qf.title:find("\n", 1, true) and not qf.title:find("lspAgent", 1, true), "title in words", qf.title)
  local lines = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(qf.winid), 0, -1, false)
  check(#lines == #data.results, "an entry per hit", lines)
  local width = vim.api.nvim_win_get_width(qf.winid)
  for i, line in ipairs(lines) do
    check(vim.fn.strdisplaywidth(line) <= width, "entry fits one screen line", line)
    local item = qf.items[i]
    if item.bufnr > 0 then
      local name = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(item.bufnr), ":t")
      check(line:find("^[^|]*" .. vim.pesc(name) .. ":" .. item.lnum .. ": "), "`path:line: text`", line)
      local _, count = line:gsub(vim.pesc(name), "")
      check(count == 1, "the path is not repeated", line)
    end
  end
  local blocks = H.sync("lspAgent.memory.show").blocks
  for i, hit in ipairs(data.results) do
    if hit.kind == "block" then
      local block = find(blocks, function(b)
        return b.label == hit.label
      end)
      check(block and block.mirror_path, "memory.show gives the mirror file", block)
      local item = qf.items[i]
      check(item.bufnr > 0 and vim.fn.resolve(vim.api.nvim_buf_get_name(item.bufnr)) == vim.fn.resolve(block.mirror_path),
        "a block hit opens its mirror file", { item = item, mirror = block.mirror_path })
      local text = vim.fn.readfile(block.mirror_path)[item.lnum] or ""
      check(text:find("ZEBRA_PROTOCOL", 1, true), "at the line holding the hit", text)
    end
  end
  check(find(data.results, function(h)
    return h.kind == "block"
  end), "a memory block hit", data.results)
  vim.cmd("cclose")
end)

H.test("code action 'Search memory for …' of a multi-line selection has a one-line title", function()
  local buf = H.open_file("main.py")
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  -- the docstring, a blank line and a comment: no word under the cursor, so the server titles
  -- the action with the selected text itself, newlines included
  check(lines[1]:find('^"""Billing') and lines[2] == "" and lines[3]:find("^# The billing"), "main.py's first lines", lines)
  local titles = {}
  H.pick = function(items, opts)
    for _, it in ipairs(items) do
      table.insert(titles, opts.format_item and opts.format_item(it) or tostring(it))
    end
    return nil
  end
  vim.lsp.buf.code_action({ range = { start = { 1, 0 }, ["end"] = { 3, #lines[3] } } })
  H.wait_for(function()
    return #titles > 0
  end, "the code action list")
  local search = find(titles, function(t)
    return t:find("^Search memory for") ~= nil
  end)
  check(search, "a search action", titles)
  check(not search:find("\\n", 1, true) and not search:find("\n", 1, true), "one line", search)
  check(vim.fn.strdisplaywidth(search) <= 80, "short", search)
end)

H.test("confirmations name what changed (init, remember, revert)", function()
  H.open_file("main.py")
  local n = #H.notes
  local data = run("LspAgent init", "lspAgent.init")
  vim.wait(200)
  local said = H.notes_since(n)
  local init = find(said, function(x)
    return x.msg:find("init", 1, true) and x.msg:find(tostring(data.indexed_files), 1, true)
  end)
  check(init, "init says what it did", said)
  for _, label in ipairs(data.blocks) do
    check(init.msg:find(label, 1, true), "names the block " .. label, init.msg)
  end
  check(not find(said, function(x)
    return x.msg:match("Done%s*$")
  end), "no bare 'Done'", said)
  n = #H.notes
  local rem = run("LspAgent remember The e2e cache lives in /tmp/e2e-cache", "lspAgent.remember")
  vim.wait(200)
  said = H.notes_since(n)
  check(find(said, function(x)
    return x.msg:find(rem.block, 1, true) and x.msg:find("version " .. rem.version, 1, true)
  end), "remember names block and version", said)
  n = #H.notes
  local rev = run("LspAgent revert " .. rem.block .. " " .. (rem.version - 1), "lspAgent.memory.revert")
  vim.wait(200)
  said = H.notes_since(n)
  check(find(said, function(x)
    return x.msg:find(rev.label, 1, true) and x.msg:find("version " .. (rem.version - 1), 1, true)
      and x.msg:find("version " .. rev.version, 1, true)
  end), "revert names the block, the version restored and the new one", said)
end)

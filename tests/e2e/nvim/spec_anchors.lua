-- Memory at the code (issue 13): a lesson anchored to a function (the "Remember this" code
-- action, :'<,'>LspAgent remember), shown by hover and code lens; the anchor follows a rename;
-- a rewritten body is a stale diagnostic whose quick fix works; a deleted function is a lost
-- memory; :LspAgent anchors / anchor / archival show / skills; a mirror file's lens.
local H = require("harness")
local agent = require("lsp_agent")
local check, find, run = H.check, H.find, H.run

local SHOP = {
  "import os",
  "",
  "",
  "def greet(name):",
  '    """Say hello."""',
  '    message = "hello " + name',
  "    return message.strip()",
  "",
  "",
  "def part(x):",
  "    return x * 2",
}
local LESSON = "greet must strip: the UI breaks on trailing spaces"
local PART_LESSON = "part doubles its input; the cache relies on it staying pure"
local state = {}

local function client_of(buf)
  return agent.get_clients({ bufnr = buf })[1]
end

-- The lenses Neovim got for `buf`: { [0-based line] = title }.
local function lenses(buf)
  local out = {}
  for _, lens in ipairs(vim.lsp.codelens.get(buf)) do
    if lens.command then
      out[lens.range.start.line] = lens.command.title
    end
  end
  return out
end

-- The lens texts drawn in `buf` (virtual text).
local function drawn(buf)
  local out = {}
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(buf, -1, 0, -1, { details = true })) do
    for _, chunk in ipairs(m[4].virt_text or {}) do
      out[m[2]] = (out[m[2]] or "") .. chunk[1]
    end
  end
  return out
end

local function ours(buf)
  return vim.tbl_filter(function(d)
    return d.source == "lsp-agent"
  end, vim.diagnostic.get(buf))
end

local function hover(buf, line)
  local got = vim.lsp.buf_request_sync(buf, "textDocument/hover", {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    position = { line = line, character = 5 },
  }, 10000)
  local res = got and got[client_of(buf).id]
  return res and res.result and res.result.contents and res.result.contents.value or nil
end

local function line_of(buf, pattern)
  for i, l in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    if l:find(pattern) then
      return i - 1
    end
  end
  error("no line matching " .. pattern, 2)
end

-- Counts the server's workspace/diagnostic/refresh requests to `buf`'s client: it sends one
-- when it has followed a save (moved the anchors in the store).
local followed = 0
local function count_refreshes(buf)
  local client = client_of(buf)
  local handler = client.handlers["workspace/diagnostic/refresh"]
  if not state.counting then
    state.counting = true
    client.handlers["workspace/diagnostic/refresh"] = function(...)
      followed = followed + 1
      return handler(...)
    end
  end
end

-- Writes `buf` and waits until the server has followed the change. Opening a file also ends
-- in a refresh: first wait for those to stop, so that the one counted is the save's. (Two
-- saves in a row, or a quick fix while a save is followed, race in the server: it follows each
-- save from what it read before and overwrites what happened meanwhile.)
local function save(buf)
  count_refreshes(buf)
  local seen, quiet_since = followed, vim.uv.now()
  H.wait_for(function()
    if followed ~= seen then
      seen, quiet_since = followed, vim.uv.now()
    end
    return vim.uv.now() - quiet_since >= 300
  end, "no refresh for 300 ms")
  local before = followed
  vim.api.nvim_buf_call(buf, function()
    vim.cmd("silent write")
  end)
  H.wait_for(function()
    return followed > before
  end, "the server to follow the save")
end

local function notes_matching(n, pattern)
  return find(H.notes_since(n), function(x)
    return x.msg:find(pattern) ~= nil
  end)
end

H.test("'Remember this' asks for the lesson and anchors it to the selected function", function()
  vim.fn.writefile(SHOP, H.ws .. "/shop.py")
  local buf = H.open_file("shop.py")
  state.buf = buf
  H.inputs, H.input_answers = {}, { LESSON }
  local before, n = agent.last, #H.notes
  vim.lsp.buf.code_action({
    apply = true,
    range = { start = { 4, 0 }, ["end"] = { 7, #SHOP[7] } },
    filter = function(a)
      return a.title == "Remember this"
    end,
  })
  H.wait_for(function()
    return agent.last ~= before and agent.last.command == "lspAgent.remember"
  end, "lspAgent.remember from the code action")
  local last = agent.last
  check(not last.err, "remembered", last.err)
  check(#H.inputs == 1 and H.inputs[1].prompt:find("What should the agent remember about this code?", 1, true),
    "asked for the lesson", H.inputs)
  check(last.args.text == LESSON and vim.endswith(last.args.at, "/shop.py:4-7"), "the lesson, at the selection",
    last.args)
  local d = last.result.data
  check(d.mode == "anchored" and d.anchor.symbol == "greet" and d.anchor.start_line == 4 and d.anchor.end_line == 7,
    "anchored to greet", d)
  H.wait_for(function()
    return notes_matching(n, "remembered “greet must strip") ~= nil
  end, "a confirmation")
  check(notes_matching(n, "at shop%.py:4%-7 %(greet%)%."), "it says where", H.notes_since(n))

  -- an empty answer cancels
  H.input_answers = { "" }
  before = agent.last
  vim.lsp.buf.code_action({
    apply = true,
    range = { start = { 10, 0 }, ["end"] = { 11, #SHOP[11] } },
    filter = function(a)
      return a.title == "Remember this"
    end,
  })
  H.wait_for(function()
    return #H.inputs == 2
  end, "the second question")
  vim.wait(300)
  check(agent.last == before, "nothing sent", agent.last and agent.last.args)
end)

H.test(":'<,'>LspAgent remember LESSON anchors the lesson to the selected lines", function()
  local buf = H.open_file("shop.py")
  vim.api.nvim_win_set_cursor(0, { 10, 0 })
  vim.cmd("normal! Vj")
  vim.cmd("normal! \27")
  local d = run("'<,'>LspAgent remember " .. PART_LESSON, "lspAgent.remember")
  check(d.mode == "anchored" and d.anchor.symbol == "part", "anchored to part", d)
  check(vim.endswith(agent.last.args.at, "/shop.py:10-11") and agent.last.args.text == PART_LESSON,
    "the typed lesson at the selection", agent.last.args)
  state.part_passage = d.passage_id
  check(buf == vim.api.nvim_get_current_buf(), "still in shop.py")
end)

H.test("hover and code lens show the memories at their functions", function()
  local buf = H.open_file("shop.py")
  local shown = hover(buf, 3)
  check(shown and shown:find(LESSON, 1, true) and shown:find("`greet`", 1, true), "hover on greet", shown)
  check(hover(buf, 0) == nil, "no hover where nothing is remembered")
  H.wait_for(function()
    local l = lenses(buf)
    return l[3] == "1 memory" and l[9] == "1 memory"
  end, "a lens above each function")
  H.wait_for(function()
    local d = drawn(buf)
    return d[3] == "1 memory" and d[9] == "1 memory"
  end, "the lenses drawn")
end)

H.test("the lens follows a renamed function; a rewritten body is a stale diagnostic; its quick fix works", function()
  local buf = H.open_file("shop.py")
  vim.api.nvim_buf_set_lines(buf, 0, 0, false, { "# header", "# more" })
  local def = line_of(buf, "^def greet")
  vim.api.nvim_buf_set_lines(buf, def, def + 1, false, { "def welcome(name):" })
  save(buf)
  H.wait_for(function()
    local l = lenses(buf)
    return l[5] == "1 memory" and l[3] == nil
  end, "the lens on welcome, two lines down")
  H.wait_for(function()
    local rows = H.sync("lspAgent.anchors", { path = "shop.py" }).anchors
    return find(rows, function(a)
      return a.symbol == "welcome" and a.state == "ok"
    end) ~= nil
  end, "the anchor renamed")
  check(#ours(buf) == 0, "no stale memory yet", ours(buf))

  local body = line_of(buf, "message = ")
  vim.api.nvim_buf_set_lines(buf, body, body + 2, false, {
    '    parts = ["hi", name, "!"]', '    joined = "-".join(parts)', "    print(joined)", "    return joined" })
  save(buf)
  H.wait_for(function()
    return #ours(buf) == 1
  end, "a stale-memory diagnostic")
  local diag = ours(buf)[1]
  check(diag.lnum == 5 and diag.severity == vim.diagnostic.severity.INFO, "at welcome, as information", diag)
  check(diag.message:find(LESSON, 1, true) and diag.message:find("changed", 1, true), "says what it said", diag.message)
  H.wait_for(function()
    return (lenses(buf)[5] or ""):find("1 stale", 1, true) ~= nil
  end, "the lens says it is stale")

  vim.api.nvim_win_set_cursor(0, { 6, 0 })
  local seen, before, n = {}, agent.last, #H.notes
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(a)
      table.insert(seen, a.title)
      return a.title == "Keep this memory as is"
    end,
  })
  H.wait_for(function()
    return agent.last ~= before and agent.last.command == "lspAgent.anchor"
  end, "lspAgent.anchor from the quick fix")
  check(not agent.last.err and agent.last.args.action == "keep", "kept", agent.last)
  for _, t in ipairs({ "Re-anchor this memory here", "Forget this memory", "Ask the agent to re-verify this memory" }) do
    check(vim.tbl_contains(seen, t), "quick fix offered: " .. t, seen)
  end
  check(notes_matching(n, "kept the memory “greet must strip"), "a confirmation naming it", H.notes_since(n))
  H.wait_for(function()
    return #ours(buf) == 0 and lenses(buf)[5] == "1 memory"
  end, "the diagnostic gone, the lens fresh")
end)

H.test("a deleted function is a lost memory; :LspAgent anchors lists it; :LspAgent anchor forgets it", function()
  local buf = H.open_file("shop.py")
  local from, to = line_of(buf, "^def welcome"), line_of(buf, "^def part")
  vim.api.nvim_buf_set_lines(buf, from, to, false, {})
  save(buf)
  H.wait_for(function()
    local d = ours(buf)[1]
    return d ~= nil and d.message:find("lost its code", 1, true) ~= nil
  end, "a lost-memory diagnostic")

  local d = run("LspAgent anchors %", "lspAgent.anchors")
  check(#d.anchors == 2, "both memories of shop.py", d.anchors)
  local qf = vim.fn.getqflist({ title = 0, winid = 0 })
  check(qf.winid ~= 0 and qf.title:find("anchored memories in shop.py", 1, true), "in the quickfix list", qf)
  local lines = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(qf.winid), 0, -1, false)
  check(find(lines, function(l)
    return l:find("^shop%.py:%d+: greet must strip: .* %[lost%]$") ~= nil
  end), "`path:line: lesson [state]`", lines)
  check(find(lines, function(l)
    return l:find("^shop%.py:" .. (line_of(buf, "^def part") + 1) .. ": part doubles .* %[ok%]$") ~= nil
  end), "the other one at its line", lines)
  vim.cmd("cclose")

  local lost = find(d.anchors, function(a)
    return a.state == "lost"
  end)
  state.lost = lost.id
  local n = #H.notes
  run("LspAgent anchor " .. lost.id .. " forget", "lspAgent.anchor")
  check(notes_matching(n, "forgot the memory “greet must strip.*:LspAgent anchor " .. lost.id .. " reanchor"),
    "a confirmation saying how to bring it back", H.notes_since(n))
  H.wait_for(function()
    return #ours(buf) == 0
  end, "the diagnostic gone")

  -- picked: the memory (forgotten ones are offered too), then the action; the range re-anchors
  H.pick = function(items)
    return find(items, function(it)
      return it.id == lost.id or it.action == "reanchor"
    end)
  end
  vim.api.nvim_set_current_buf(buf) -- the range is of the current buffer
  local at = line_of(buf, "^def part") + 1
  local a = run(at .. "," .. (at + 1) .. "LspAgent anchor", "lspAgent.anchor").anchor
  check(a.id == lost.id and a.state == "ok" and a.symbol == "part", "re-anchored at the range", a)
end)

H.test(":LspAgent archival show and :LspAgent skills show in the result float", function()
  H.open_file("shop.py")
  local d = run("LspAgent archival show " .. state.part_passage, "lspAgent.archival.show")
  check(tostring(d.content):find(PART_LESSON, 1, true) and d.anchors[1] and d.anchors[1].symbol == "part", "the passage and its anchor", d)
  local win = H.float_wins()[1]
  check(win and H.buf_text(vim.api.nvim_win_get_buf(win)):find("part doubles its input", 1, true), "in the float")
  H.close_floats()
  d = run("LspAgent skills", "lspAgent.skills")
  check(type(d.skills) == "table" and #H.float_wins() == 1, "the skills in the float", d)
end)

H.test("a memory mirror file opened from another folder shows its size and prompt cost", function()
  H.open_file("shop.py")
  local ws_client = client_of(vim.api.nvim_get_current_buf())
  local notes = run("LspAgent memory notes", "lspAgent.memory.show").blocks[1]
  local cwd = vim.fn.getcwd()
  vim.cmd("cd " .. vim.fn.fnameescape(H.tmp))
  local ok, err = pcall(function()
    vim.cmd("edit " .. vim.fn.fnameescape(notes.mirror_path))
    local buf = vim.api.nvim_get_current_buf()
    H.wait_for(function()
      return client_of(buf) ~= nil
    end, "a client for the mirror file")
    check(client_of(buf).id == ws_client.id, "the workspace's own client", client_of(buf).root_dir)
    H.wait_for(function()
      return (lenses(buf)[0] or ""):find("^notes: [%d,]+/[%d,]+ chars · ~[%d,]+ tokens in every prompt$") ~= nil
    end, "the mirror file's lens")
  end)
  vim.cmd("cd " .. vim.fn.fnameescape(cwd))
  assert(ok, err)
end)

H.test("codelens = false / diagnostics = false: no refresh advertised, diagnostics ignored", function()
  local options = require("lsp_agent.config").options
  local saved = { options.codelens, options.diagnostics }
  options.codelens, options.diagnostics = false, false
  local cfg = require("lsp_agent.client_config").build()
  options.codelens, options.diagnostics = saved[1], saved[2]
  check(cfg.capabilities.workspace.codeLens == nil and cfg.capabilities.workspace.diagnostics == nil,
    "no refresh advertised", cfg.capabilities.workspace)
  check(cfg.handlers["textDocument/diagnostic"] and cfg.handlers["textDocument/publishDiagnostics"],
    "diagnostics not shown", vim.tbl_keys(cfg.handlers))
  local on = require("lsp_agent.client_config").build()
  check(on.capabilities.workspace.codeLens.refreshSupport and on.capabilities.workspace.diagnostics.refreshSupport,
    "advertised by default", on.capabilities.workspace)
  check(on.handlers["textDocument/diagnostic"] == nil, "Neovim's own handler by default")
end)

-- :LspAgent memory: a buffer listing the memory blocks with their size and last change.
-- <CR> opens a block's mirror file (the markdown file that edits it), d shows the diff of a
-- version picked from its history, r reverts it to a picked version, R refreshes, q leaves.
local agent = require("lsp_agent")
local messages = require("lsp_agent.messages")

local M = {}

local NAME = "lsp-agent://memory"
local ns = vim.api.nvim_create_namespace("lsp_agent_memory")
local HELP = "<CR> open · d diff of a version · r revert · R refresh · q close"

-- The buffer's state: { buf, rows = { [lnum] = Block }, client_id }.
local V = {}

local function when(ts)
  ts = tostring(ts or "")
  if ts == "" or ts == "vim.NIL" then
    return "—"
  end
  return (ts:sub(1, 16):gsub("T", " "))
end

local function present(v)
  return v ~= nil and v ~= vim.NIL and v ~= ""
end

-- The block under the cursor (or a notice saying how to pick one).
local function current_block()
  local block = V.rows and V.rows[vim.api.nvim_win_get_cursor(0)[1]]
  if not block then
    vim.notify("lsp-agent: put the cursor on a block's line first.", vim.log.levels.WARN)
  end
  return block
end

local function draw(blocks)
  local buf = V.buf
  local width = 5
  for _, b in ipairs(blocks) do
    width = math.max(width, vim.fn.strdisplaywidth(tostring(b.label)))
  end
  local lines = { "Memory blocks · " .. HELP, "", string.format("%-" .. width .. "s  %-11s  %s", "block", "size", "last change") }
  V.rows = {}
  for _, b in ipairs(blocks) do
    local flags = {}
    if b.read_only then
      table.insert(flags, "read-only")
    end
    if b.scope == "shared" then
      table.insert(flags, "shared")
    end
    local change = when(b.updated_at) .. (present(b.updated_by) and (" by " .. b.updated_by) or "")
      .. (present(b.version) and ("  v" .. tostring(b.version)) or "")
    local line = string.format("%-" .. width .. "s  %-11s  %s%s", tostring(b.label),
      string.format("%s/%s", tostring(b.chars), tostring(b.limit)), change,
      #flags > 0 and ("  (" .. table.concat(flags, ", ") .. ")") or "")
    table.insert(lines, line)
    V.rows[#lines] = b
  end
  if #blocks == 0 then
    table.insert(lines, "(no memory blocks yet: :LspAgent init fills them)")
  end
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
  vim.api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  vim.api.nvim_buf_set_extmark(buf, ns, 0, 0, { end_row = 0, end_col = #lines[1], hl_group = "Title" })
  vim.api.nvim_buf_set_extmark(buf, ns, 2, 0, { end_row = 2, end_col = #lines[3], hl_group = "Comment" })
  for lnum in pairs(V.rows) do
    vim.api.nvim_buf_set_extmark(buf, ns, lnum - 1, 0, { end_row = lnum - 1, end_col = width, hl_group = "Identifier" })
  end
end

-- Reloads the list from the server (keeping the cursor's line).
function M.refresh(on_done)
  agent.execute("lspAgent.memory.show", {}, {
    client_id = V.client_id,
    render = false,
    on_result = function(result)
      if not (V.buf and vim.api.nvim_buf_is_valid(V.buf)) then
        return
      end
      local blocks = type(result.data) == "table" and result.data.blocks or {}
      draw(blocks)
      if on_done then
        on_done(blocks)
      end
    end,
  })
end

-- Lets the user pick one of a block's versions (newest first); calls cb(version, all).
local function pick_version(label, prompt, cb)
  agent.execute("lspAgent.memory.history", { label = label }, {
    client_id = V.client_id,
    render = false,
    on_result = function(result)
      local versions = type(result.data) == "table" and result.data.versions or {}
      if #versions == 0 then
        return vim.notify("lsp-agent: " .. label .. " has no versions yet.", vim.log.levels.WARN)
      end
      local newest_first = {}
      for i = #versions, 1, -1 do
        table.insert(newest_first, versions[i])
      end
      vim.ui.select(newest_first, {
        prompt = prompt,
        format_item = function(v)
          return string.format("v%s  %s  by %s: %s", tostring(v.version), when(v.timestamp),
            tostring(v.author or "?"), messages.one_line(v.reason))
        end,
      }, function(choice)
        if choice then
          cb(choice)
        end
      end)
    end,
  })
end

-- The diff a version made, in a split below (q closes it).
local function show_diff(label, v)
  local old, new = tostring(present(v.old) and v.old or ""), tostring(present(v.new) and v.new or "")
  local diff = (vim.text and vim.text.diff or vim.diff)(old .. "\n", new .. "\n", { result_type = "unified" }) or ""
  local lines = {
    string.format("%s v%s · %s by %s: %s", label, tostring(v.version), when(v.timestamp),
      tostring(v.author or "?"), messages.one_line(v.reason)),
    "--- " .. label .. " v" .. tostring((tonumber(v.version) or 1) - 1),
    "+++ " .. label .. " v" .. tostring(v.version),
  }
  for _, l in ipairs(vim.split(diff, "\n", { plain = true, trimempty = true })) do
    table.insert(lines, l)
  end
  if diff == "" then
    table.insert(lines, "(this version did not change the text)")
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = "wipe"
  pcall(vim.api.nvim_buf_set_name, buf, "lsp-agent://memory/" .. label .. "/v" .. tostring(v.version))
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = "diff"
  vim.keymap.set("n", "q", "<cmd>close<cr>", { buffer = buf, nowait = true, silent = true })
  vim.cmd("belowright split")
  vim.api.nvim_win_set_buf(0, buf)
end

local actions = {}

function actions.open()
  local b = current_block()
  if not b then
    return
  end
  if present(b.mirror_path) then
    vim.cmd("edit " .. vim.fn.fnameescape(b.mirror_path))
  else
    require("lsp_agent.commands").edit_block(b.label) -- no mirror file: edit it in a buffer
  end
end

function actions.diff()
  local b = current_block()
  if b then
    pick_version(b.label, "Diff of " .. b.label .. " at: ", function(v)
      show_diff(b.label, v)
    end)
  end
end

function actions.revert()
  local b = current_block()
  if not b then
    return
  end
  pick_version(b.label, "Revert " .. b.label .. " to: ", function(v)
    local args = { label = b.label, version = v.version }
    agent.execute("lspAgent.memory.revert", args, {
      client_id = V.client_id,
      render = false,
      on_result = function(result)
        vim.notify(messages.confirmation("lspAgent.memory.revert", result.data, args), vim.log.levels.INFO)
        M.refresh()
      end,
    })
  end)
end

local function buffer()
  if V.buf and vim.api.nvim_buf_is_valid(V.buf) then
    return V.buf
  end
  local buf = vim.api.nvim_create_buf(true, true)
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = "lsp_agent_memory"
  pcall(vim.api.nvim_buf_set_name, buf, NAME)
  local function map(lhs, fn, desc)
    vim.keymap.set("n", lhs, fn, { buffer = buf, nowait = true, silent = true, desc = "lsp-agent memory: " .. desc })
  end
  map("<CR>", actions.open, "open the block's file")
  map("o", actions.open, "open the block's file")
  map("d", actions.diff, "diff of a version")
  map("r", actions.revert, "revert to a version")
  map("R", function()
    M.refresh()
  end, "refresh")
  map("q", function()
    local alt = vim.fn.bufnr("#")
    if alt ~= -1 and alt ~= buf and vim.api.nvim_buf_is_valid(alt) then
      vim.api.nvim_set_current_buf(alt)
    else
      pcall(vim.cmd, "close")
    end
  end, "close")
  V.buf = buf
  return buf
end

-- :LspAgent memory: shows the list in the current window.
function M.open()
  agent.with_client(function(client)
    V.client_id = client.id
    local buf = buffer()
    require("lsp_agent.commands").normal_window()
    vim.api.nvim_set_current_buf(buf)
    vim.wo.wrap = false
    M.refresh(function()
      if vim.api.nvim_get_current_buf() == buf and vim.api.nvim_win_get_cursor(0)[1] < 4 then
        pcall(vim.api.nvim_win_set_cursor, 0, { 4, 0 })
      end
    end)
  end)
end

return M

-- :LspAgent memory: the list of blocks, a block's mirror file, a version's diff, a revert.
local H = require("harness")
local check, find = H.check, H.find

local function memory_buf()
  return vim.api.nvim_buf_get_name(0):find("lsp-agent://memory", 1, true) ~= nil
end

local function goto_block(label)
  for i, l in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do
    if l:find("^" .. vim.pesc(label) .. "%s") then
      vim.api.nvim_win_set_cursor(0, { i, 0 })
      return l
    end
  end
  error("no line for block " .. label, 2)
end

local function open_view()
  H.open_file("main.py")
  H.run("LspAgent memory", "lspAgent.memory.show")
  check(memory_buf(), "the memory buffer is shown", vim.api.nvim_buf_get_name(0))
end

H.test(":LspAgent memory lists blocks with size and last change; <CR> opens the mirror file", function()
  H.run("LspAgent remember The e2e memory view test ran here (MARMOT)", "lspAgent.remember")
  local blocks = H.sync("lspAgent.memory.show").blocks
  open_view()
  check(vim.api.nvim_win_get_config(0).relative == "", "in a normal window")
  for _, b in ipairs(blocks) do
    local line = goto_block(b.label)
    check(line:find(b.chars .. "/" .. b.limit, 1, true), "size of " .. b.label, line)
    if b.updated_by then
      check(line:find("by " .. b.updated_by, 1, true) and line:find(b.updated_at:sub(1, 10), 1, true),
        "last change of " .. b.label, { line = line, block = b })
    end
  end
  local notes = find(blocks, function(b)
    return b.label == "notes"
  end)
  check(notes and notes.mirror_path, "memory.show gives the mirror file", notes)
  goto_block("notes")
  H.press("<CR>")
  H.wait_for(function()
    return vim.fn.resolve(vim.api.nvim_buf_get_name(0)) == vim.fn.resolve(notes.mirror_path)
  end, "the mirror file")
  check(H.buf_text(0):find("MARMOT", 1, true), "the block's text is in it", H.buf_text(0))
end)

H.test("d shows the diff of a version picked from the block's history", function()
  open_view()
  local versions = H.sync("lspAgent.memory.history", { label = "notes" }).versions
  local newest = versions[#versions]
  goto_block("notes")
  H.selects = {}
  H.press("d")
  H.wait_for(function()
    return vim.bo.filetype == "diff"
  end, "the diff")
  check(#H.selects == 1 and H.selects[1].items[1].version == newest.version, "versions offered newest first", H.selects)
  local text = H.buf_text(0)
  check(text:find("notes v" .. newest.version, 1, true), "says which version", text)
  local added = find(vim.split(tostring(newest.new), "\n"), function(l)
    return l ~= "" and not tostring(newest.old):find(l, 1, true)
  end)
  check(added and text:find("+" .. added, 1, true), "the version's added line", { text = text, added = added })
  vim.cmd("close")
end)

H.test("r reverts the block to a version picked from its history", function()
  open_view()
  local versions = H.sync("lspAgent.memory.history", { label = "notes" }).versions
  check(#versions >= 2, "notes has history", versions)
  local target = versions[#versions - 1]
  goto_block("notes")
  H.pick = function(items)
    return find(items, function(v)
      return v.version == target.version
    end)
  end
  local n = #H.notes
  H.press("r")
  H.wait_for(function()
    return find(H.notes_since(n), function(x)
      return x.msg:find("reverted notes to version " .. target.version, 1, true)
    end) ~= nil
  end, "the revert's confirmation")
  local now = find(H.sync("lspAgent.memory.show").blocks, function(b)
    return b.label == "notes"
  end)
  check(now.value == target.new, "the block holds the picked version's text", { now = now.value, want = target.new })
  H.wait_for(function()
    return goto_block("notes"):find(now.chars .. "/" .. now.limit, 1, true) ~= nil
  end, "the list to show the new size")
end)

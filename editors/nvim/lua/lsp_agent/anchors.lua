-- Anchored memories (lessons tied to code): the quickfix list of `anchors`, one line each as
-- `path:line: lesson [state]`; picking one; the `at` (PATH:START-END) of a command's range.
local config = require("lsp_agent.config")
local messages = require("lsp_agent.messages")

local M = {}

-- Protocol Anchors as quickfix items at their code (`root`: the workspace they are relative to).
function M.items(anchors, root)
  local items = {}
  for _, a in ipairs(anchors or {}) do
    local path = tostring(a.path or "")
    if root and path ~= "" and path:sub(1, 1) ~= "/" then
      path = root .. "/" .. path
    end
    table.insert(items, {
      filename = path,
      lnum = tonumber(a.start_line) or 1,
      end_lnum = tonumber(a.end_line),
      text = messages.one_line(a.lesson) .. " [" .. tostring(a.state or "?") .. "]",
      user_data = a,
    })
  end
  return items
end

-- Fills the quickfix list (opened with ui.open_quickfix) and says how many there are.
function M.set(anchors, root, args)
  local items = M.items(anchors, root)
  local where = (type(args) == "table" and args.path)
    and (" in " .. vim.fn.fnamemodify(tostring(args.path), ":~:.")) or ""
  if #items == 0 then
    return vim.notify("lsp-agent: no anchored memories" .. where .. ".", vim.log.levels.INFO)
  end
  vim.fn.setqflist({}, " ", {
    title = "lsp-agent: anchored memories" .. where,
    items = items,
    quickfixtextfunc = require("lsp_agent.quickfix").text,
  })
  if config.options.ui.open_quickfix then
    vim.cmd("botright copen")
  end
  vim.notify(string.format("lsp-agent: %d anchored memor%s%s", #items, #items == 1 and "y" or "ies", where),
    vim.log.levels.INFO)
end

-- How an anchor reads in a picker: “lesson” app.py:4-7 (greet) [changed]
function M.label(a)
  return string.format("%s  %s  [%s]  %s", messages.one_line(a.lesson):sub(1, 60),
    messages.anchor_place(a), tostring(a.state), tostring(a.id))
end

-- "/abs/file.py:3-9" for a command given a range in a file buffer (nil without a range).
function M.at_range(cmd_opts, bufnr)
  if not cmd_opts or (cmd_opts.range or 0) == 0 then
    return nil
  end
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local name = vim.api.nvim_buf_get_name(bufnr)
  if vim.bo[bufnr].buftype ~= "" or name == "" then
    return nil
  end
  local lines = cmd_opts.line1 == cmd_opts.line2 and tostring(cmd_opts.line1)
    or (cmd_opts.line1 .. "-" .. cmd_opts.line2)
  return vim.fn.fnamemodify(name, ":p") .. ":" .. lines
end

-- at=PATH:LINE[-LINE] as typed: a PATH that exists from here made absolute (nil when empty).
function M.at_arg(at)
  if not at or at == "" then
    return nil
  end
  local path, lines = at:match("^(.*):(%d+%-?%d*)$")
  if path and vim.fn.filereadable(path) == 1 then
    return vim.fn.fnamemodify(path, ":p") .. ":" .. lines
  end
  return at
end

-- remember's options: (opts, text, at). A lesson typed after a range (or at=, or the CLI's
-- --at) is anchored to those lines; a range without a lesson is the text itself.
function M.remember_options(rest, cmd_opts)
  local at
  rest = (rest or ""):gsub("^%s*%-%-at[%s=]+(%S+)", function(v)
    at = v
    return ""
  end)
  local opts, text = require("lsp_agent.prompts").parse_opts(rest, { block = true, at = true })
  at = M.at_arg(at or opts.at) or (text ~= "" and M.at_range(cmd_opts) or nil)
  return opts, text, at
end

M.ACTIONS = { reanchor = true, forget = true, keep = true }

-- Calls cb(id): the given one, or one picked from every anchored memory (forgotten ones too).
function M.pick(id, cb)
  if id and id ~= "" then
    return cb(id)
  end
  require("lsp_agent").execute("lspAgent.anchors", { all = true }, {
    render = false,
    on_result = function(result)
      local rows = (type(result.data) == "table" and result.data.anchors) or {}
      if #rows == 0 then
        return vim.notify("lsp-agent: no anchored memories (remember one with :'<,'>LspAgent remember LESSON).",
          vim.log.levels.WARN)
      end
      vim.ui.select(rows, { prompt = "Anchored memory: ", format_item = M.label }, function(choice)
        if choice then
          cb(tostring(choice.id))
        end
      end)
    end,
  })
end

-- Calls cb(action): the given one, or one picked.
function M.pick_action(action, cb)
  if M.ACTIONS[action] then
    return cb(action)
  end
  if action ~= "" then
    return vim.notify("lsp-agent: :LspAgent anchor takes reanchor, forget or keep, not " .. action .. ".",
      vim.log.levels.ERROR)
  end
  local choices = {
    { action = "reanchor", text = "Re-anchor it (where its code is now, or at the range)" },
    { action = "forget", text = "Forget it (restorable with reanchor)" },
    { action = "keep", text = "Keep it: it is about the code as it is now" },
  }
  vim.ui.select(choices, { prompt = "Do with the memory: ", format_item = function(c)
    return c.text
  end }, function(choice)
    if choice then
      cb(choice.action)
    end
  end)
end

-- Anchor ids, for completion.
function M.ids()
  local result = require("lsp_agent").execute_sync("lspAgent.anchors", { all = true }, 500)
  local ids = {}
  for _, a in ipairs((result and type(result.data) == "table" and result.data.anchors) or {}) do
    table.insert(ids, tostring(a.id))
  end
  return ids
end

-- A PATH argument: the current file for "%", a file that exists as its absolute path, anything
-- else as given (the server reads it relative to the workspace).
function M.path_arg(path)
  if path == "%" then
    local name = vim.api.nvim_buf_get_name(0)
    return name ~= "" and vim.fn.fnamemodify(name, ":p") or nil
  end
  if vim.fn.filereadable(path) == 1 then
    return vim.fn.fnamemodify(path, ":p")
  end
  return path
end

return M

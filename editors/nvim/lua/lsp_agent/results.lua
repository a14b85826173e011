-- How each command's result is shown: search hits in the quickfix list, changes as a one-line
-- confirmation naming what changed, everything else as the server's markdown in the result
-- float (or the output split).
local config = require("lsp_agent.config")
local messages = require("lsp_agent.messages")
local ui = require("lsp_agent.ui")

local M = {}

local INFO = vim.log.levels.INFO

local function float(command, result, args)
  local md = result.markdown
  if type(md) ~= "string" or md == "" then
    md = "(nothing to show)"
  end
  ui.show(md, messages.title(command, args))
end

local renderers = {}

renderers["lspAgent.search"] = function(command, result, args, client)
  local hits = (type(result.data) == "table" and result.data.results) or {}
  local query = messages.one_line(args.query)
  require("lsp_agent.quickfix").set(hits, query)
  vim.notify(string.format("lsp-agent: %d result%s for “%s”", #hits, #hits == 1 and "" or "s", query), INFO)
end

renderers["lspAgent.ask"] = function(command, result, args)
  local d = type(result.data) == "table" and result.data or {}
  if config.options.events.log ~= false then
    local lines = { "- **reply**" .. (d.conversation_id and (" _(" .. tostring(d.conversation_id) .. ")_") or "") }
    for _, l in ipairs(ui.split_lines(tostring(d.reply or result.markdown or ""))) do
      table.insert(lines, "  " .. l)
    end
    ui.append_log(lines)
  end
  float(command, result, args)
end

renderers["lspAgent.init"] = function(command, result, args)
  local d = type(result.data) == "table" and result.data or {}
  vim.notify(messages.confirmation(command, d, args), INFO)
  if type(d.research) == "string" and d.research ~= "" then
    float(command, result, args) -- what the model found is worth reading
  end
end

renderers["lspAgent.remember"] = function(command, result, args)
  local d = type(result.data) == "table" and result.data or {}
  vim.notify(messages.confirmation(command, d, args), INFO)
  if type(d.reply) == "string" and d.reply ~= "" and config.options.events.log ~= false then
    ui.append_log({ "- **remember** " .. tostring(d.block), "  " .. messages.one_line(d.reply) })
  end
end

-- Shows the result of `command` (run with `args` on `client`).
function M.show(command, result, args, client)
  args = type(args) == "table" and args or {}
  local r = renderers[command]
  if r then
    return r(command, result, args, client)
  end
  local text = messages.confirmation(command, result.data, args)
  if text then
    return vim.notify(text, INFO)
  end
  float(command, result, args)
end

return M

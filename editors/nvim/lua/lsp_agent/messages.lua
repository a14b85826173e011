-- What the user reads about a command: its name in words, its errors as one whole sentence
-- (no command ids, no argument schema, advice that works in Neovim) and confirmations that
-- name what changed.
local M = {}

-- Command ids in words (titles of floats, prefixes of messages).
local WORDS = {
  ["lspAgent.status"] = "status",
  ["lspAgent.doctor"] = "doctor",
  ["lspAgent.init"] = "init",
  ["lspAgent.index"] = "index",
  ["lspAgent.remember"] = "remember",
  ["lspAgent.search"] = "search",
  ["lspAgent.ask"] = "ask",
  ["lspAgent.reflect"] = "reflect",
  ["lspAgent.learnSkill"] = "learn skill",
  ["lspAgent.memory.show"] = "memory",
  ["lspAgent.memory.edit"] = "edit",
  ["lspAgent.memory.create"] = "create block",
  ["lspAgent.memory.history"] = "history",
  ["lspAgent.memory.revert"] = "revert",
  ["lspAgent.archival.insert"] = "archival insert",
  ["lspAgent.archival.search"] = "archival search",
  ["lspAgent.archival.list"] = "archival passages",
  ["lspAgent.archival.delete"] = "archival delete",
  ["lspAgent.export"] = "export",
  ["lspAgent.conversation.new"] = "new conversation",
  ["lspAgent.conversation.list"] = "conversations",
  ["lspAgent.conversation.switch"] = "switch conversation",
  ["lspAgent.conversation.fork"] = "fork conversation",
  ["lspAgent.conversation.history"] = "conversation history",
  ["lspAgent.conversation.rename"] = "rename conversation",
  ["lspAgent.conversation.delete"] = "delete conversation",
  ["lspAgent.approve"] = "approval",
  ["lspAgent.skills"] = "skills",
}

-- "lspAgent.memory.show" -> "memory"; unknown ids lose their prefix and dots.
function M.words(command)
  command = tostring(command or "")
  if WORDS[command] then
    return WORDS[command]
  end
  local rest = command:gsub("^lspAgent%.", ""):gsub("%.", " "):gsub("(%l)(%u)", "%1 %2")
  return rest:lower()
end

-- The title of a result: "lsp-agent: history of notes".
function M.title(command, args)
  args = type(args) == "table" and args or {}
  local w = M.words(command)
  if command == "lspAgent.memory.history" and args.label then
    w = "history of " .. args.label
  elseif command == "lspAgent.memory.show" and args.label then
    w = "memory: " .. args.label
  end
  return "lsp-agent: " .. w
end

local function one_line(s)
  return vim.trim((tostring(s or ""):gsub("%s+", " ")))
end
M.one_line = one_line

local function sentence(s)
  s = vim.trim(s)
  if s ~= "" and not s:match("[%.!?]$") then
    s = s .. "."
  end
  return s
end

local NO_MODEL = "Add one to your config: require('lsp_agent').setup({ settings = { model = "
  .. "'anthropic/claude-sonnet-4-5' } }) (any litellm model string, e.g. 'openai/gpt-4.1' or "
  .. "'ollama/qwen2.5-coder'), with the provider's key in its environment variable (e.g. "
  .. "ANTHROPIC_API_KEY). Memory, search and history work without one."
M.NO_MODEL_ADVICE = NO_MODEL

-- Pydantic's "field: Input should be X. Expected an object with: a?, b" as one plain sentence.
local function usage_text(msg)
  msg = msg:gsub("%.?%s*Expected an object with:.*$", "")
  local parts = {}
  for part in (msg .. ";"):gmatch("%s*(.-);") do
    if part ~= "" then
      part = part:gsub("^([%w_.]+): Input should be ", "%1 should be ")
      part = part:gsub("^([%w_.]+): Field required", "%1 is missing")
      part = part:gsub("^([%w_.]+): Extra inputs are not permitted", "%1 is not an option here")
      part = part:gsub(", unable to parse .*$", "")
      table.insert(parts, part)
    end
  end
  return table.concat(parts, "; ")
end

-- The error of `command` as (text, level) for vim.notify.
function M.error(command, err)
  local words = M.words(command)
  if type(err) == "table" and err.code == -32800 then
    return "lsp-agent: " .. words .. " was cancelled.", vim.log.levels.INFO
  end
  local msg = type(err) == "table" and tostring(err.message or "") or tostring(err or "")
  -- the server starts its messages with the command id: say it in words instead
  msg = msg:gsub("^%s*" .. vim.pesc(tostring(command)) .. ":%s*", "")
  msg = msg:gsub("^%s*lspAgent%.[%w.]+:%s*", "")
  if msg:find("needs a model", 1, true) then
    return "lsp-agent: " .. words .. " needs a model, and none is set. " .. NO_MODEL, vim.log.levels.ERROR
  end
  if msg:find("^internal error:") then
    -- a bug: the details are for the log, not for the reader
    require("lsp_agent.ui").append_log({ "- **" .. words .. " failed**", "  " .. one_line(msg) })
    return "lsp-agent: " .. words .. " failed because of a bug in lsp-agent (details: :LspAgent log). "
      .. "Please report it.", vim.log.levels.ERROR
  end
  if type(err) == "table" and err.code == -32602 then
    msg = usage_text(msg)
    return "lsp-agent: " .. words .. ": " .. sentence(msg) .. " See :help :LspAgent.", vim.log.levels.ERROR
  end
  if msg == "" then
    msg = "failed without saying why (see :LspLog)"
  end
  return "lsp-agent: " .. words .. ": " .. sentence(msg), vim.log.levels.ERROR
end

local function plural(n, one, many)
  n = tonumber(n) or 0
  return string.format("%d %s", n, n == 1 and one or (many or one .. "s"))
end

local confirm = {}

confirm["lspAgent.init"] = function(d)
  local blocks = type(d.blocks) == "table" and #d.blocks > 0
    and ("updated " .. table.concat(d.blocks, ", ") .. " from " .. plural(d.facts, "fact"))
    or "memory already current"
  local index = type(d.index) == "table" and d.index or {}
  return string.format("init: %s; indexed %s (%s).", blocks, plural(d.indexed_files, "file"),
    plural(index.chunks_total, "chunk"))
end

confirm["lspAgent.remember"] = function(d)
  if d.changed == false then
    return string.format("already in %s (version %s); nothing changed.", tostring(d.block), tostring(d.version))
  end
  if not d.block or d.block == vim.NIL then
    return "nothing was stored."
  end
  return string.format("remembered in %s (version %s).", tostring(d.block), tostring(d.version))
end

confirm["lspAgent.memory.edit"] = function(d)
  if d.changed == false then
    return string.format("%s already had that text (still version %s).", tostring(d.label), tostring(d.version))
  end
  return string.format("saved %s as version %s.", tostring(d.label), tostring(d.version))
end

confirm["lspAgent.memory.revert"] = function(d, args)
  if d.changed == false then
    return string.format("%s already holds version %s's text; nothing changed.", tostring(d.label), tostring(args.version))
  end
  return string.format("reverted %s to version %s (saved as version %s).", tostring(d.label),
    tostring(args.version), tostring(d.version))
end

confirm["lspAgent.memory.create"] = function(d)
  return string.format("created block %s (limit %s characters).", tostring(d.label), tostring(d.limit))
end

confirm["lspAgent.archival.insert"] = function(d)
  if d.created == false then
    return string.format("already stored as passage %s; not stored twice.", tostring(d.id))
  end
  return string.format("stored passage %s.", tostring(d.id))
end

confirm["lspAgent.archival.delete"] = function(d)
  local p = type(d.deleted) == "table" and d.deleted or {}
  return string.format("deleted passage %s.", tostring(p.id))
end

local function conversation(verb)
  return function(d)
    local c = type(d.conversation) == "table" and d.conversation or {}
    local title = (c.title and c.title ~= "" and c.title ~= vim.NIL) and c.title or "(untitled)"
    return string.format("%s %s (%s).", verb, title, tostring(c.id))
  end
end
confirm["lspAgent.conversation.new"] = conversation("new conversation")
confirm["lspAgent.conversation.switch"] = conversation("switched to")
confirm["lspAgent.conversation.fork"] = conversation("forked into")
confirm["lspAgent.conversation.rename"] = conversation("renamed the conversation to")

confirm["lspAgent.conversation.delete"] = function(d)
  local c = type(d.deleted) == "table" and d.deleted or {}
  local title = (c.title and c.title ~= "" and c.title ~= vim.NIL) and c.title or "(untitled)"
  return string.format("deleted the conversation %s (%s).", title, tostring(c.id))
end

confirm["lspAgent.index"] = function(d)
  local index = type(d.index) == "table" and d.index or nil
  local files = index and (plural(index.files_indexed, "file") .. " indexed, ") or ""
  return string.format("code index up to date: %s%s embedded.", files, plural(d.embedded, "chunk"))
end

confirm["lspAgent.learnSkill"] = function(d)
  if d.applied == false then
    return string.format("skill %s was proposed but not saved.", tostring(d.name))
  end
  return string.format("saved skill %s to %s.", tostring(d.name), tostring(d.path))
end

confirm["lspAgent.reflect"] = function(d)
  local changes = type(d.changes) == "table" and d.changes or {}
  if #changes == 0 then
    return "reflection: " .. (type(d.note) == "string" and d.note ~= "" and d.note or "nothing to change.")
  end
  local parts = {}
  for _, c in ipairs(changes) do
    table.insert(parts, string.format("%s (version %s)", tostring(c.block), tostring(c.version)))
  end
  return "reflection changed " .. table.concat(parts, ", ") .. "."
end

confirm["lspAgent.export"] = function(d)
  if d.written then
    return string.format("wrote %s.", tostring(d.path))
  end
end

-- The one-line confirmation of a command that changed something, or nil (its result is shown
-- otherwise).
function M.confirmation(command, data, args)
  local fn = confirm[command]
  if not fn or type(data) ~= "table" then
    return nil
  end
  local text = fn(data, type(args) == "table" and args or {})
  return text and ("lsp-agent: " .. text) or nil
end

return M

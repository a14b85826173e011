-- :LspAgent conversation history | rename | delete: a conversation's messages (in the chat),
-- what is asked before renaming, and the chat kept in step with a rename or a deletion.
local prompts = require("lsp_agent.prompts")

local M = {}

-- history [id]: the conversation in the chat (default: the active one).
function M.history(id)
  require("lsp_agent.chat").history(id ~= "" and id or nil)
end

-- rename [id] [title]: asks for what is missing, then send(id, title).
function M.ask_rename(rest, send)
  local id, title = (rest or ""):match("^%s*(%S*)%s*(.-)%s*$")
  prompts.with_conversation(id, function(target)
    if title ~= "" then
      return send(target, title)
    end
    prompts.input("New title: ", nil, function(t)
      if vim.trim(t) ~= "" then
        send(target, vim.trim(t))
      end
    end)
  end, "Rename conversation: ")
end

-- A renamed conversation shown in the chat gets its new title.
function M.renamed(result)
  local chat = require("lsp_agent.chat")
  local conv = type(result.data) == "table" and result.data.conversation or {}
  if chat.state().conversation_id == conv.id then
    chat.state().title = conv.title
  end
end

-- A chat showing the deleted conversation starts over.
function M.deleted(result)
  local gone = type(result.data) == "table" and result.data.deleted or {}
  local S = require("lsp_agent.chat").state()
  if S.conversation_id and S.conversation_id == gone.id then
    S.conversation_id, S.title = nil, nil
    if S.transcript and S.transcript:valid() then
      S.transcript:clear()
    end
  end
end

return M

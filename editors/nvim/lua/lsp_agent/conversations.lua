-- :LspAgent conversation history | rename | delete: a conversation's messages (in the chat),
-- its title, its removal (the server asks first).
local agent = require("lsp_agent")
local prompts = require("lsp_agent.prompts")

local M = {}

-- history [id]: the conversation in the chat (default: the active one).
function M.history(id)
  require("lsp_agent.chat").history(id ~= "" and id or nil)
end

-- rename [id] [title]: asks for what is missing.
function M.rename(rest)
  local id, title = (rest or ""):match("^%s*(%S*)%s*(.-)%s*$")
  local function send(target, new_title)
    if new_title == "" then
      return
    end
    agent.execute("lspAgent.conversation.rename", { id = target, title = new_title }, {
      on_result = function(result)
        local chat = require("lsp_agent.chat")
        local conv = type(result.data) == "table" and result.data.conversation or {}
        if chat.state().conversation_id == conv.id then
          chat.state().title = conv.title
        end
      end,
    })
  end
  prompts.with_conversation(id, function(target)
    if title ~= "" then
      return send(target, title)
    end
    prompts.input("New title: ", nil, function(t)
      send(target, vim.trim(t))
    end)
  end, "Rename conversation: ")
end

-- delete [id]: the server asks for confirmation; a chat showing it starts over.
function M.delete(id)
  prompts.with_conversation(id, function(target)
    agent.execute("lspAgent.conversation.delete", { id = target }, {
      on_result = function(result)
        local gone = type(result.data) == "table" and result.data.deleted or {}
        local S = require("lsp_agent.chat").state()
        if S.conversation_id and S.conversation_id == gone.id then
          S.conversation_id, S.title = nil, nil
          if S.transcript and S.transcript:valid() then
            S.transcript:clear()
          end
        end
      end,
    })
  end, "Delete conversation: ")
end

return M

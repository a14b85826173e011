-- The LSP client configuration of lsp-agent: capabilities, the handlers of what the server asks,
-- client-side commands for resolved code actions, trust relayed before initialize.
local config = require("lsp_agent.config")
local handlers = require("lsp_agent.handlers")

local M = {}

-- A client-side command: executes `name` via workspace/executeCommand and shows the result.
-- Used for the commands of resolved code actions so that their results are shown too.
local function client_command(command, ctx)
  local args = command.arguments and command.arguments[1] or {}
  require("lsp_agent").execute(command.command, args, { client_id = ctx and ctx.client_id, bufnr = ctx and ctx.bufnr })
end

local function client_commands(names)
  local cmds = {}
  for _, name in ipairs(names) do
    cmds[name] = client_command
  end
  return cmds
end

-- Code action titles in one short line: the server may title "Search memory for <selection>"
-- with several lines of the selection, which Neovim's picker would show with literal `\n`.
local function short_title(title)
  local t = vim.trim((tostring(title):gsub("%s+", " ")))
  if vim.fn.strchars(t) > 60 then
    t = vim.fn.strcharpart(t, 0, 59) .. "…"
  end
  return t
end

local function one_line_code_action_titles(client)
  local request = client.request
  client.request = function(...)
    local args = { ... }
    local n = select("#", ...)
    local i = args[1] == client and 2 or 1 -- client:request(...) or client.request(...)
    if args[i] == "textDocument/codeAction" and type(args[i + 2]) == "function" then
      local handler = args[i + 2]
      args[i + 2] = function(err, result, ctx)
        for _, action in ipairs(type(result) == "table" and result or {}) do
          if type(action) == "table" and type(action.title) == "string" then
            action.title = short_title(action.title)
          end
        end
        return handler(err, result, ctx)
      end
    end
    return request(unpack(args, 1, n))
  end
end

-- The client configuration (without root_dir).
function M.build()
  local o = config.options
  local capabilities = vim.lsp.protocol.make_client_capabilities()
  capabilities.window = capabilities.window or {}
  capabilities.window.workDoneProgress = true
  capabilities.window.showMessage = capabilities.window.showMessage or {}
  capabilities.window.showMessage.messageActionItem = { additionalPropertiesSupport = false }
  capabilities.workspace = capabilities.workspace or {}
  capabilities.workspace.applyEdit = true
  capabilities.workspace.configuration = true
  if o.capabilities then
    capabilities = vim.tbl_deep_extend("force", capabilities, o.capabilities)
  end
  return {
    name = o.name,
    cmd = o.cmd,
    filetypes = o.filetypes,
    settings = { lspAgent = config.settings() },
    init_options = config.settings(),
    capabilities = capabilities,
    handlers = {
      ["window/showMessageRequest"] = handlers.show_message_request,
      ["workspace/configuration"] = handlers.workspace_configuration,
      ["lspAgent/event"] = handlers.lsp_event,
      ["workspace/applyEdit"] = handlers.apply_edit,
      ["window/showMessage"] = handlers.show_message,
    },
    commands = client_commands(require("lsp_agent").commands_list),
    before_init = function(params, cfg)
      -- the root is known only now: relay its trust with the settings
      local section = handlers.settings_for(cfg.root_dir)
      params.initializationOptions = section
      cfg.init_options = section
      cfg.settings = type(cfg.settings) == "table" and cfg.settings or {}
      cfg.settings.lspAgent = section
    end,
    on_init = function(client)
      one_line_code_action_titles(client)
      -- Route any other advertised lspAgent.* command through us as well.
      local provider = client.server_capabilities and client.server_capabilities.executeCommandProvider
      for _, name in ipairs(type(provider) == "table" and provider.commands or {}) do
        if type(name) == "string" and name:sub(1, 9) == "lspAgent." and not client.commands[name] then
          client.commands[name] = client_command
        end
      end
    end,
    on_attach = function(client, bufnr)
      if type(o.on_attach) == "function" then
        o.on_attach(client, bufnr)
      end
    end,
  }
end

return M

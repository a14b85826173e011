-- setup(): the options, the autocmds that feed progress and finish cancelled requests, and the
-- client's start (vim.lsp.config / vim.lsp.enable on 0.11, autocmds on 0.10).
local config = require("lsp_agent.config")
local ui = require("lsp_agent.ui")

local M = {}

function M.run(agent, opts)
  config.set(opts)
  local o = config.options
  local augroup = vim.api.nvim_create_augroup("lsp_agent", { clear = true })

  vim.api.nvim_create_autocmd("LspProgress", {
    group = augroup,
    callback = function(ev)
      local data = ev.data or {}
      local client = data.client_id and vim.lsp.get_client_by_id(data.client_id)
      if client and client.name == o.name then
        ui.on_progress(data.params, client.id)
      end
    end,
  })

  -- A reply that never reaches our handler (Neovim drops RequestCancelled, e.g. after a cancel
  -- from a progress UI) still completes the request: finish it as cancelled. Handlers are
  -- scheduled before this autocmd's callback runs, so a real reply always wins.
  vim.api.nvim_create_autocmd("LspRequest", {
    group = augroup,
    callback = function(ev)
      local data = ev.data or {}
      local req = data.request
      if not (req and req.type == "complete" and data.client_id and data.request_id) then
        return
      end
      local key = data.client_id .. ":" .. data.request_id
      if agent.pending[key] then
        vim.schedule(function()
          local p = agent.pending[key]
          if p then
            agent.pending[key] = nil
            p.finish({ code = -32800, message = "Request cancelled" })
          end
        end)
      end
    end,
  })

  if agent.has_011 and vim.lsp.config and vim.lsp.enable then
    local cfg = agent.client_config()
    cfg.root_markers = o.root_markers
    cfg.root_dir = function(bufnr, on_dir)
      on_dir(agent.root_for(bufnr))
    end
    vim.lsp.config(o.name, cfg)
    if o.autostart then
      vim.lsp.enable(o.name)
    end
  end

  if o.autostart then
    -- 0.10: start on FileType ourselves. 0.11: vim.lsp.enable only reacts to FileType, so
    -- also cover file buffers that have no filetype.
    vim.api.nvim_create_autocmd({ "FileType", "BufReadPost", "BufNewFile" }, {
      group = augroup,
      callback = function(ev)
        local buf = ev.buf
        if vim.bo[buf].buftype ~= "" or vim.api.nvim_buf_get_name(buf) == "" then
          return
        end
        if agent.has_011 and vim.lsp.enable and vim.bo[buf].filetype ~= "" then
          return -- vim.lsp.enable handles it
        end
        if o.filetypes and not vim.tbl_contains(o.filetypes, vim.bo[buf].filetype) then
          return
        end
        vim.schedule(function()
          if vim.api.nvim_buf_is_valid(buf) and #agent.get_clients({ bufnr = buf }) == 0 then
            agent.start(buf)
          end
        end)
      end,
    })
  end

  agent._setup_done = true
  if vim.fn.exists(":LspAgent") ~= 2 then
    require("lsp_agent.commands").create_user_command()
  end
  return agent
end

return M

-- Editing a memory block in a buffer (:LspAgent edit LABEL; :w saves it), in a real window.
local agent = require("lsp_agent")
local ui = require("lsp_agent.ui")

local M = {}

-- Makes a normal window current (the previous one, else the first), never a float: buffers
-- opened from a command must not land in a leftover float.
function M.normal_window()
  local function normal(w)
    return w and w ~= 0 and vim.api.nvim_win_is_valid(w) and vim.api.nvim_win_get_config(w).relative == ""
  end
  if normal(vim.api.nvim_get_current_win()) then
    return
  end
  local prev = vim.fn.win_getid(vim.fn.winnr("#"))
  if normal(prev) then
    return vim.api.nvim_set_current_win(prev)
  end
  for _, w in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    if normal(w) then
      return vim.api.nvim_set_current_win(w)
    end
  end
end

-- Opens a memory block in an editable buffer; :w saves it with lspAgent.memory.edit.
function M.edit_block(label)
  agent.execute("lspAgent.memory.show", { label = label }, {
    render = false,
    on_result = function(result)
      local block
      for _, b in ipairs((type(result.data) == "table" and result.data.blocks) or {}) do
        if b.label == label then
          block = b
        end
      end
      if not block then
        vim.notify("lsp-agent: there is no memory block " .. label .. " (:LspAgent memory lists them).", vim.log.levels.ERROR)
        return
      end
      local name = "lsp-agent://memory/" .. label
      local buf = -1
      for _, b in ipairs(vim.api.nvim_list_bufs()) do
        if vim.api.nvim_buf_get_name(b) == name then
          buf = b
        end
      end
      M.normal_window()
      if buf ~= -1 and vim.bo[buf].modified then
        -- unsaved edits of the block: keep them
        vim.api.nvim_set_current_buf(buf)
        vim.notify("lsp-agent: " .. name .. " has unsaved changes (:w saves them, :bwipeout! drops them)", vim.log.levels.WARN)
        return
      end
      if buf == -1 then
        buf = vim.api.nvim_create_buf(true, false)
        vim.api.nvim_buf_set_name(buf, name)
      end
      vim.bo[buf].buftype = "acwrite"
      vim.bo[buf].swapfile = false
      vim.bo[buf].filetype = "markdown"
      vim.api.nvim_buf_set_lines(buf, 0, -1, false, ui.split_lines(block.value or ""))
      vim.bo[buf].modified = false
      vim.b[buf].lsp_agent_label = label
      if block.read_only then
        vim.bo[buf].readonly = true
      end
      vim.api.nvim_create_autocmd("BufWriteCmd", {
        buffer = buf,
        group = vim.api.nvim_create_augroup("lsp_agent_edit_" .. buf, { clear = true }),
        callback = function()
          local value = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
          agent.execute("lspAgent.memory.edit", { label = label, value = value, reason = "edited in Neovim" }, {
            render = false,
            on_result = function(res)
              if vim.api.nvim_buf_is_valid(buf) then
                vim.bo[buf].modified = false
              end
              vim.notify(require("lsp_agent.messages").confirmation("lspAgent.memory.edit", res.data, {}))
            end,
          })
        end,
      })
      vim.api.nvim_set_current_buf(buf)
    end,
  })
end

return M

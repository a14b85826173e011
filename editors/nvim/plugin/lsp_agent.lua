-- :LspAgent — defined at startup so it works before (or without) require("lsp_agent").setup().
if vim.g.loaded_lsp_agent then
  return
end
vim.g.loaded_lsp_agent = true

vim.api.nvim_create_user_command("LspAgent", function(opts)
  require("lsp_agent.commands").run(opts)
end, {
  nargs = "*",
  range = true,
  desc = "lsp-agent: init|remember|search|learn-skill|ask|reflect|memory|history|edit|revert|status|conversation|log|cancel",
  complete = function(arglead, cmdline, cursorpos)
    return require("lsp_agent.commands").complete(arglead, cmdline, cursorpos)
  end,
})

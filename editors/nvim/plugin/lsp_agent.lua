-- :LspAgent — defined at startup so it works before (or without) require("lsp_agent").setup().
if vim.g.loaded_lsp_agent then
  return
end
vim.g.loaded_lsp_agent = true
require("lsp_agent.commands").create_user_command()

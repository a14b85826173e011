-- The conversation views and the fixes of issue 12, in a real headless Neovim 0.11 against a
-- real `lsp-agent serve` (run by run.sh after test_plugin.lua).
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")
package.path = here .. "/?.lua;" .. package.path
local H = require("harness")
require("lsp_agent.config").options.chat = vim.tbl_extend("force",
  require("lsp_agent.config").options.chat or {}, { start_insert = false })

for _, spec in ipairs({ "spec_papercuts", "spec_chat", "spec_memory_view" }) do
  if vim.uv.fs_stat(here .. "/" .. spec .. ".lua") then
    dofile(here .. "/" .. spec .. ".lua")
  end
end
H.finish()

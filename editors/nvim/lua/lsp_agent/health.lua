-- :checkhealth lsp_agent
local M = {}

local health = vim.health

local function model_missing(m)
  return m == nil or m == vim.NIL or vim.trim(tostring(m)) == ""
end

local advice = "Set one: require('lsp_agent').setup({ settings = { model = "
  .. "'anthropic/claude-sonnet-4-5' } }) (any litellm model string), with the provider's key in "
  .. "its environment variable"

function M.check()
  local agent = require("lsp_agent")
  local config = require("lsp_agent.config")
  local o = config.options

  health.start("lsp-agent: Neovim")
  local v = vim.version()
  local vs = string.format("%d.%d.%d", v.major, v.minor, v.patch)
  if vim.fn.has("nvim-0.11") == 1 then
    health.ok("Neovim " .. vs .. " (vim.lsp.config / vim.lsp.enable)")
  elseif vim.fn.has("nvim-0.10") == 1 then
    health.ok("Neovim " .. vs .. " (vim.lsp.start fallback)")
  else
    health.error("Neovim " .. vs .. " is too old; lsp-agent needs 0.10 or newer")
  end
  if agent._setup_done then
    health.ok("setup() was called")
  else
    health.warn("require('lsp_agent').setup() was not called; defaults apply", { "Call require('lsp_agent').setup({...}) in your config" })
  end

  health.start("lsp-agent: server")
  local cmd = o.cmd or {}
  local exe = cmd[1]
  local path = exe and vim.fn.exepath(exe) or ""
  if not exe or path == "" then
    health.error(string.format("server command not found: %s", tostring(exe)), {
      "Install it: pip install lsp-agent (or pipx install lsp-agent)",
      "Or set cmd = { '/path/to/lsp-agent', 'serve' } in setup()",
    })
  else
    health.ok(string.format("server command: %s (%s)", table.concat(cmd, " "), path))
    local ok, res = pcall(function()
      return vim.system({ path, "--version" }, { text = true }):wait(10000)
    end)
    if ok and res and res.code == 0 then
      local version = vim.trim((res.stdout or "") .. "")
      if version == "" then
        version = vim.trim(res.stderr or "")
      end
      health.ok("version: " .. version)
    else
      local why = ok and res and ((res.stderr or "") ~= "" and vim.trim(res.stderr) or ("exit " .. tostring(res.code))) or tostring(res)
      health.warn("`" .. path .. " --version` failed: " .. why)
    end
  end

  health.start("lsp-agent: workspace")
  local clients = agent.get_clients()
  if #clients == 0 then
    health.info("no lsp-agent client is running (open a file or run :LspAgent status)")
    local s = o.settings or {}
    if model_missing(s.model) and model_missing(vim.env.LSP_AGENT_MODEL) then
      health.warn("no model is set: ask, reflect and learn-skill will not work (memory, search "
        .. "and history do)", { advice })
    else
      health.ok("model: " .. tostring(model_missing(s.model) and vim.env.LSP_AGENT_MODEL or s.model))
    end
    health.info("store: " .. tostring(s.store or "(server default)"))
    return
  end
  for _, client in ipairs(clients) do
    health.info(string.format("client %d, root %s", client.id, tostring(client.root_dir)))
    local result, err = agent.execute_sync("lspAgent.status", {}, 10000, client)
    if not result then
      health.error("the server did not answer `status`: " .. tostring(err):gsub("^lspAgent%.status:%s*", ""))
    else
      local d = type(result.data) == "table" and result.data or {}
      health.ok("store: " .. tostring(d.store))
      health.info("workspace: " .. tostring(d.workspace))
      if model_missing(d.model) then
        health.warn("no model is set: ask, reflect and learn-skill will not work (memory, search "
          .. "and history do)", { advice })
      else
        health.ok("model: " .. tostring(d.model))
      end
      health.info("embedder: " .. tostring(d.embedder) .. ", state: " .. tostring(d.state))
      if type(d.counts) == "table" then
        local parts = {}
        for _, k in ipairs(vim.tbl_keys(d.counts)) do
          table.insert(parts, tostring(k) .. "=" .. tostring(d.counts[k]))
        end
        table.sort(parts)
        health.info("counts: " .. table.concat(parts, ", "))
      end
    end
  end
end

return M

-- Neovim's side of benchmarks/stream_latency.py: the real vim.lsp client (headless Neovim 0.11,
-- --clean) runs one lspAgent.ask per prompt (in the previous ask's conversation when it says
-- `same_conversation`) and records when each text_delta reaches its handler
-- (vim.uv.gettimeofday(): seconds and microseconds, kept apart so JSON loses no digits).
--
-- Environment: LSP_BENCH_SERVER (the lsp-agent binary), LSP_BENCH_WS (workspace folder),
-- LSP_BENCH_OPTS (the lspAgent settings, JSON), LSP_BENCH_PROMPTS (JSON list of {prompt,
-- same_conversation}), LSP_BENCH_OUT (where the result JSON goes), LSP_BENCH_TIMEOUT_MS (give
-- up after that long).
local env = vim.env
local opts = vim.json.decode(env.LSP_BENCH_OPTS)
local prompts = vim.json.decode(env.LSP_BENCH_PROMPTS)
local deltas, errors = {}, {}
local finished = false

local function finish(err)
  if finished then
    return
  end
  finished = true
  if err then
    table.insert(errors, err)
  end
  local f = assert(io.open(env.LSP_BENCH_OUT, "w"))
  -- vim.json encodes an empty table as an object: the Python side accepts both
  f:write(vim.json.encode({ deltas = deltas, errors = errors }))
  f:close()
  vim.cmd("qall!")
end

local function on_event(_, event)
  if event.type == "text_delta" then
    local s, us = vim.uv.gettimeofday()
    deltas[#deltas + 1] = { event.text, s, us }
  end
end

local function ask(client, n, conversation)
  if n > #prompts then
    finish(nil)
    return
  end
  local args = { prompt = prompts[n].prompt }
  if prompts[n].same_conversation then
    args.conversation_id = conversation
  end
  client:request("workspace/executeCommand", { command = "lspAgent.ask", arguments = { args } },
    function(err, result)
      if err then
        finish("lspAgent.ask failed: " .. tostring(err.message))
      else
        ask(client, n + 1, result.data.conversation_id)
      end
    end)
end

vim.defer_fn(function()
  finish("timed out")
end, tonumber(env.LSP_BENCH_TIMEOUT_MS) or 120000)

local id = vim.lsp.start({
  name = "lsp-agent-bench",
  cmd = { env.LSP_BENCH_SERVER, "serve" },
  root_dir = env.LSP_BENCH_WS,
  init_options = { lspAgent = opts },
  settings = { lspAgent = opts }, -- answers the server's workspace/configuration
  handlers = { ["lspAgent/event"] = on_event },
  on_init = function(client)
    vim.schedule(function()
      ask(client, 1, nil)
    end)
  end,
  on_exit = function(code)
    if not finished then
      vim.schedule(function()
        finish("the server exited (" .. tostring(code) .. ")")
      end)
    end
  end,
}, { attach = false })
if not id then
  finish("vim.lsp.start did not start the server")
end

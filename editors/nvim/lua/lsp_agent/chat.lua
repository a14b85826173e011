local M = {}
function M.on_event()
  return false
end
return M

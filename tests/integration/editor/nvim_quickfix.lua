-- Headless Neovim (>= 0.10) as a real LSP client for ems: open a file, wait for the
-- diagnostics, ask for code actions on the first one, apply the preferred quick fix
-- (resolving its edit lazily), write the file and quit. Exit code 0 means success.
local root = assert(vim.env.EMS_TEST_ROOT, "EMS_TEST_ROOT not set")
local target = root .. "/demo.py"

local function fail(message)
  io.stderr:write("nvim-test: " .. message .. "\n")
  vim.cmd("cquit 3")
end

vim.cmd.edit(vim.fn.fnameescape(target))
local buf = vim.api.nvim_get_current_buf()
local client_id = vim.lsp.start({
  name = "ems",
  cmd = { vim.env.EMS_PYTHON, "-m", "ems", "serve" },
  root_dir = root,
  init_options = { select = { "F541" } },
}, { bufnr = buf })
if not client_id then
  fail("vim.lsp.start returned nil")
end
local client = vim.lsp.get_client_by_id(client_id)

local function request(method, params)
  local response, err
  if vim.fn.has("nvim-0.11") == 1 then
    response, err = client:request_sync(method, params, 15000, buf)
  else
    response, err = client.request_sync(method, params, 15000, buf)
  end
  if not response or response.err then
    fail(method .. " failed: " .. vim.inspect(err or (response and response.err)))
  end
  return response.result
end

-- Neovim 0.11 may pull diagnostics instead of receiving pushed ones; either way they land here.
local got = vim.wait(30000, function()
  return #vim.diagnostic.get(buf) > 0
end, 50)
if not got then
  fail("no diagnostics arrived")
end
local diagnostic = vim.diagnostic.get(buf)[1]
local lsp_diagnostic = diagnostic.user_data and diagnostic.user_data.lsp
if not lsp_diagnostic or lsp_diagnostic.code ~= "F541" then
  fail("unexpected diagnostic " .. vim.inspect(diagnostic))
end

local actions = request("textDocument/codeAction", {
  textDocument = { uri = vim.uri_from_bufnr(buf) },
  range = lsp_diagnostic.range,
  context = { diagnostics = { lsp_diagnostic }, only = { "quickfix" } },
})
local chosen
for _, action in ipairs(actions or {}) do
  if action.isPreferred then
    chosen = action
  end
end
if not chosen then
  fail("no preferred quick fix in " .. vim.inspect(actions))
end
if not chosen.edit then
  chosen = request("codeAction/resolve", chosen)
end
vim.lsp.util.apply_workspace_edit(chosen.edit, client.offset_encoding)
vim.cmd.write()
vim.cmd("qall!")

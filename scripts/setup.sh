#!/usr/bin/env bash
# Sets up Nascent on a fresh Debian machine: system packages (libtorch, the Fashion-MNIST data set,
# a C++ toolchain, PyTorch for the reference checks), npm packages, the native addon and the
# TypeScript build. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# libopenblas0-openmp: without it Debian's libtorch runs dense layers on the reference BLAS
# (about 6 GFLOP/s here); OpenBLAS takes over libblas.so.3 through the alternatives system.
# chromium and fonts-liberation: the dashboard's and the report's browser tests (Playwright drives
# Debian's Chromium); redis-server: the BullMQ queue that spreads evaluations over machines.
packages=(libtorch-dev python3-torch libopenblas0-openmp dataset-fashion-mnist cmake g++ make python3 xz-utils
  chromium fonts-liberation redis-server)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  # onnxruntime-node's install script would fetch optional CUDA files from the internet; its CPU
  # build ships in the package. (No .npmrc says so: npm warns about unknown project keys on every
  # npx, so a plain `npm ci` outside this script needs ONNXRUNTIME_NODE_INSTALL=skip too.)
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building the native engine and the TypeScript sources"
npm run --silent build:native >/tmp/nascent-native-build.log 2>&1 || {
  tail -40 /tmp/nascent-native-build.log
  echo "setup: the native build failed (full log: /tmp/nascent-native-build.log)" >&2
  exit 1
}
npm run --silent build:ts
npm run --silent build:web >/dev/null
echo "setup: done ($(node -e "import('./dist/src/engine/engine.js').then(m => { const i = m.engineInfo(); console.log('libtorch ' + i.torchVersion + (i.cudaAvailable ? ', CUDA' : ', CPU')); })"))"

#!/usr/bin/env bash
# On a GPU machine with PyTorch and no Node.js: installs the Node binary and the app packed by
# bench/gpu/bundle.sh, and builds the addon against PyTorch's libtorch (CUDA) with plain cmake
# (no cmake-js, which would download Node's headers). Then, e.g.:
#   node dist/bench/gpu/run.js --device cuda
#   bin/nascent search --preset express-cifar10 --device cuda --data-dir DIR
set -euo pipefail
xz -dc .device/node.xz > /usr/local/bin/node && chmod +x /usr/local/bin/node
tar -xJf .device/app.tar.xz
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
export Torch_DIR="$prefix/Torch"
build=${NASCENT_NATIVE_BUILD:-/tmp/nascent-native}
cmake -S native -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_JS_INC="$PWD/node_modules/node-api-headers/include" > "$build.configure.log" 2>&1 ||
  { tail -40 "$build.configure.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" > "$build.build.log" 2>&1 || { tail -60 "$build.build.log"; exit 1; }
mkdir -p build/native/Release && cp "$build/nascent.node" build/native/Release/nascent.node
node -e "import('./dist/src/engine/engine.js').then((m) => console.log(JSON.stringify(m.engineInfo())))"

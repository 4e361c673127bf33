#!/usr/bin/env bash
# Packs everything the NVIDIA GPU machine needs to run the kernel benchmarks (and our specs) into
# .gpu/ (git-excluded), from a checkout here after `npm install`:
#   - node, the Dawn binding, the Vulkan/GL loaders and boot.sh, via ../shared/gpu/prepare.sh;
#   - .gpu/app/kernels.mjs: bench/kernels.ts bundled for node (webgpu external), no source maps;
#     likewise .gpu/app/lstm.mjs (bench/lstm.ts) and .gpu/app/activity.mjs (bench/activity.ts);
#   - .gpu/app/specs.mjs, .gpu/app/conformance.mjs: our specs / tfjs-core's suite with a standalone
#     jasmine runner (scripts/bundle-standalone.mjs);
#   - .gpu/app/node_modules/deasync (the Linux x64 node-20 binary only: dataSync on Node);
#   - .gpu/app/torch_kernels.py, merge_kernels.mjs and torch_lstm.py (bench/);
#   - .gpu/run_kernels.sh, the one command to run there for the kernels, and .gpu/run_lstm.sh for
#     the LSTM and the activity classifier (issue 6).
# Usage:  bash scripts/gpu-prepare.sh
# Then, with the device tool (carry [".gpu"]):
#   bash .gpu/boot.sh bash .gpu/run_kernels.sh [FILTER] [--quick] [--reps N] [--inner K] [--budget S]
# which writes under $OUT: kernel_cases.json (the case list), kernels_torch.json (PyTorch/cuDNN),
# kernels_tfjs.json (mpsgpu and tfjs-backend-webgpu), kernels_tfjs.log, kernels.md (the merged table),
# and prints the merged table last. Specs there: bash .gpu/boot.sh node .gpu/app/specs.mjs [filter]
# LSTM (issue 6): bash .gpu/boot.sh bash .gpu/run_lstm.sh [--layer stock|mpsgpu]
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
[ -d node_modules/esbuild ] || { echo "gpu-prepare.sh: run npm install first" >&2; exit 1; }
bash ../shared/gpu/prepare.sh

app=.gpu/app
mkdir -p "$app"
node scripts/bundle.mjs bench/kernels.ts "$app/kernels.mjs"
node scripts/bundle.mjs bench/lstm.ts "$app/lstm.mjs"
node scripts/bundle.mjs bench/activity.ts "$app/activity.mjs"
node scripts/bundle-standalone.mjs specs "$app/specs.mjs"
node scripts/bundle-standalone.mjs conformance "$app/conformance.mjs"
# Inline source maps would make the carried tree several times larger.
sed -i '/^\/\/# sourceMappingURL=data/d' "$app"/kernels.mjs "$app"/lstm.mjs "$app"/activity.mjs "$app"/specs.mjs "$app"/conformance.mjs

d=node_modules/deasync
rm -rf "$app/node_modules/deasync"
mkdir -p "$app/node_modules/deasync/bin"
cp "$d/index.js" "$d/package.json" "$app/node_modules/deasync/"
cp -r "$d/bin/linux-x64-node-20" "$app/node_modules/deasync/bin/"

cp bench/torch_kernels.py bench/merge_kernels.mjs bench/torch_lstm.py "$app/"

cat > .gpu/run_kernels.sh <<'EOF'
#!/usr/bin/env bash
# Written by scripts/gpu-prepare.sh. On the GPU machine, from the project root:
#   bash .gpu/boot.sh bash .gpu/run_kernels.sh [FILTER] [--quick] [--reps N] [--inner K] [--budget S]
# FILTER: a case-insensitive regexp over "group kernel name" (bench/kernels.ts); '' for all.
# PyTorch first (about a minute: it must not be lost to a slow tfjs run), then mpsgpu and
# tfjs-backend-webgpu (stopped after KERNELS_TIMEOUT seconds, default 420: its JSON is rewritten
# after every case, so what finished is kept), then the merged table, printed last.
set -uo pipefail
g=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-/tmp/kernels_out}
mkdir -p "$out"
filter=${1:-}
shift || true
args=(--filter "$filter" "$@")
echo "== $(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"
node "$g/app/kernels.mjs" --list "$out/kernel_cases.json" "${args[@]}" || exit 1
echo "== PyTorch"
python3 "$g/app/torch_kernels.py" "$out/kernel_cases.json" --json "$out/kernels_torch.json" 2>"$out/kernels_torch.log" | tail -3
tail -5 "$out/kernels_torch.log"
echo "== mpsgpu, tfjs-backend-webgpu"
timeout "${KERNELS_TIMEOUT:-420}" node "$g/app/kernels.mjs" "${args[@]}" --json "$out/kernels_tfjs.json" >"$out/kernels_tfjs.txt" 2>"$out/kernels_tfjs.log"
rc=$?
[ $rc -eq 0 ] || echo "tfjs bench exited $rc (124: timed out; the JSON has the cases that finished)"
head -1 "$out/kernels_tfjs.txt"; grep -v '^Warning' "$out/kernels_tfjs.log" | tail -3
rm -f "$out/kernels_tfjs.txt"   # the same table is in the merged one
echo "== merged"
node "$g/app/merge_kernels.mjs" --tfjs "$out/kernels_tfjs.json" --torch "$out/kernels_torch.json" --md "$out/kernels.md"
EOF
chmod +x .gpu/run_kernels.sh

cat > .gpu/run_lstm.sh <<'EOF'
#!/usr/bin/env bash
# Written by scripts/gpu-prepare.sh. On the GPU machine, from the project root:
#   bash .gpu/boot.sh bash .gpu/run_lstm.sh [--layer stock|mpsgpu]
# Issue 6's acceptance figures in one call: PyTorch's cuDNN nn.LSTM forward and forward+backward
# at batch 64, sequence 100, input 128, hidden 256 (bench/torch_lstm.py), the same on mpsgpu and
# tfjs-backend-webgpu (bench/lstm.ts), and the activity classifier's fit on both at batch 64
# (bench/activity.ts). mpsgpu runs twice in each (the first backend of a process runs slower while
# V8 compiles tfjs). JSON and logs under $OUT.
set -uo pipefail
g=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-/tmp/lstm_out}
mkdir -p "$out"
echo "== $(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"
echo "== PyTorch nn.LSTM (cuDNN), batch 64, sequence 100, input 128, hidden 256"
python3 "$g/app/torch_lstm.py" --json "$out/lstm_torch.json" >/dev/null 2>"$out/lstm_torch.log" || tail -5 "$out/lstm_torch.log"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['device'], 'cudnn', r['cudnn'], 'forward', r['forward'], 'forward+backward', r['forward_backward'])" "$out/lstm_torch.json"
echo "== LSTM: mpsgpu, tfjs-backend-webgpu"
timeout "${LSTM_TIMEOUT:-240}" node "$g/app/lstm.mjs" --backends mpsgpu,webgpu,mpsgpu "$@" --json "$out/lstm_tfjs.json" 2>"$out/lstm_tfjs.log"
echo "== activity classifier: model.fit, batch 64"
timeout "${ACTIVITY_TIMEOUT:-240}" node "$g/app/activity.mjs" --backends mpsgpu,webgpu,mpsgpu --batch-size 64 --steps 20 "$@" --json "$out/activity.json" 2>"$out/activity.log"
EOF
chmod +x .gpu/run_lstm.sh
du -sh .gpu
du -sh .gpu/* .gpu/app/* 2>/dev/null | sort -h | tail -8

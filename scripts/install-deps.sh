#!/usr/bin/env bash
# Installs every Debian 12 package that the build, the tests, the benchmarks
# and the demo need (--bench: the recall benchmark's festival voices too).
# Idempotent: when everything is present it only checks.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libavformat-dev libavcodec-dev libavfilter-dev libavutil-dev
  libswresample-dev libswscale-dev
  libsqlite3-dev libre2-dev libutf8proc-dev libxxhash-dev libcpp-httplib-dev nlohmann-json3-dev libcli11-dev
  libspdlog-dev libfmt-dev
  libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us pocketsphinx
  libopenblas-dev libfftw3-dev zlib1g-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libxml2-dev
  flite flite1-dev ffmpeg python3-numpy
  yt-dlp
  chromium nodejs
)
# --bench: also the festival voices that bench/recall/run.py speaks with.
if [ "${1:-}" = "--bench" ]; then
  packages+=(festival festlex-cmu festlex-poslex festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# npm comes with some Node.js builds (NodeSource) and separately in Debian's.
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The browser test's driver (tests/web): playwright-core only, which drives
# Debian's chromium and never downloads a browser.
cd "$(dirname "$0")/../tests/web"
if [ ! -d node_modules/playwright-core ]; then
  echo "install-deps: installing playwright-core into tests/web/node_modules"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent
fi

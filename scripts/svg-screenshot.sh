#!/usr/bin/env bash
# svg-screenshot.sh FILE.svg [OUT.png] [WIDTHxHEIGHT]: renders an SVG dmaheap drew (`dmaheap cma
# --svg`, `dmaheap replay --svg`) in headless Chromium, as a person would see it in a browser.
# Installs Debian's chromium when it is missing (root; not part of the test suite: ~300 MB).
set -euo pipefail
svg=$(realpath "$1")
out=${2:-${svg%.svg}.png}
size=${3:-960x720}
if ! command -v chromium >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update && apt-get install -y chromium
fi
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --window-size="${size/x/,}" --screenshot="$out" "file://$svg" 2>/dev/null
echo "$out"

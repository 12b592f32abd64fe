#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine, builds studioflow,
# synthesizes a short sample talk video and makes a supercut of the word
# "budget" from it with the embedded PocketSphinx engine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
out="${DEMO_DIR:-$PWD/out/demo}"
mkdir -p "$out"
/usr/bin/python3 scripts/synth_talk.py "$out/talk.mp4" >/dev/null
build/release/studioflow supercut -i "$out/talk.mp4" -w budget -o "$out/supercut.mp4" \
  --report "$out/supercut.json"
echo
echo "sample talk:  $out/talk.mp4 (sentences and times in $out/talk.mp4.json)"
echo "supercut:     $out/supercut.mp4"
echo "report:       $out/supercut.json"

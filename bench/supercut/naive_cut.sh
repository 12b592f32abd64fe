#!/usr/bin/env bash
# The naive way to make a supercut, as a baseline: cut every clip of a
# `studioflow supercut --report` with the ffmpeg CLI (re-encoding: libx264
# fast, CRF 23, AAC 48 kHz), then join the parts with the concat demuxer and
# stream copy.
#
#   naive_cut.sh REPORT.json OUT.mp4 PARTS_DIR
set -euo pipefail
report=$1 out=$2 parts=$3
rm -rf "$parts"
mkdir -p "$parts"
list=$parts/list.txt
: >"$list"
i=0
while read -r start end path; do
  part=$parts/part$(printf %04d "$i").mp4
  ffmpeg -nostdin -v error -y -ss "$start" -to "$end" -i "$path" \
    -map 0:v:0 -map 0:a:0 -c:v libx264 -preset fast -crf 23 -pix_fmt yuv420p \
    -c:a aac -ar 48000 -ac 2 -b:a 160k "$part"
  echo "file '$(realpath "$part")'" >>"$list"
  i=$((i + 1))
done < <(/usr/bin/python3 -c '
import json, sys
for c in json.load(open(sys.argv[1]))["clips"]:
    print("%.3f" % c["start"], "%.3f" % c["end"], c["path"])' "$report")
ffmpeg -nostdin -v error -y -f concat -safe 0 -i "$list" -c copy "$out"

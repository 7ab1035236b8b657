#!/usr/bin/env bash
# Letterbox (or pillarbox) the first 25 frames of each source into 256x256 with black bars, H.264,
# a stand-in for a held-out benchmark of letterboxed 256x256 triplets (MODEL.md, "Frame borders
# again"). Sources are videos or frame folders. Evaluate the results with
# `sepgan evaluate OUT/*.mp4 -m ours -n 11`.
#
# Usage: bash scripts/letterbox-clips.sh [--odd] OUT SOURCE...
#   default: CRF 18, the picture centred on the 8-line grid ("aligned")
#   --odd:   CRF 28, the picture 6 lines below centre (ringing, ragged bar edges)
set -euo pipefail
crf=18 offset=0
if [ "${1:-}" = "--odd" ]; then crf=28 offset=6; shift; fi
out=$1; shift
mkdir -p "$out"
for source in "$@"; do
    name=$(basename "$source"); name=${name%.*}
    if [ -d "$source" ]; then
        first=$(ls "$source" | head -1)
        input=(-f image2 -pattern_type glob -framerate 25 -i "$source/*.${first##*.}")
    else
        input=(-i "$source")
    fi
    ffmpeg -nostdin -loglevel error -y "${input[@]}" -frames:v 25 -an \
        -vf "scale='if(gt(iw,ih),256,-2)':'if(gt(iw,ih),-2,256)',pad=256:256:trunc((ow-iw)/4)*2:trunc((oh-ih)/4)*2+$offset:black,format=yuv420p" \
        -c:v libx264 -crf "$crf" -preset medium "$out/$name.mp4"
done

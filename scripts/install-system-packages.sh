#!/usr/bin/env bash
# Debian packages used by optional features: ffmpeg (the minterpolate peer in
# `sepgan evaluate`). Idempotent; never fails the caller: without root or apt
# the features that need them are skipped with a message.
set -u
missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-packages: not installing ${missing[*]} (needs root and apt-get)"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    echo "install-system-packages: installed ${missing[*]}"
else
    echo "install-system-packages: could not install ${missing[*]}"
fi
exit 0

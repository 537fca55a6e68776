#!/usr/bin/env bash
# `npm pack`, install the tarball globally into a throwaway prefix, and run the binary on the
# embedded SQLite default, as an operator would after `npm install -g directorctl-*.tgz`.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/directorctl-pack-XXXXXX)
trap 'rm -rf "$work"' EXIT
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
npm install --global --prefix "$work/prefix" --allow-scripts=better-sqlite3 --no-audit --no-fund --loglevel=error "$work/$tarball" >/dev/null
export HOME="$work/home"
mkdir -p "$HOME"
bin="$work/prefix/bin/directorctl"
"$bin" --version
"$bin" backend:add mail1.example.com --ip 192.0.2.1 >/dev/null
out=$("$bin" backend:list --json)
echo "$out" | grep -q '"hostname": "mail1.example.com"' || { echo "package smoke: backend:list did not show the backend"; echo "$out"; exit 1; }
test -f "$HOME/.local/share/directorctl/director.db" || { echo "package smoke: no embedded database created"; exit 1; }
echo "package smoke: 1 passed, 0 failed"

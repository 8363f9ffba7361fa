#!/usr/bin/env bash
# One-time setup: Node 24 and pnpm (under .tools/ when missing), then the dependencies.
set -euo pipefail
source "$(dirname "$0")/toolchain.sh"
cd "$ROOT"
pnpm install --frozen-lockfile
echo "ready: run 'scripts/pnpm start' (or 'pnpm start' with Node >= 22.18 and pnpm 10 on your PATH)"

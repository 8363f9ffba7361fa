#!/usr/bin/env bash
# One-time setup: Node 24 and pnpm (under .tools/ when missing), then the dependencies and the web app's build.
set -euo pipefail
source "$(dirname "$0")/toolchain.sh"
cd "$ROOT"
pnpm install --frozen-lockfile
# the web app (apps/web), which `pnpm start` serves at http://localhost:3000/ (a second or two)
pnpm --filter @frontrow/web build
echo "ready: run 'scripts/pnpm start' (or 'pnpm start' with Node >= 22.18 and pnpm 10 on your PATH)"

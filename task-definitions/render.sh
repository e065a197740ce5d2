#!/usr/bin/env bash
# Render the task definitions and Prometheus configurations in this folder for one account.
#
#   AWS_REGION=us-east-1 ACCOUNT_ID=123456789012 WORKSPACE_ID=ws-... \
#   CLOUDMAP_SD_IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/cloudmap-sd:0.1.0 \
#     task-definitions/render.sh rendered/
#
# Required: AWS_REGION, ACCOUNT_ID, WORKSPACE_ID, CLOUDMAP_SD_IMAGE.
# Optional (defaults in brackets, the same as the CDK app's, see infra/lib/templates.ts):
#   PROMETHEUS_IMAGE   [quay.io/prometheus/prometheus:v3.5.0]  e.g. an ECR pull-through cache:
#                      $ACCOUNT_ID.dkr.ecr.$AWS_REGION.amazonaws.com/quay/prometheus/prometheus:v3.5.0
#   SIGV4_PROXY_IMAGE  [public.ecr.aws/aws-observability/aws-sigv4-proxy:1.0]
#   CPU_ARCHITECTURE   [X86_64]  or ARM64 (Graviton; the images must be multi-arch)
#
# Only these placeholders are replaced (envsubst with an explicit list), so `$1` in Prometheus
# relabel rules is left alone, and so are ${CLOUDMAP_SD_SHARD_INDEX}, ${CLOUDMAP_SD_SHARD_COUNT}
# and ${CLOUDMAP_SD_REPLICA}, which the sidecar fills when it writes prometheus.yaml. Fails if
# a required variable is unset or any other placeholder survives.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: render.sh OUT_DIR}

for name in AWS_REGION ACCOUNT_ID WORKSPACE_ID CLOUDMAP_SD_IMAGE; do
  if [ -z "${!name:-}" ]; then
    echo "render.sh: $name is not set" >&2
    exit 2
  fi
done
export PROMETHEUS_IMAGE="${PROMETHEUS_IMAGE:-quay.io/prometheus/prometheus:v3.5.0}"
export SIGV4_PROXY_IMAGE="${SIGV4_PROXY_IMAGE:-public.ecr.aws/aws-observability/aws-sigv4-proxy:1.0}"
export CPU_ARCHITECTURE="${CPU_ARCHITECTURE:-X86_64}"
case "$CPU_ARCHITECTURE" in
  X86_64 | ARM64) ;;
  *)
    echo "render.sh: CPU_ARCHITECTURE must be X86_64 or ARM64, not '$CPU_ARCHITECTURE'" >&2
    exit 2
    ;;
esac

placeholders='${AWS_REGION} ${ACCOUNT_ID} ${WORKSPACE_ID} ${CLOUDMAP_SD_IMAGE} ${PROMETHEUS_IMAGE} ${SIGV4_PROXY_IMAGE} ${CPU_ARCHITECTURE}'
mkdir -p "$out/prometheus"
for file in "$here"/*.json; do
  envsubst "$placeholders" <"$file" >"$out/$(basename "$file")"
done
for file in "$here"/prometheus/*.yaml; do
  envsubst "$placeholders" <"$file" >"$out/prometheus/$(basename "$file")"
done

if grep -rnE '\$\{[A-Z_][A-Z0-9_]*\}' "$out" | grep -vE '\$\{CLOUDMAP_SD_(SHARD_INDEX|SHARD_COUNT|REPLICA)\}'; then
  echo "render.sh: unrendered placeholder left in $out" >&2
  exit 1
fi
echo "rendered into $out"

#!/usr/bin/env bash
# Builds the container image of deploy/Containerfile: memo compiled statically, plus the host's CA certificates.
# Usage: deploy/build-image.sh [TAG] (default memo:latest). Needs go and podman (or docker: CONTAINER_TOOL=docker).
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-memo:latest}"
tool="${CONTAINER_TOOL:-podman}"
version="$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/tmp" "$ctx/data"
CGO_ENABLED=0 go build -trimpath -tags timetzdata -ldflags "-s -w -X main.version=$version" -o "$ctx/rootfs/memo" ./cmd/memo
cp /etc/ssl/certs/ca-certificates.crt "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
chmod 1777 "$ctx/rootfs/tmp"
cp deploy/Containerfile "$ctx/Containerfile"
"$tool" build --format docker -t "$tag" -f "$ctx/Containerfile" "$ctx"

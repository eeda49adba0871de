#!/usr/bin/env bash
# Refresh the vendored front-end libraries from the npm registry (no CDN at run time).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent bootstrap@5 htmx.org@2 chart.js@4 >/dev/null && for f in *.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done)
v=static/vendor
b=$(ls -d "$work"/bootstrap-*/package); h=$(ls -d "$work"/htmx.org-*/package); c=$(ls -d "$work"/chart.js-*/package)
cp "$b"/dist/css/bootstrap.min.css{,.map} "$v/bootstrap/css/"
cp "$b"/dist/js/bootstrap.bundle.min.js{,.map} "$v/bootstrap/js/"
cp "$h"/dist/htmx.min.js "$v/htmx/"
cp "$c"/dist/chart.umd.min.js{,.map} "$v/chartjs/"
echo "vendored: $(basename "$(dirname "$b")") $(basename "$(dirname "$h")") $(basename "$(dirname "$c")")"

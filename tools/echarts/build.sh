#!/bin/sh
# Rebuild src/shipway/ui/static/vendor/echarts-6.1.0-parallel-scatter.min.js from the
# npm registry's packages (pinned in package-lock.json). Only needed when the pin changes:
# the built file is committed, so installing and running shipway never needs npm.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
out=../../src/shipway/ui/static/vendor
npx esbuild entry.js --bundle --minify --format=iife --legal-comments=eof \
  --outfile="$out/echarts-6.1.0-parallel-scatter.min.js"
cp node_modules/echarts/LICENSE "$out/echarts-LICENSE.txt"
cp node_modules/zrender/LICENSE "$out/zrender-LICENSE.txt"
cp node_modules/tslib/LICENSE.txt "$out/tslib-LICENSE.txt"

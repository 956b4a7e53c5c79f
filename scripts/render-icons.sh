#!/usr/bin/env bash
# Renders the Splunk app icons from the package logo (integrations/elastic/medsoc/img/medsoc-logo.svg)
# with rsvg-convert (Debian: apt-get install librsvg2-bin). Sizes are the ones Splunk reads:
# static/appIcon.png 36x36, static/appIcon_2x.png 72x72 (and the Alt pair, shown on dark
# backgrounds), appserver/static/medsoc_playbook.png 48x48 (alert action icon).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
svg="$root/integrations/elastic/medsoc/img/medsoc-logo.svg"
app="$root/integrations/splunk/medsoc"
render() { rsvg-convert --width "$2" --height "$2" --keep-aspect-ratio --output "$1" "$svg"; }
render "$app/static/appIcon.png" 36
render "$app/static/appIcon_2x.png" 72
render "$app/static/appIconAlt.png" 36
render "$app/static/appIconAlt_2x.png" 72
render "$app/appserver/static/medsoc_playbook.png" 48

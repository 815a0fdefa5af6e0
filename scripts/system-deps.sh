#!/usr/bin/env bash
# The system tools the project uses besides Python packages: poppler-utils (pdfsig, pdftoppm), qpdf, NSS's certutil
# (libnss3-tools: a certificate database in which pdfsig trusts the company CA), and Debian's chromium for the
# browser tests and the reports' PDFs. Installs what is missing with apt-get when run as root; otherwise says what
# to install. `make demo` needs poppler-utils, libnss3-tools and chromium; `make test` needs all four.
set -euo pipefail
want=("$@")
((${#want[@]})) || want=(poppler-utils qpdf libnss3-tools chromium)
declare -A probe=([poppler-utils]=pdfsig [qpdf]=qpdf [libnss3-tools]=certutil [chromium]=chromium)
need=()
for pkg in "${want[@]}"; do
  command -v "${probe[$pkg]:-$pkg}" >/dev/null || need+=("$pkg")
done
((${#need[@]})) || exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
else
  echo "missing system packages: ${need[*]} (install them, e.g. sudo apt-get install ${need[*]})" >&2
  exit 1
fi

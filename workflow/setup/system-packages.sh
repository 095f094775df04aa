#!/usr/bin/env bash
# Install the Debian packages of a list whose items are missing, then check that every item is
# there, naming the package of each one that is not. The list: the argument, or by default
# workflow/setup/debian-packages.txt (TeX Live with revtex4-2, Spanish babel and Latin Modern,
# latexmk, poppler's pdftotext and pdftoppm, Debian's FashionMNIST files); `make test` also
# installs debian-packages-test.txt (a single-node SLURM for tests/test_slurm.py).
set -euo pipefail
LIST="${1:-$(dirname "$0")/debian-packages.txt}"

# present ITEM: is this TeX file, path or command here?
present() {
  case "$1" in
    /*) [ -e "$1" ] ;;
    *.sty|*.cls|*.ldf|*.fd|*.bst) command -v kpsewhich >/dev/null && [ -n "$(kpsewhich "$1")" ] ;;
    *) command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] ;;  # daemons: sbin, maybe not on PATH
  esac
}

# missing_items: print "package item" for each item that is not here
missing_items() {
  local package items item
  while read -r package items; do
    case "$package" in ''|'#'*) continue ;; esac
    for item in $items; do
      present "$item" || echo "$package $item"
    done
  done < "$LIST"
}

missing="$(missing_items)"
[ -z "$missing" ] && exit 0
packages=$(cut -d' ' -f1 <<< "$missing" | sort -u | tr '\n' ' ')
echo "system packages missing: $packages"
if ! command -v apt-get >/dev/null; then
  echo "no apt-get here: install what provides each of these (package names are Debian's):" >&2
  sed 's/^/  /' <<< "$missing" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "run as root or install: apt-get install $packages" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086  # one word per package
$SUDO apt-get install -y -qq --no-install-recommends $packages >/dev/null

still="$(missing_items)"
if [ -n "$still" ]; then
  echo "after installing, still missing (item, then the Debian package that should provide it):" >&2
  awk '{print "  " $2 " (package " $1 ")"}' <<< "$still" >&2
  echo "install those packages by hand, or fix $LIST" >&2
  exit 1
fi

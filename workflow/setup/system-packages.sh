#!/usr/bin/env bash
# Install the system packages the pipeline needs, if missing: LaTeX (revtex4-2, Spanish babel,
# latexmk), poppler's pdftotext (used by the tests) and Debian's FashionMNIST files.
set -euo pipefail

PACKAGES=(texlive-publishers texlive-lang-spanish texlive-latex-extra texlive-science latexmk
          poppler-utils dataset-fashion-mnist)

missing=()
command -v latexmk >/dev/null || missing+=(latexmk)
command -v pdftotext >/dev/null || missing+=(poppler-utils)
if command -v kpsewhich >/dev/null; then
  [ -n "$(kpsewhich revtex4-2.cls)" ] || missing+=(texlive-publishers)
  [ -n "$(kpsewhich spanish.ldf)" ] || missing+=(texlive-lang-spanish)
  [ -n "$(kpsewhich listings.sty)" ] || missing+=(texlive-latex-extra)
else
  missing+=(texlive-publishers)
fi
[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing+=(dataset-fashion-mnist)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "system packages missing: ${missing[*]}"
if ! command -v apt-get >/dev/null; then
  echo "no apt-get here: install a TeX distribution with revtex4-2, babel-spanish, listings and" >&2
  echo "latexmk, plus pdftotext, then provide FashionMNIST as the README explains." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "run as root or install: apt-get install ${PACKAGES[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null

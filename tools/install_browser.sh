#!/usr/bin/env bash
# Make sure a headless Chromium is available for the end-to-end browser test.
#
# The test drives Debian's `chromium` package through Playwright (it never
# downloads a browser of its own). This script is idempotent: it does nothing
# when Chromium is already installed, installs it with apt-get when it can
# (as root, or through sudo without a password prompt), and otherwise says what
# to do. It never fails the build: without Chromium the test reports itself as
# skipped, with the reason.
#
# Usage: tools/install_browser.sh        (CHROMIUM=/path/to/chromium to use another binary)
set -u

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    echo "install_browser: using $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: no $CHROMIUM and no apt-get here; install Chromium with your" \
        "package manager (or set CHROMIUM=/path/to/chromium). The browser test will be skipped."
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "install_browser: Chromium is missing and installing it needs root. Run:"
    echo "    sudo apt-get update && sudo apt-get install -y chromium"
    echo "The browser test will be skipped until then."
    exit 0
fi

echo "install_browser: installing Debian's chromium package (a few minutes, once)"
export DEBIAN_FRONTEND=noninteractive
if $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium \
    fonts-dejavu-core >/dev/null; then
    echo "install_browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
else
    echo "install_browser: apt-get could not install chromium (offline?); the browser test" \
        "will be skipped."
fi
exit 0

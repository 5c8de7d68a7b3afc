#!/usr/bin/env bash
# Make sure headless Chromium is available for the browser page tests
# (tests/test_pages_browser.py). Installs Debian's `chromium` with apt-get when it is
# missing and apt is available. Always exits 0: without a browser those tests skip
# with a message, they do not fail the run.
set -u

if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    echo "ensure-chromium: $(chromium --version 2>/dev/null || echo /usr/bin/chromium) already installed"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: no apt-get here; browser page tests will be skipped" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "ensure-chromium: not root and no passwordless sudo; browser page tests will be skipped" >&2
        exit 0
    fi
fi
echo "ensure-chromium: installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
if $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium; then
    echo "ensure-chromium: $(chromium --version 2>/dev/null || echo installed)"
else
    echo "ensure-chromium: installing chromium failed; browser page tests will be skipped" >&2
fi
exit 0

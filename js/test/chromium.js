// Debian's headless Chromium for the browser tests, driven by playwright-core (which never
// downloads a browser). Shared by runtimes.test.js and preview.test.js.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

const EXECUTABLE = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export function launchChromium() {
  assert.ok(existsSync(EXECUTABLE), `Chromium is not installed at ${EXECUTABLE}: run scripts/setup.sh --test`);
  return chromium.launch({ executablePath: EXECUTABLE, args: ARGS });
}

// Debian Chromium driven by playwright-core (no browser download), plus the few workbench
// gestures the suites need: wait for the workbench, run a command from F1, open a file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { sleep } from './util.mjs';

export const CHROMIUM = process.env.SURPRISAL_E2E_CHROMIUM || '/usr/bin/chromium';

export async function launchBrowser(runDir) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM} (Debian package "chromium", or set SURPRISAL_E2E_CHROMIUM)`);
  }
  const profile = path.join(runDir, 'chromium-profile');
  fs.mkdirSync(profile, { recursive: true });
  const headless = process.env.SURPRISAL_E2E_HEADED ? false : true;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless,
    viewport: { width: 1400, height: 900 },
    env: { ...process.env, HOME: path.join(runDir, 'home'), TMPDIR: path.join(runDir, 'tmp'), XDG_CONFIG_HOME: path.join(runDir, 'xdg/config'), XDG_CACHE_HOME: path.join(runDir, 'xdg/cache') },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      '--disable-features=Translate,MediaRouter,OptimizationHints',
    ],
  });
  return context;
}

/** Navigating away first lets the server drop the extension host at once (see the recipe). */
export async function closePage(page) {
  try {
    await page.goto('about:blank', { timeout: 10_000 });
  } catch {}
  try {
    await page.close();
  } catch {}
}

export async function waitForWorkbench(page, timeout = 90_000) {
  await page.waitForSelector('.monaco-workbench', { timeout });
  // The explorer or the status bar shows once the workbench is restored.
  await page.waitForSelector('.part.statusbar', { timeout });
}

/** Runs a command by its palette label (e.g. "Surprisal Lens: Toggle Surprisal Heatmap"). */
export async function runCommand(page, label, { timeout = 20_000 } = {}) {
  await dismissNotificationsToasts(page);
  const input = page.locator('.quick-input-widget .quick-input-box input');
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 5_000 });
      await input.fill(`>${label}`);
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first();
      await row.waitFor({ state: 'visible', timeout });
      // The list may still hold a fuzzy match of a shorter label first: pick the exact one.
      const labels = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
      const index = labels.findIndex((t) => t.split('\n').some((line) => line.trim() === label));
      if (index > 0) {
        for (let i = 0; i < index; i++) await page.keyboard.press('ArrowDown');
      }
      await page.keyboard.press('Enter');
      await input.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => {});
      return;
    } catch (err) {
      if (attempt >= 3) throw new Error(`could not run command "${label}" from the palette: ${err.message}`);
      await sleep(1000);
    }
  }
}

/**
 * Makes `name` the active editor: its tab when already open, else its row in the explorer,
 * else Quick Open.
 */
export async function openFile(page, name) {
  const activeTab = page.locator('.editor-group-container .tabs-container .tab.active', { hasText: name });
  const editorReady = async () => {
    await activeTab.first().waitFor({ state: 'visible', timeout: 10_000 });
    await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().waitFor({ timeout: 10_000 });
  };
  for (let attempt = 1; ; attempt++) {
    try {
      await page.keyboard.press('Escape');
      const tab = page.locator('.editor-group-container .tabs-container .tab', { hasText: name }).first();
      const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
      if (await tab.isVisible().catch(() => false)) {
        await tab.click();
      } else if (await row.isVisible().catch(() => false)) {
        await row.dblclick();
      } else {
        const input = page.locator('.quick-input-widget .quick-input-box input');
        await page.keyboard.press('Control+P');
        await input.waitFor({ state: 'visible', timeout: 5_000 });
        await input.fill(name);
        await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().click({ timeout: 15_000 });
      }
      await editorReady();
      return;
    } catch (err) {
      if (attempt >= 3) throw new Error(`could not open ${name}: ${err.message}`);
      await sleep(1000);
    }
  }
}

export async function dismissNotificationsToasts(page) {
  // Toasts can cover the editor; they are not what the suites look at.
  const toasts = page.locator('.notification-toast-container .codicon-notifications-clear, .notification-toast .action-label.codicon-close');
  const n = await toasts.count().catch(() => 0);
  for (let i = 0; i < n; i++) await toasts.nth(0).click({ timeout: 1000 }).catch(() => {});
}

/** Text of all visible lines of the active editor (small files fit the viewport). */
export async function activeEditorText(page) {
  return page.evaluate(() => {
    const lines = [...document.querySelectorAll('.editor-group-container.active .monaco-editor .view-lines .view-line')];
    lines.sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));
    return lines.map((l) => l.textContent.replace(/\u00a0/g, ' ')).join('\n');
  });
}


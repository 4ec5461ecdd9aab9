// UI suite: the workbench in Debian Chromium, driven like a user would. Each step takes a
// screenshot into test-results/<target>/; steps run in order and a failed step does not stop
// the later ones (each one sets up what it needs), so one run shows everything that is broken.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { closePage, dismissNotificationsToasts, openFile, runCommand, waitForWorkbench } from './lib/browser.mjs';
import { updateUserSettings, workbenchUrl } from './lib/server.mjs';
import { log, sleep, waitFor } from './lib/util.mjs';

const require = createRequire(import.meta.url);
const { assertHoverConsistent } = require('../integration/hoverFormat.js');
const { startFakeEngineProcess } = require('../integration/fakeEngineProcess.js');

const HOVER = '.monaco-hover:not(.hidden)';
const PANEL_TITLE = 'Next-Word Distribution';

/** Centre of the first occurrence of `word` in the visible lines of the active editor. */
async function wordPoint(page, word) {
  return page.evaluate((word) => {
    const editor = document.querySelector('.editor-group-container.active .monaco-editor .view-lines') || document.querySelector('.monaco-editor .view-lines');
    if (!editor) return null;
    const walker = document.createTreeWalker(editor, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const at = node.textContent.indexOf(word);
      if (at < 0) continue;
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + word.length);
      const r = range.getBoundingClientRect();
      if (r.width === 0) continue;
      // Scrolled out of the editor's viewport (a narrow editor beside the panel): not hoverable.
      const view = (editor.closest('.monaco-scrollable-element') ?? editor).getBoundingClientRect();
      const x = r.left + r.width / 2;
      const y = r.top + r.height / 2;
      return { x, y, visible: x > view.left && x < view.right && y > view.top && y < view.bottom };
    }
    return null;
  }, word);
}

/** Hovers `word` until our hover shows (the first one waits for activation and the model). */
async function hoverWord(page, word, timeout = 120_000) {
  const deadline = Date.now() + timeout;
  let attempts = 0;
  for (;;) {
    attempts++;
    let p = await wordPoint(page, word);
    if (p && !p.visible) {
      // Bring the start of the document into view (scrolls back to the first column).
      await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
      await page.keyboard.press('Control+Home');
      await sleep(300);
      p = await wordPoint(page, word);
    }
    if (!p || !p.visible) throw new Error(`"${word}" is not visible in the active editor`);
    await page.mouse.move(5, 5);
    await sleep(100);
    await page.mouse.move(p.x - 2, p.y, { steps: 2 });
    await page.mouse.move(p.x, p.y, { steps: 2 });
    const hover = page.locator(HOVER).filter({ hasText: 'Top alternatives' }).first();
    try {
      await hover.waitFor({ state: 'visible', timeout: 6_000 });
      // Let the hover settle (it can re-render when the scores arrive).
      await sleep(300);
      const text = await hover.innerText();
      return { text, attempts };
    } catch {
      if (Date.now() > deadline) {
        const seen = await page.locator(HOVER).allInnerTexts().catch(() => []);
        throw new Error(`no Surprisal Lens hover on "${word}" after ${attempts} attempts in ${timeout / 1000} s (hover widgets seen: ${JSON.stringify(seen)})`);
      }
    }
  }
}

/** Extension decorations (class ced-*) that paint a background, in the visible editors. */
async function colouredDecorations(page) {
  return page.evaluate(() => {
    let n = 0;
    const colours = new Set();
    for (const el of document.querySelectorAll('.monaco-editor [class*="ced-"]')) {
      const bg = getComputedStyle(el).backgroundColor;
      if (!bg || bg === 'transparent' || /^rgba\([^)]*,\s*0\)$/.test(bg)) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      n++;
      colours.add(bg);
    }
    return { count: n, colours: [...colours] };
  });
}


/** The heatmap's default colours from package.json, per theme kind: what the page must render. */
const CONTRIBUTED_COLOURS = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).contributes.colors;

/** The themes the contrast step runs in, the kind their defaults are keyed by, and the contrast the editor text must keep. */
const THEMES = [
  { label: 'Dark Modern', kind: 'dark', workbenchClass: 'vs-dark', minimum: 4.5, shot: '07-heatmap-dark' },
  { label: 'Light Modern', kind: 'light', workbenchClass: 'vs', minimum: 4.5, shot: '08-heatmap-light' },
  { label: 'Dark High Contrast', kind: 'highContrast', workbenchClass: 'hc-black', minimum: 7, shot: '09-heatmap-high-contrast' },
];

/**
 * Every heatmap decoration in the active editor with its rendered fill and underline, the
 * editor's background and foreground, and the colour of each piece of text over it; the
 * WCAG contrast of that text over the fill composited on the background is computed here.
 */
async function heatmapContrast(page) {
  return page.evaluate(() => {
    const parse = (css) => {
      const m = /rgba?\(([^)]+)\)/.exec(css || '');
      if (!m) return null;
      const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    };
    const channel = (c) => {
      const v = c / 255;
      return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    const luminance = (c) => 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
    const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat(1);
    const contrast = (a, b) => {
      const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
      return (hi + 0.05) / (lo + 0.05);
    };
    const editor = document.querySelector('.editor-group-container.active .monaco-editor') || document.querySelector('.monaco-editor');
    const background = parse(getComputedStyle(editor.querySelector('.monaco-editor-background') || editor).backgroundColor);
    const foreground = parse(getComputedStyle(editor.querySelector('.view-lines')).color);
    const texts = [...editor.querySelectorAll('.view-lines .view-line span span')]
      .map((el) => ({ rect: el.getBoundingClientRect(), colour: parse(getComputedStyle(el).color), text: el.textContent }))
      .filter((t) => t.rect.width > 0 && t.colour && /\S/.test(t.text));
    const decorations = [];
    for (const el of editor.querySelectorAll('[class*="ced-"]')) {
      const rect = el.getBoundingClientRect();
      if (rect.width === 0 || rect.height === 0) continue;
      const style = getComputedStyle(el);
      const fill = parse(style.backgroundColor) || [0, 0, 0, 0];
      const underlineWidth = parseFloat(style.borderBottomWidth) || 0;
      const underline = parse(style.borderBottomColor) || [0, 0, 0, 0];
      const visible = fill[3] > 0 || (underlineWidth > 0 && underline[3] > 0);
      if (!visible) continue;
      const composite = over(fill, background);
      const over_ = texts.filter((t) => t.rect.left < rect.right - 1 && t.rect.right > rect.left + 1 && t.rect.top < rect.bottom - 1 && t.rect.bottom > rect.top + 1);
      decorations.push({
        fill: style.backgroundColor,
        underline: underlineWidth > 0 && underline[3] > 0 ? `${underlineWidth}px ${style.borderBottomStyle} ${style.borderBottomColor}` : '',
        luminance: luminance(composite),
        foregroundContrast: contrast(foreground, composite),
        textContrast: over_.length ? Math.min(...over_.map((t) => contrast(t.colour, composite))) : null,
      });
    }
    return { background: getComputedStyle(editor.querySelector('.monaco-editor-background') || editor).backgroundColor, foreground: getComputedStyle(editor.querySelector('.view-lines')).color, decorations };
  });
}

/** Whether a computed CSS colour is the `#rrggbb[aa]` default (the browser rounds alpha to 2 or 3 digits; any fully transparent colour is "none"). */
function isDefault(css, hex) {
  const v = hex.replace('#', '');
  const expected = [0, 2, 4].map((i) => parseInt(v.slice(i, i + 2), 16)).concat(v.length === 8 ? parseInt(v.slice(6, 8), 16) / 255 : 1);
  const m = /rgba?\(([^)]+)\)/.exec(css || '');
  if (!m) return false;
  const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
  const actual = [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  if (actual[3] === 0 && expected[3] === 0) return true;
  return actual.slice(0, 3).every((c, i) => c === expected[i]) && Math.abs(actual[3] - expected[3]) < 0.01;
}

function panelFrame(page) {
  // A webview is an <iframe class="webview"> holding the content in <iframe id="active-frame">.
  return page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}

async function readCandidates(page) {
  const options = panelFrame(page).locator('[role="listbox"] [role="option"]');
  await options.first().waitFor({ state: 'visible', timeout: 60_000 });
  // Wait until the list is stable (it is filled once the prediction arrives).
  let last = -1;
  for (let i = 0; i < 10; i++) {
    const n = await options.count();
    if (n === last && n > 0) break;
    last = n;
    await sleep(300);
  }
  const items = await options.evaluateAll((els) => els.map((el) => ({ word: el.getAttribute('data-word'), text: el.innerText, tag: el.tagName })));
  return { options, items };
}

export async function runUiSuite({ context, server, runDir, folder, extensionPath, shots, grep, smoke }) {
  const steps = [];
  const start = Date.now();
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('pageerror', (err) => consoleErrors.push(String(err)));
  const shot = async (name) => {
    const file = path.join(shots, `${name}.png`);
    await page.screenshot({ path: file }).catch((err) => log(`screenshot ${name} failed: ${err.message}`));
    return file;
  };
  const step = async (name, fn) => {
    if (grep && !new RegExp(grep, 'i').test(name) && !/workbench/.test(name)) return;
    const t = Date.now();
    try {
      const note = await fn();
      steps.push({ name, passed: true, ms: Date.now() - t, note });
      console.log(`  ok   ${name} (${Date.now() - t} ms)${note ? `: ${note}` : ''}`);
    } catch (err) {
      const file = await shot(`FAILED-${name.replace(/[^a-z0-9]+/gi, '-')}`);
      steps.push({ name, passed: false, ms: Date.now() - t, error: err.message, screenshot: file });
      console.log(`  FAIL ${name} (${Date.now() - t} ms): ${err.message.split('\n').join('\n       ')}`);
    }
  };
  const url = workbenchUrl(server, { folder, extensionDevelopmentPath: extensionPath ?? undefined });
  log(`UI suite${smoke ? ' (installed VSIX)' : ''}: ${url}`);

  let workbenchOk = false;
  /** The hover of "fox" scored by the bundled model in the worker (compared with the server's). */
  let localFox;
  await step('workbench opens the workspace', async () => {
    await page.goto(url);
    await waitForWorkbench(page);
    await page.locator('.explorer-folders-view, .explorer-viewlet').first().waitFor({ timeout: 30_000 }).catch(() => {});
    await dismissNotificationsToasts(page);
    await shot('01-workbench');
    workbenchOk = true;
    const title = await page.title();
    if (!smoke && !/Extension Development Host/.test(title)) {
      throw new Error(`title "${title}" lacks [Extension Development Host]: the extension was not loaded for development`);
    }
    return title;
  });

  if (workbenchOk) {
    await step('hover over a word shows probability, rank and alternatives', async () => {
      await openFile(page, 'prose.md');
      const { text, attempts } = await hoverWord(page, 'fox');
      await shot('02-hover');
      const h = assertHoverConsistent(text);
      localFox = h;
      return `"fox": ${h.probability.value}%, rank #${h.rank}, ${h.alternatives.length} alternatives (${attempts} attempt(s))`;
    });

    await step('hover works in a TypeScript file', async () => {
      await openFile(page, 'sample.ts');
      const { text } = await hoverWord(page, 'width', 60_000);
      await shot('03-hover-ts');
      const h = assertHoverConsistent(text);
      return `"width": ${h.probability.value}%, rank #${h.rank}`;
    });

    await step('toggling the heatmap colours the tokens and clears them', async () => {
      await openFile(page, 'prose.md');
      await page.mouse.move(5, 5);
      await page.keyboard.press('Escape');
      const before = await colouredDecorations(page);
      await runCommand(page, 'Surprisal Lens: Toggle Surprisal Heatmap');
      let on;
      let off;
      if (before.count >= 10) {
        // The heatmap was on (default): the toggle clears it, the second one brings it back.
        await shot('04-heatmap');
        off = await waitFor(async () => {
          const d = await colouredDecorations(page);
          return d.count === 0 ? d : null;
        }, { timeout: 20_000, message: `decorations to clear (had ${before.count})` });
        await runCommand(page, 'Surprisal Lens: Toggle Surprisal Heatmap');
        on = await waitFor(async () => {
          const d = await colouredDecorations(page);
          return d.count >= 10 ? d : null;
        }, { timeout: 30_000, message: 'coloured token decorations after toggling back on' });
      } else {
        on = await waitFor(async () => {
          const d = await colouredDecorations(page);
          return d.count >= 10 ? d : null;
        }, { timeout: 60_000, message: `coloured token decorations (before: ${before.count})` });
        await sleep(500);
        await shot('04-heatmap');
        await runCommand(page, 'Surprisal Lens: Toggle Surprisal Heatmap');
        off = await waitFor(async () => {
          const d = await colouredDecorations(page);
          return d.count <= before.count ? d : null;
        }, { timeout: 20_000, message: 'decorations to clear' });
      }
      if (on.colours.length < 2) throw new Error(`heatmap uses a single colour (${on.colours[0]}): expected several surprisal buckets`);
      return `${on.count} coloured decorations in ${on.colours.length} colours when on, ${off.count} when off (initially ${before.count >= 10 ? 'on' : 'off'})`;
    });

    await step('Show Next-Word Distribution lists ranked candidates; clicking one inserts it', async () => {
      await openFile(page, 'prose.md');
      // Cursor at the end of the document (the file ends with a newline: an empty last line).
      await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
      await page.keyboard.press('Control+End');
      await runCommand(page, `Surprisal Lens: Show ${PANEL_TITLE}`);
      await page.locator('.tab', { hasText: PANEL_TITLE }).first().waitFor({ timeout: 20_000 });
      const { options, items } = await readCandidates(page);
      await sleep(300);
      await shot('05-panel');
      if (items.length < 3) throw new Error(`only ${items.length} candidates: ${JSON.stringify(items)}`);
      // The webview locks itself down: a CSP that starts from default-src 'none'.
      const csp = await panelFrame(page).locator('meta[http-equiv="Content-Security-Policy" i]').first().getAttribute('content', { timeout: 5_000 }).catch(() => null);
      if (!csp || !/default-src\s+'none'/.test(csp)) throw new Error(`the panel's Content-Security-Policy lacks default-src 'none': ${JSON.stringify(csp)}`);
      const pcts = items.map((it) => {
        const m = /([0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?)\s*%/.exec(it.text);
        if (!m) throw new Error(`candidate without a percentage: ${JSON.stringify(it)}`);
        return Number(m[1]);
      });
      for (const it of items) if (it.word === null) throw new Error(`candidate without data-word: ${JSON.stringify(it)}`);
      for (let i = 1; i < pcts.length; i++) {
        if (pcts[i] > pcts[i - 1] + 1e-9) throw new Error(`candidates are not ranked by probability: ${pcts.join(', ')}`);
      }
      if (pcts.reduce((a, b) => a + b, 0) > 100.5) throw new Error(`candidate percentages sum to more than 100: ${pcts.join(', ')}`);
      // Click the most probable candidate that has visible text (not only whitespace).
      const index = items.findIndex((it) => /\S/.test(it.word));
      if (index < 0) throw new Error(`no candidate with visible text: ${JSON.stringify(items.map((i) => i.word))}`);
      const word = items[index].word;
      const file = path.join(folder, 'prose.md');
      const original = fs.readFileSync(file, 'utf8');
      await options.nth(index).click();
      await waitFor(async () => (await activeEditorTextOf(page, 'prose.md')).includes(word.trim()), {
        timeout: 15_000,
        message: `${JSON.stringify(word)} to appear in prose.md after clicking it`,
      });
      await shot('06-panel-inserted');
      // Keyboard: Enter on another candidate inserts it too.
      // The list follows the new cursor position (wait for it to change and settle, so the
      // option we focus is not replaced under us); then Enter on a candidate inserts it too.
      const signature = (list) => JSON.stringify(list.map((it) => [it.word, it.text]));
      const firstList = signature(items);
      let fresh = await readCandidates(page);
      await waitFor(async () => {
        fresh = await readCandidates(page);
        return signature(fresh.items) !== firstList;
      }, { timeout: 10_000, interval: 300 }).catch(() => log('the candidate list did not change after the insertion'));
      for (let i = 0; i < 10; i++) {
        await sleep(400);
        const again = await readCandidates(page);
        if (signature(again.items) === signature(fresh.items)) break;
        fresh = again;
      }
      const second = fresh.items.findIndex((it) => /\S/.test(it.word ?? ''));
      let word2 = null;
      if (second >= 0) {
        word2 = fresh.items[second].word;
        await fresh.options.nth(second).focus();
        await page.keyboard.press('Enter');
        await waitFor(async () => (await activeEditorTextOf(page, 'prose.md')).includes((word + word2).trim()) || (await activeEditorTextOf(page, 'prose.md')).includes((word2 + word).trim()), {
          timeout: 10_000,
          message: `Enter on ${JSON.stringify(word2)} to insert it`,
        });
      }
      // Save and read the file: exact, unlike the rendered lines.
      const expected = word2 === null ? [original + word] : [original + word + word2, original + word2 + word];
      const content = await saveAndRead(page, 'prose.md', file, expected);
      if (!expected.includes(content)) {
        throw new Error(`after clicking ${JSON.stringify(word)}${word2 !== null ? ` and Enter on ${JSON.stringify(word2)}` : ''} the file ends ${JSON.stringify(content.slice(-50))}, expected ${JSON.stringify(expected[0].slice(-50))}`);
      }
      // Leave the workspace as it was for any later step.
      fs.writeFileSync(file, original);
      return `${items.length} candidates, top ${items.slice(0, 3).map((it, i) => `${JSON.stringify(it.word)} ${pcts[i]}%`).join(', ')}; click inserted ${JSON.stringify(word)}${word2 !== null ? `, Enter inserted ${JSON.stringify(word2)}` : ''}`;
    });

    for (const theme of THEMES) {
      await step(`heatmap in ${theme.label}: text keeps ${theme.minimum}:1 over every step, the defaults render, the legend shows them`, async () => {
        // Pick the theme, then wait until the workbench wears it (on a loaded machine the quick
        // pick can swallow the typed filter, and Enter would keep the current theme).
        await waitFor(async () => {
          await runCommand(page, 'Preferences: Color Theme');
          const input = page.locator('.quick-input-widget .quick-input-box input');
          await input.fill(theme.label);
          if ((await input.inputValue()) !== theme.label) return false;
          const row = page.locator('.quick-input-list .monaco-list-row', { hasText: theme.label }).first();
          await row.waitFor({ state: 'visible', timeout: 10_000 });
          await row.click();
          return waitFor(() => page.evaluate((cls) => document.querySelector('.monaco-workbench')?.classList.contains(cls) ?? false, theme.workbenchClass), { timeout: 10_000 }).then(() => true, () => false);
        }, { timeout: 60_000, message: `the ${theme.label} theme to apply` });
        await sleep(1000);
        await openFile(page, 'prose.md');
        await page.mouse.move(5, 5);
        const before = await heatmapContrast(page);
        if (before.decorations.length < 10) await runCommand(page, 'Surprisal Lens: Toggle Surprisal Heatmap');
        const measured = await waitFor(async () => {
          const m = await heatmapContrast(page);
          return m.decorations.length >= 10 ? m : null;
        }, { timeout: 60_000, message: 'heatmap decorations' });
        await sleep(500);
        await shot(theme.shot);
        const defaults = CONTRIBUTED_COLOURS.filter((c) => /surprisal\d$/.test(c.id)).map((c) => c.defaults[theme.kind]);
        const isStepFill = (css) => defaults.some((hex) => isDefault(css, hex));
        const problems = [];
        for (const d of measured.decorations) {
          if (d.foregroundContrast < theme.minimum) problems.push(`editor text at ${d.foregroundContrast.toFixed(2)}:1 over ${d.fill}`);
          if (!isStepFill(d.fill)) problems.push(`fill ${d.fill} is not one of the ${theme.kind} defaults ${defaults.join(' ')}`);
        }
        const fills = new Set(measured.decorations.map((d) => d.fill));
        const underlines = new Set(measured.decorations.map((d) => d.underline).filter(Boolean));
        if (theme.kind === 'highContrast') {
          // Underlines of growing thickness replace the fills, so text keeps the theme's own contrast.
          if ([...fills].some((f) => f !== 'rgba(0, 0, 0, 0)')) problems.push(`fills in high contrast: ${[...fills].join(', ')}`);
          if (underlines.size < 2) problems.push(`${underlines.size} underline styles: expected several steps`);
        } else if (fills.size < 2) {
          problems.push(`a single fill (${[...fills].join(', ')}): expected several steps`);
        }
        // The legend at the top of the panel shows the same colours.
        await runCommand(page, 'Surprisal Lens: Show Next-Word Distribution');
        const legend = panelFrame(page).locator('#legend li');
        await legend.first().waitFor({ state: 'visible', timeout: 30_000 });
        const entries = await legend.evaluateAll((items) => items.map((li) => {
          const swatch = li.querySelector('.swatch');
          const style = getComputedStyle(swatch);
          return { label: li.innerText.trim(), fill: style.backgroundColor, underline: parseFloat(style.borderBottomWidth) > 0 ? style.borderBottomColor : '' };
        }));
        if (entries.length !== 6 || !/^ab\s*0-3 bits \(uncoloured\)$/.test(entries[0].label)) problems.push(`legend ${JSON.stringify(entries.map((e) => e.label))}`);
        for (const e of entries) if (!isStepFill(e.fill)) problems.push(`legend swatch fill ${e.fill} is not a ${theme.kind} default`);
        await shot(`${theme.shot}-panel`);
        await closePanelTab(page);
        if (problems.length) throw new Error(problems.slice(0, 8).join('; '));
        const texts = measured.decorations.map((d) => d.textContrast).filter((c) => c !== null);
        return `${measured.decorations.length} decorations, ${fills.size} fills, ${underlines.size} underlines; editor text ≥ ${Math.min(...measured.decorations.map((d) => d.foregroundContrast)).toFixed(2)}:1, coloured text ≥ ${Math.min(...texts).toFixed(2)}:1; legend ${entries.length} entries`;
      });
    }

    if (!smoke) {
      // The pictures in docs/ are in Dark Modern; the theme list can be slow to fill at first.
      const useTheme = async (label) => {
        for (let attempt = 1; attempt <= 3; attempt++) {
          await runCommand(page, 'Preferences: Color Theme');
          const input = page.locator('.quick-input-widget .quick-input-box input');
          await input.fill(label);
          const found = await page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first().waitFor({ state: 'visible', timeout: 5_000 }).then(() => true, () => false);
          if (found) {
            await page.keyboard.press('Enter');
            await sleep(1000);
            return;
          }
          await page.keyboard.press('Escape');
          await sleep(1000);
        }
        log(`could not switch to ${label}; the screenshots keep the current theme`);
      };
      await step('the panel generates word by word (top-k, seeded), and Undo step removes the last word', async () => {
        await useTheme('Dark Modern');
        await openFile(page, 'prose.md');
        await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
        // After the last sentence ("… stood in the fog."), before the final newline.
        await page.keyboard.press('Control+End');
        await page.keyboard.press('ArrowUp');
        await page.keyboard.press('End');
        await runCommand(page, `Surprisal Lens: Show ${PANEL_TITLE}`);
        await page.locator('.tab', { hasText: PANEL_TITLE }).first().waitFor({ timeout: 20_000 });
        await readCandidates(page);
        const frame = panelFrame(page);
        await frame.locator('#rule').selectOption('topK');
        for (const [id, value] of [['#top-k', '5'], ['#seed', '7'], ['#count', '6']]) {
          await frame.locator(id).fill(value);
          await frame.locator(id).dispatchEvent('change');
        }
        // The list dims what top-5 leaves out.
        await waitFor(async () => (await frame.locator('.candidates li.left-out').count()) > 0, { timeout: 10_000, message: 'candidates left out by top-5 to be dimmed' });
        const before = await activeEditorTextOf(page, 'prose.md');
        await frame.locator('#generate').click();
        const rows = frame.locator('#history tbody tr');
        await waitFor(async () => (await rows.count()) === 6 && (await frame.locator('#stop').isDisabled()), { timeout: 120_000, message: 'six generated steps' });
        const kept = await rows.evaluateAll((trs) => trs.map((tr) => tr.children[6].textContent));
        for (const k of kept) if (!/^[1-5] of \d+$/.test(k)) throw new Error(`a top-5 step kept ${k}`);
        const drawn = await frame.locator('#draw').innerText();
        await frame.locator('#generate-heading').scrollIntoViewIfNeeded();
        await frame.locator('#generate-heading').evaluate((h) => h.scrollIntoView({ block: 'start' }));
        await sleep(300);
        await shot('10-generation');
        const written = await activeEditorTextOf(page, 'prose.md');
        if (written.length <= before.length) throw new Error('nothing was written in the editor');
        await frame.locator('#undo-step').click();
        await waitFor(async () => (await rows.count()) === 5, { timeout: 10_000, message: 'Undo step to remove a row' });
        await waitFor(async () => (await activeEditorTextOf(page, 'prose.md')).length < written.length, { timeout: 10_000, message: 'Undo step to remove the last word' });
        await closePanelTab(page);
        await openFile(page, 'prose.md');
        await runCommand(page, 'File: Revert File');
        await waitFor(async () => (await activeEditorTextOf(page, 'prose.md')).length === before.length, { timeout: 10_000, message: 'prose.md to be reverted' });
        return `kept ${kept.join(', ')}; ${drawn.replace(/\s+/g, ' ').slice(0, 80)}`;
      });

      await step('Compare with Model colours words by the difference; the hover shows both models', async () => {
        await useTheme('Dark Modern');
        await openFile(page, 'prose.md');
        await page.mouse.move(5, 5);
        await runCommand(page, 'Surprisal Lens: Compare with Model...');
        const input = page.locator('.quick-input-widget .quick-input-box input');
        await input.waitFor({ state: 'visible', timeout: 10_000 });
        // Another model shipped in the checkout (the tiny test model beside the default one).
        await input.fill('Bundled:');
        await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Bundled:' }).first().waitFor({ state: 'visible', timeout: 10_000 });
        await page.keyboard.press('Enter');
        const coloured = await waitFor(async () => {
          const d = await colouredDecorations(page);
          return d.count >= 10 && d.colours.length >= 2 ? d : null;
        }, { timeout: 120_000, message: 'difference decorations in several colours' });
        await sleep(500);
        await shot('11-difference');
        const { text } = await hoverWord(page, 'quick');
        if (!/Compared: .+ bits.+ bits.+second − first/.test(text)) throw new Error(`the hover does not compare: ${JSON.stringify(text.slice(0, 300))}`);
        await shot('12-difference-hover');
        await page.mouse.move(5, 5);
        await runCommand(page, 'Surprisal Lens: Stop Comparing');
        return `${coloured.count} words coloured in ${coloured.colours.length} colours`;
      });

      await step('scoring on an inference server (vLLM\'s API): asks first, then the heatmap and hover come from the server', async () => {
        const engine = await startFakeEngineProcess({ modelFolder: 'models/default', name: 'surprisal-lens/default' });
        const remoteSettings = { 'surprisalLens.remote.url': engine.url, 'surprisalLens.remote.model': 'surprisal-lens/default', 'surprisalLens.remote.api': 'openai-completions' };
        try {
          await openFile(page, 'prose.md');
          await page.mouse.move(5, 5);
          const heatmapWasOn = (await colouredDecorations(page)).count >= 10;
          // machine scope: only user settings can send documents elsewhere
          updateUserSettings(runDir, remoteSettings);
          // The reload re-scores the visible document for the heatmap; with it off, a hover asks.
          if (!heatmapWasOn) await runCommand(page, 'Surprisal Lens: Toggle Surprisal Heatmap');
          const dialog = page.locator('.monaco-dialog-box');
          await dialog.waitFor({ state: 'visible', timeout: 60_000 });
          const question = await dialog.innerText();
          const host = new URL(engine.url).host;
          if (!question.includes(`send the text of your documents to ${host}`)) throw new Error(`the question does not name the server: ${JSON.stringify(question)}`);
          // Connecting may send a probe (vLLM's /tokenize of "a"), never the document.
          const sent = engine.calls.filter((c) => JSON.stringify(c.body ?? {}).includes('quick brown'));
          if (sent.length > 0) throw new Error(`the document was sent before the answer: ${JSON.stringify(sent).slice(0, 300)}`);
          await shot('13-remote-consent');
          await dialog.locator('.monaco-button', { hasText: 'Send to This Server' }).first().click();
          const status = await waitFor(async () => {
            const text = await page.locator('.statusbar-item', { hasText: `at ${host}` }).first().innerText({ timeout: 1_000 }).catch(() => '');
            return /ppl/.test(text) ? text : null;
          }, { timeout: 60_000, message: `the status bar to name the server ${host} with the document's figures` });
          if (!engine.calls.some((c) => c.path === '/v1/completions')) throw new Error(`no scoring request reached the server: ${JSON.stringify(engine.calls)}`);
          const coloured = await waitFor(async () => {
            const d = await colouredDecorations(page);
            return d.count >= 10 && d.colours.length >= 2 ? d : null;
          }, { timeout: 30_000, message: 'heatmap decorations from the server\'s scores' });
          const { text } = await hoverWord(page, 'fox');
          await shot('14-remote-hover');
          const h = assertHoverConsistent(text, { entropy: false });
          // The server runs the bundled model: its numbers are the worker's (shown to the same digits).
          if (localFox && (h.probability.value !== localFox.probability.value || h.rank !== localFox.rank)) {
            throw new Error(`"fox" on the server: ${h.probability.value}% rank ${h.rank}; in the worker: ${localFox.probability.value}% rank ${localFox.rank}`);
          }
          await page.mouse.move(5, 5);
          if (!heatmapWasOn) await runCommand(page, 'Surprisal Lens: Toggle Surprisal Heatmap');
          return `${status.replace(/\s+/g, ' ')}; ${coloured.count} coloured; "fox" ${h.probability.value}%, rank ${h.rank}; ${engine.calls.length} requests`;
        } finally {
          updateUserSettings(runDir, Object.fromEntries(Object.keys(remoteSettings).map((k) => [k, undefined])));
          await engine.close();
        }
      });
    }
  }

  await closePage(page);
  if (consoleErrors.length) log(`page errors: ${consoleErrors.slice(0, 5).join(' | ')}`);
  const passed = steps.length > 0 && steps.every((s) => s.passed);
  const failed = steps.filter((s) => !s.passed);
  return {
    name: smoke ? 'ui (VSIX)' : 'ui',
    passed,
    seconds: (Date.now() - start) / 1000,
    steps,
    error: passed ? undefined : `${failed.length} of ${steps.length} step(s) failed: ${failed.map((s) => s.name).join('; ')}`,
  };
}

/** Saves `name` (Ctrl+S in its editor) and returns the file's content once it is one of `expected` (or the last seen). */
/** Closes the Next-Word panel's tab, if open. */
async function closePanelTab(page) {
  const tab = page.locator('.tabs-container .tab', { hasText: PANEL_TITLE }).first();
  if (!(await tab.isVisible().catch(() => false))) return;
  await tab.hover();
  await tab.locator('.action-label.codicon-close, .codicon-close').first().click().catch(() => {});
}

async function saveAndRead(page, name, file, expected) {
  await page.locator('.tabs-container .tab', { hasText: name }).first().click();
  await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().waitFor({ timeout: 10_000 });
  await page.keyboard.press('Control+S');
  let text = '';
  await waitFor(() => {
    text = fs.readFileSync(file, 'utf8');
    return expected.includes(text);
  }, { timeout: 10_000 }).catch(() => {});
  return text;
}

/** Text of the editor showing `name` (the panel may have the focus). */
async function activeEditorTextOf(page, name) {
  return page.evaluate((name) => {
    const editors = [...document.querySelectorAll('.monaco-editor[data-uri]')].filter((e) => (e.getAttribute('data-uri') || '').endsWith('/' + name));
    const editor = editors[0] || document.querySelector('.editor-group-container .monaco-editor');
    if (!editor) return '';
    const lines = [...editor.querySelectorAll('.view-lines .view-line')];
    lines.sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));
    return lines.map((l) => l.textContent.replace(/\u00a0/g, ' ')).join('\n');
  }, name);
}

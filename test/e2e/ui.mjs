import { closePage, waitForWorkbench } from './lib/browser.mjs';
import { workbenchUrl } from './lib/server.mjs';
import * as path from 'node:path';
export async function runUiSuite({ context, server, folder, extensionPath, shots }) {
  const page = await context.newPage();
  const t = Date.now();
  await page.goto(workbenchUrl(server, { folder, extensionDevelopmentPath: extensionPath }));
  await waitForWorkbench(page);
  await page.screenshot({ path: path.join(shots, 'workbench.png') });
  await closePage(page);
  return { name: 'ui', passed: true, seconds: (Date.now() - t) / 1000 };
}

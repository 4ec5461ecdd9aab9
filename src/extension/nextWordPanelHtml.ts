/**
 * The Next-Word Distribution panel's page: static HTML under a strict CSP (scripts and
 * styles only from the extension, with a nonce). Everything from the document or the model
 * arrives later by message and is written with textContent.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { MAX_TEMPERATURE, MIN_TEMPERATURE } from '../core/temperature';

export function nextWordPanelHtml(webview: vscode.Webview, extensionUri: vscode.Uri, title: string): string {
  const nonce = randomBytes(18).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'panel.css'));
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `img-src ${webview.cspSource}`,
  ].join('; ');
  // The page is static; everything from the document or the model arrives by message and is
  // written with textContent.
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}" nonce="${nonce}">
<title>${title}</title>
</head>
<body>
<main>
<section class="heatmap-key" aria-labelledby="legend-heading">
  <p class="legend-title"><span id="legend-heading">Heatmap</span> <span id="legend-note" class="note"></span></p>
  <ul id="legend" class="legend" aria-labelledby="legend-heading"></ul>
</section>
<section class="next" aria-labelledby="next-heading">
  <div class="toolbar">
    <h2 id="next-heading">Next words</h2>
    <div class="modes" role="group" aria-label="List">
      <button type="button" id="mode-words" aria-pressed="true" title="Whole words, with P(word | text before the cursor)">Words</button>
      <button type="button" id="mode-tokens" aria-pressed="false" title="The model's raw next tokens">Tokens</button>
    </div>
    <label class="temperature" for="temperature">Temperature <output id="temperature-value" for="temperature">1.00</output></label>
    <input type="range" id="temperature" min="${MIN_TEMPERATURE}" max="${MAX_TEMPERATURE}" step="0.05" value="1" aria-describedby="temperature-note">
  </div>
  <p id="status" class="status" role="status" aria-live="polite"></p>
  <p class="context"><span class="label">Conditioned on</span> <q id="context-tail" class="context-tail"></q><span id="position" class="position"></span></p>
  <p class="meta"><span id="entropy"></span> <span id="ends-here"></span></p>
  <ul id="candidates" class="candidates" role="listbox" tabindex="0" aria-label="Most likely next words: arrow keys choose, Enter inserts at the cursor"></ul>
  <p id="temperature-note" class="note"></p>
</section>
<section class="generate" aria-labelledby="generate-heading">
  <h2 id="generate-heading">Generate</h2>
  <div class="generate-controls">
    <label for="rule">Rule</label>
    <select id="rule">
      <option value="greedy">Greedy (most probable)</option>
      <option value="sample">Sample at the temperature</option>
      <option value="topK">Top-k</option>
      <option value="topP">Top-p (nucleus)</option>
    </select>
    <label for="top-k" class="rule-k">k</label>
    <input type="number" id="top-k" class="rule-k" min="1" max="100" step="1" value="5">
    <label for="top-p" class="rule-p">p</label>
    <input type="number" id="top-p" class="rule-p" min="0.01" max="1" step="0.05" value="0.9">
    <label for="seed" class="rule-seed">Seed</label>
    <input type="number" id="seed" class="rule-seed" min="0" max="4294967295" step="1" value="1">
    <label for="count">N</label>
    <input type="number" id="count" min="1" max="200" step="1" value="10">
  </div>
  <div class="generate-buttons">
    <button type="button" id="step" title="Append one word chosen by the rule at the cursor (one undoable edit)">Step</button>
    <button type="button" id="generate" title="Append N words, one at a time">Generate N</button>
    <button type="button" id="stop" disabled title="Stop generating (typing in the document stops it too)">Stop</button>
    <button type="button" id="undo-step" disabled title="Remove the last generated word">Undo step</button>
    <button type="button" id="clear-history" disabled title="Forget the history below (the text stays)">Clear</button>
  </div>
  <p id="rule-note" class="note"></p>
  <p id="generate-status" class="status" role="status" aria-live="polite"></p>
  <div id="draw" class="draw" aria-label="What the rule drew from at the last step"></div>
  <h3 id="history-heading">Steps</h3>
  <div id="history-spark" class="sparkline history-spark" aria-hidden="true"></div>
  <table id="history" class="history" aria-labelledby="history-heading">
    <thead><tr><th scope="col">#</th><th scope="col">Word</th><th scope="col">P</th><th scope="col" title="The share the rule drew the word with (renormalised over the candidates it kept)">Drawn with</th><th scope="col">Rank</th><th scope="col">Entropy</th><th scope="col">Kept</th><th scope="col">Bits</th></tr></thead>
    <tbody></tbody>
  </table>
</section>
<section class="document" aria-labelledby="document-heading">
  <h2 id="document-heading">Document</h2>
  <p id="document-status" class="status" role="status" aria-live="polite"></p>
  <dl id="summary" class="summary"></dl>
  <h3 id="ranks-heading">Rank of each token among the model's predictions (GLTR)</h3>
  <div id="ranks" class="bars" role="list" aria-labelledby="ranks-heading"></div>
  <h3 id="histogram-heading">Surprisal of the tokens, in bits (in the heatmap's surprisal colours)</h3>
  <div id="histogram" class="bars" role="list" aria-labelledby="histogram-heading"></div>
  <h3 id="sparkline-heading">Surprisal along the document</h3>
  <div id="sparkline" class="sparkline" tabindex="0" role="slider" aria-labelledby="sparkline-heading" aria-valuemin="0" aria-valuemax="0" aria-valuenow="0"></div>
  <p class="note">Click the line (or focus it, move with the arrow keys and press Enter) to go to that token; each point is the most surprising token of its stretch.</p>
  <div class="export">
    <button type="button" id="export-csv">Export CSV…</button>
    <button type="button" id="export-json">Export JSON…</button>
  </div>
</section>
</main>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}

// Extension host: generation from the Next-Word panel. A step inserts one word (the top
// candidate under greedy) as one undoable edit; Undo step removes it; a seed repeats the same
// sampled words; typing during a run stops it.
'use strict';
const assert = require('assert');
const vscode = require('vscode');
const { test } = require('./harness');
const h = require('./helpers');

const GREEDY = { kind: 'greedy', k: 5, p: 0.9, temperature: 1, seed: 1 };

async function openPanelAt(api, doc, editor, offset) {
  editor.selection = new vscode.Selection(doc.positionAt(offset), doc.positionAt(offset));
  await vscode.commands.executeCommand('surprisalLens.showNextWords');
  const shown = await h.waitFor(() => {
    const s = api.nextWordPanelSnapshot();
    return s && s.offset === offset && s.version === doc.version && s.candidates.length > 0 ? s : undefined;
  }, { timeout: 60_000, message: 'the panel to list candidates for the cursor' });
  // The panel opened beside the editor; the editor keeps the focus (undo acts on it).
  await vscode.window.showTextDocument(doc, editor.viewColumn);
  return shown;
}

async function closePanel() {
  const tab = vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((tb) => tb.label === 'Next-Word Distribution');
  if (tab) await vscode.window.tabGroups.close(tab);
}

test('Step inserts the greedy word as one undoable edit; Undo step removes it', async (t) => {
  const api = await h.getApi();
  const { doc, editor } = await h.openFile('prose.md');
  const offset = h.offsetOf(doc, 'jumps over the ') + 'jumps over the '.length;
  const before = doc.getText();
  try {
    const shown = await openPanelAt(api, doc, editor, offset);
    const top = shown.candidates.find((c) => c.completion !== '');
    const history = await api.generateNextWords(1, GREEDY);
    assert.strictEqual(history.steps.length, 1, history.message);
    const row = history.steps[0];
    assert.strictEqual(row.text, top.text, 'greedy picks the most probable candidate');
    assert.strictEqual(row.rank, 1);
    assert.strictEqual(row.kept, 1);
    assert.strictEqual(row.share, 1);
    assert.ok(Math.abs(row.prob - top.prob) < 1e-9, `${row.prob} vs ${top.prob}`);
    assert.strictEqual(doc.getText(), before.slice(0, offset) + top.completion + before.slice(offset));
    t.log(`step after "jumps over the ": ${JSON.stringify(top.completion)} at ${(top.prob * 100).toFixed(1)}%`);

    // One undo removes exactly the step.
    await vscode.commands.executeCommand('undo');
    await h.waitFor(() => doc.getText() === before, { timeout: 5_000, message: 'undo to restore the text' });
    await vscode.commands.executeCommand('redo');
    await h.waitFor(() => doc.getText() !== before, { timeout: 5_000, message: 'redo to put the step back' });

    // Undo step does the same from the panel, and empties the history.
    assert.strictEqual(await api.undoGenerationStep(), true);
    assert.strictEqual(doc.getText(), before);
    assert.strictEqual(api.nextWordPanelSnapshot().generation.steps.length, 0);
  } finally {
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await closePanel();
  }
}, { timeout: 120_000 });

test('sampling with a seed repeats the same words; typing during a run stops it', async (t) => {
  const api = await h.getApi();
  const { doc, editor } = await h.openFile('prose.md');
  const offset = h.offsetOf(doc, 'On a quiet morning ') + 'On a quiet morning '.length;
  const before = doc.getText();
  const rule = { kind: 'topK', k: 5, p: 0.9, temperature: 1.5, seed: 4242 };
  try {
    await openPanelAt(api, doc, editor, offset);
    const first = await api.generateNextWords(3, rule);
    assert.strictEqual(first.steps.length, 3, first.message);
    for (const row of first.steps) assert.ok(row.kept <= 5 && row.rank <= 5, `top-5 kept ${row.kept}, rank ${row.rank}`);
    const written = doc.getText();
    assert.notStrictEqual(written, before);
    for (let i = 0; i < 3; i++) assert.strictEqual(await api.undoGenerationStep(), true);
    assert.strictEqual(doc.getText(), before, 'three undo steps remove the three words');
    editor.selection = new vscode.Selection(doc.positionAt(offset), doc.positionAt(offset));
    const again = await api.generateNextWords(3, rule);
    assert.strictEqual(doc.getText(), written, 'the same seed from the same text writes the same words');
    assert.deepStrictEqual(again.steps.map((r) => r.text), first.steps.map((r) => r.text));
    t.log(`seed 4242: ${JSON.stringify(first.steps.map((r) => r.text).join(''))}`);

    // A long run, interrupted by an edit of the document.
    const run = api.generateNextWords(150, rule);
    await h.waitFor(() => api.nextWordPanelSnapshot().generation.steps.length >= 4, { timeout: 60_000, message: 'a step of the long run' });
    // The API refuses an edit made against a version a step's own edit has just replaced
    // (typing is never refused that way): try again until it lands, as the next keystroke would.
    let typed = false;
    let attempts = 0;
    while (!typed && attempts < 20) {
      attempts++;
      typed = await editor.edit((b) => b.insert(new vscode.Position(0, 0), 'typed '));
    }
    assert.ok(typed, 'the edit during the run was applied');
    t.log(`edit during the run applied at attempt ${attempts}`);
    const stopped = await run;
    assert.strictEqual(stopped.running, false);
    assert.strictEqual(stopped.message, 'Stopped: the document was edited.');
    const count = stopped.steps.length;
    assert.ok(count < 153, `${count} steps: the run went on after the edit`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.strictEqual(api.nextWordPanelSnapshot().generation.steps.length, count, 'no step after the run stopped');
  } finally {
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await closePanel();
  }
}, { timeout: 180_000 });

// One throwaway code-server per run: its own HOME/TMPDIR/XDG_* folders, user-data and
// extensions folders, all inside a run folder under the OS temp dir; bound to 127.0.0.1 on a
// port the OS picks; stopped by process group.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { killGroup, log, run, sleep, track, untrack, waitFor } from './util.mjs';

/** Creates the run folder and the per-run home folders. */
export function makeRunDir(label) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `surprisal-e2e-${label}-`));
  for (const sub of ['home', 'tmp', 'xdg/config', 'xdg/data', 'xdg/cache', 'xdg/state', 'xdg/runtime']) {
    fs.mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o700 });
  }
  return dir;
}

/** Environment that keeps everything the server writes inside `runDir`. */
export function isolatedEnv(runDir, extra = {}) {
  const env = { ...process.env };
  // Inherited settings that would leak the developer's own VS Code into the test server.
  for (const key of Object.keys(env)) {
    if (/^(VSCODE_|ELECTRON_|CODE_SERVER_)/.test(key) || key === 'PASSWORD' || key === 'HASHED_PASSWORD') delete env[key];
  }
  return {
    ...env,
    HOME: path.join(runDir, 'home'),
    TMPDIR: path.join(runDir, 'tmp'),
    XDG_CONFIG_HOME: path.join(runDir, 'xdg/config'),
    XDG_DATA_HOME: path.join(runDir, 'xdg/data'),
    XDG_CACHE_HOME: path.join(runDir, 'xdg/cache'),
    XDG_STATE_HOME: path.join(runDir, 'xdg/state'),
    XDG_RUNTIME_DIR: path.join(runDir, 'xdg/runtime'),
    ...extra,
  };
}

function dataDirs(runDir) {
  return {
    userData: path.join(runDir, 'user-data'),
    extensions: path.join(runDir, 'extensions'),
    serverData: path.join(runDir, 'server-data'),
  };
}

/** Command line for the installed code-server (see install.mjs TARGETS.launcher). */
function serverCommand(cs, runDir, extraArgs, trustWorkspaces) {
  const d = dataDirs(runDir);
  // Every folder is trusted unless a suite needs VS Code's restricted mode.
  const trust = trustWorkspaces ? [] : ['--disable-workspace-trust'];
  if (cs.launcher === 'server-main') {
    return [
      path.join(cs.root, 'lib', 'vscode', 'out', 'server-main.js'),
      '--host', '127.0.0.1', '--port', '0',
      '--without-connection-token', '--accept-server-license-terms',
      '--server-data-dir', d.serverData,
      '--user-data-dir', d.userData,
      '--extensions-dir', d.extensions,
      '--enable-smoke-test-driver',
      '--disable-telemetry',
      ...trust,
      ...extraArgs,
    ];
  }
  return [
    path.join(cs.root, 'out', 'node', 'entry.js'),
    '--bind-addr', '127.0.0.1:0',
    '--auth', 'none',
    '--user-data-dir', d.userData,
    '--extensions-dir', d.extensions,
    '--disable-telemetry',
    '--disable-update-check',
    ...trust,
    '--disable-getting-started-override',
    '--ignore-last-opened',
    ...extraArgs,
  ];
}

/** `--install-extension` into the run's extensions folder (the server is not running). */
export async function installVsix(cs, runDir, vsix, env) {
  const d = dataDirs(runDir);
  const args =
    cs.launcher === 'server-main'
      ? [path.join(cs.root, 'lib', 'vscode', 'out', 'server-main.js'), '--accept-server-license-terms', '--server-data-dir', d.serverData, '--user-data-dir', d.userData, '--extensions-dir', d.extensions, '--install-extension', vsix]
      : [path.join(cs.root, 'out', 'node', 'entry.js'), '--user-data-dir', d.userData, '--extensions-dir', d.extensions, '--install-extension', vsix];
  const res = await run(cs.node, args, { env, quiet: true, timeout: 120_000 });
  if (res.code !== 0 || !/successfully installed|was successfully/i.test(res.output)) {
    throw new Error(`installing ${vsix} failed (exit ${res.code}):\n${res.output}`);
  }
  const installed = fs.existsSync(d.extensions) ? fs.readdirSync(d.extensions).filter((n) => n.startsWith('surprisal-lens.surprisal-lens-')) : [];
  if (installed.length !== 1) throw new Error(`after --install-extension, ${d.extensions} holds ${JSON.stringify(installed)}`);
  log(`installed ${path.basename(vsix)} as ${installed[0]}`);
}

/**
 * Starts the server and waits until it listens. Returns { url, port, pid, logPath, stop }.
 * `env` is passed to the server and so to its extension hosts (the integration suite reads
 * SURPRISAL_E2E_RESULTS from it).
 */
export async function startServer(cs, runDir, { env, extraArgs = [], trustWorkspaces = false } = {}) {
  const logPath = path.join(runDir, 'server.log');
  const out = fs.openSync(logPath, 'a');
  const args = serverCommand(cs, runDir, extraArgs, trustWorkspaces);
  const child = spawn(cs.node, args, { cwd: runDir, env, stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  track(child);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    untrack(child);
  });
  const listening = /HTTP server listening on https?:\/\/127\.0\.0\.1:(\d+)|Extension host agent listening on (\d+)|Web UI available at https?:\/\/127\.0\.0\.1:(\d+)/;
  let port;
  try {
    port = await waitFor(
      () => {
        if (exited) throw new Error(`server exited early (${JSON.stringify(exited)})`);
        const m = fs.readFileSync(logPath, 'utf8').match(listening);
        return m && Number(m[1] ?? m[2] ?? m[3]);
      },
      { timeout: 90_000, interval: 200, message: `code-server to listen (log: ${logPath})` },
    );
  } catch (err) {
    killGroup(child.pid, 'SIGKILL');
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  log(`code-server ${cs.version} (VS Code ${cs.vscode}) listening on ${url}, pid ${child.pid}, log ${logPath}`);
  return {
    url,
    port,
    pid: child.pid,
    logPath,
    /** SIGTERM to the process group, SIGKILL after 5 s if anything is left. */
    async stop() {
      if (exited && !groupAlive(child.pid)) return;
      killGroup(child.pid, 'SIGTERM');
      for (let i = 0; i < 50 && groupAlive(child.pid); i++) await sleep(100);
      if (groupAlive(child.pid)) {
        log(`server group ${child.pid} still alive after SIGTERM; SIGKILL`);
        killGroup(child.pid, 'SIGKILL');
        for (let i = 0; i < 20 && groupAlive(child.pid); i++) await sleep(100);
      }
      untrack(child);
    },
  };
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** URL that opens `folder` in the workbench, with optional development/test payload. */
export function workbenchUrl(server, { folder, extensionDevelopmentPath, extensionTestsPath }) {
  const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
  const payload = [];
  if (extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', remote(extensionDevelopmentPath)]);
  if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
  const params = new URLSearchParams();
  params.set('folder', folder);
  if (payload.length) params.set('payload', JSON.stringify(payload));
  return `${server.url}/?${params.toString()}`;
}

/** Quiet, deterministic settings: no welcome page, tips, chat side bar, update checks. */
export const TEST_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  'files.hotExit': 'off',
  'files.autoSave': 'off',
  'window.restoreWindows': 'none',
  'editor.minimap.enabled': false,
  'editor.wordWrap': 'off',
  '[markdown]': { 'editor.wordWrap': 'off' },
  'editor.hover.delay': 200,
  'editor.occurrencesHighlight': 'off',
  'editor.selectionHighlight': false,
};

/** The run's user settings files (code-server reads the first, VS Code's own server build the second). */
function userSettingsFiles(runDir) {
  return [path.join(runDir, 'user-data', 'User', 'settings.json'), path.join(runDir, 'server-data', 'data', 'User', 'settings.json')];
}

/**
 * Changes user settings while the workbench runs (it watches the files): `patch` values
 * replace settings, `undefined` removes one. Written to the remote ("Machine") settings too:
 * in a remote window such as code-server's, settings of `machine` scope are read from
 * there, never from workspace settings.
 */
export function updateUserSettings(runDir, patch) {
  const machine = [path.join(runDir, 'user-data', 'Machine', 'settings.json'), path.join(runDir, 'server-data', 'data', 'Machine', 'settings.json')];
  for (const file of [...userSettingsFiles(runDir), ...machine]) {
    const settings = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) delete settings[key];
      else settings[key] = value;
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(settings, null, 2) + '\n');
  }
}

/** Writes TEST_SETTINGS (and `extra`) as user settings of the run and as workspace settings of `folder`. */
export function writeSettings(runDir, folders, extra = {}) {
  const text = JSON.stringify({ ...TEST_SETTINGS, ...extra }, null, 2) + '\n';
  for (const file of userSettingsFiles(runDir)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  for (const folder of folders) {
    fs.mkdirSync(path.join(folder, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(folder, '.vscode', 'settings.json'), text);
  }
}

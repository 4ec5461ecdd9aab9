/**
 * ONNX Runtime's optimized graph, saved after a first load and loaded with optimizations off
 * the next time: the second load of a model skips the in-memory scoring rewrite and the
 * graph optimizer (SmolLM2-135M fp32: about 1.3 s of a plain ORT load down to 0.8-0.9 s, and
 * the rewrite's read of the 652 MB file; BENCHMARKS.md).
 *
 * Entries are keyed by the graph file's real path, size and mtime, the ONNX Runtime version,
 * the CPU model and whether the graph was rewritten for scoring: the saved graph holds
 * hardware-specific layouts (ORT warns so), and a replaced or updated model file is a new
 * key. Only the newest few entries are kept, since each is as large as the model. Graphs
 * with external data files are not cached (ORT would write their weights into one protobuf,
 * which cannot exceed 2 GB).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

/** Set to a folder to turn the cache on in processes that do not pass one (the worker, the CLI). */
export const GRAPH_CACHE_ENVIRONMENT = 'SURPRISAL_LENS_GRAPH_CACHE';

export type GraphMode = 'scoring' | 'plain';

export class OptimizedGraphCache {
  constructor(
    readonly folder: string,
    /** Entries kept; older ones are deleted when a new one is saved. */
    readonly entries = 2,
  ) {}

  /** The cache named by GRAPH_CACHE_ENVIRONMENT, or null when it is not set. */
  static fromEnvironment(): OptimizedGraphCache | null {
    const folder = process.env[GRAPH_CACHE_ENVIRONMENT];
    return folder ? new OptimizedGraphCache(folder) : null;
  }

  /** The saved optimized graph for this file and mode, or null. */
  find(graphPath: string, mode: GraphMode): string | null {
    const path = this.pathFor(graphPath, mode);
    if (!existsSync(path)) return null;
    // Touched, so eviction removes the least recently used entries first.
    const now = new Date();
    utimesSync(path, now, now);
    return path;
  }

  /** Where ONNX Runtime should write the optimized graph while loading; `commit` publishes it. */
  reserve(graphPath: string, mode: GraphMode): string {
    mkdirSync(this.folder, { recursive: true });
    return `${this.pathFor(graphPath, mode)}.${process.pid}.partial`;
  }

  commit(partial: string, graphPath: string, mode: GraphMode): void {
    if (!existsSync(partial)) return;
    renameSync(partial, this.pathFor(graphPath, mode));
    const saved = readdirSync(this.folder)
      .filter((f) => f.endsWith('.onnx'))
      .map((f) => ({ path: join(this.folder, f), time: statSync(join(this.folder, f)).mtimeMs }))
      .sort((a, b) => b.time - a.time);
    for (const old of saved.slice(this.entries)) rmSync(old.path, { force: true });
  }

  discard(path: string): void {
    rmSync(path, { force: true });
  }

  private pathFor(graphPath: string, mode: GraphMode): string {
    const stat = statSync(graphPath);
    const key = [realpathSync(graphPath), stat.size, stat.mtimeMs, ort.env.versions.node ?? ort.env.versions.common, cpus()[0]?.model ?? '', process.arch, mode].join('\n');
    return join(this.folder, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.onnx`);
  }
}

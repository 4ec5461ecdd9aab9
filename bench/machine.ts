/** The machine under test and its theoretical fp32 peak, from /proc/cpuinfo and lscpu. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  readonly cpu: string;
  readonly vendor: string;
  readonly family: number;
  readonly model: number;
  readonly cores: number;
  readonly mhz: number;
  readonly flags: ReadonlySet<string>;
  readonly hypervisor: string | null;
  readonly memoryGb: number;
  readonly caches: string;
  readonly node: string;
  readonly ort: string;
  readonly peak: Peak;
}

export interface Peak {
  readonly lanes: number;
  readonly fmaUnits: number;
  readonly gflops: number;
  /** How the peak was derived, in words. */
  readonly how: string;
}

function lscpu(): Map<string, string> {
  try {
    const out = execFileSync('lscpu', { encoding: 'utf8' });
    return new Map(out.split('\n').filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')).trim(), l.slice(l.indexOf(':') + 1).trim()]));
  } catch {
    return new Map();
  }
}

/** Zen generation of an AMD family number (17h = Zen 1-2, 19h = Zen 3-4, 1Ah = Zen 5). */
function amdGeneration(family: number, flags: ReadonlySet<string>): string {
  if (family === 0x1a) return 'Zen 5';
  if (family === 0x19) return flags.has('avx512f') ? 'Zen 4' : 'Zen 3';
  if (family === 0x17) return 'Zen 1/2';
  return `family ${family}`;
}

export function describeMachine(): Machine {
  const info = readFileSync('/proc/cpuinfo', 'utf8');
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '';
  const flags = new Set(field('flags').split(/\s+/));
  const vendor = field('vendor_id');
  const family = Number(field('cpu family'));
  const model = Number(field('model'));
  const mhz = Number(field('cpu MHz'));
  const ls = lscpu();
  const cores = os.availableParallelism();
  const caches = ['L1d', 'L2', 'L3'].map((c) => `${c} ${ls.get(`${c} cache`) ?? '?'}`).join(', ');
  const ghz = mhz / 1000;
  let lanes: number;
  let fmaUnits: number;
  let basis: string;
  const amd = vendor === 'AuthenticAMD';
  if (flags.has('avx512f') && amd && family === 0x19) {
    // Zen 4 executes 512-bit FMAs as two 256-bit halves: 2 x 256-bit FMA pipes.
    lanes = 8; fmaUnits = 2; basis = 'Zen 4: AVX-512 on 2 x 256-bit FMA pipes';
  } else if (flags.has('avx512f')) {
    lanes = 16; fmaUnits = 2;
    basis = amd ? `${amdGeneration(family, flags)} (family ${family.toString(16)}h): AVX-512 with 2 full 512-bit FMA pipes per core` : 'AVX-512 with 2 FMA units per core';
  } else if (flags.has('fma') && flags.has('avx2')) {
    lanes = 8; fmaUnits = 2; basis = 'AVX2 + FMA3, 2 x 256-bit FMA units per core';
  } else {
    lanes = 4; fmaUnits = 1; basis = 'SSE, no FMA: 4 lanes x (1 mul + 1 add)';
  }
  const gflops = cores * fmaUnits * lanes * 2 * ghz;
  const how = `${basis}; ${fmaUnits} FMA x ${lanes} fp32 lanes x 2 flops x ${ghz.toFixed(3)} GHz x ${cores} cores = ${gflops.toFixed(0)} GFLOP/s. ` +
    `The clock is the ${mhz.toFixed(0)} MHz /proc/cpuinfo reports (the TSC/base clock under ${ls.get('Hypervisor vendor') ?? 'no'} virtualisation); ` +
    'the real sustained all-core clock is not visible to the guest and may be higher (boost) or lower (AVX-512 licence), so this is the peak at the reported clock.';
  let ort = '?';
  try {
    ort = JSON.parse(readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')).version;
  } catch {
    // unknown
  }
  return {
    cpu: ls.get('Model name') ?? field('model name'),
    vendor,
    family,
    model,
    cores,
    mhz,
    flags,
    hypervisor: ls.get('Hypervisor vendor') ?? null,
    memoryGb: os.totalmem() / 2 ** 30,
    caches,
    node: process.version,
    ort,
    peak: { lanes, fmaUnits, gflops, how },
  };
}

export function machineLine(m: Machine): string {
  const gen = m.vendor === 'AuthenticAMD' ? `${amdGeneration(m.family, m.flags)}, family ${m.family.toString(16)}h model ${m.model.toString(16)}h` : `family ${m.family} model ${m.model}`;
  const simd = ['avx512f', 'avx512_bf16', 'avx512_vnni', 'avx2', 'fma'].filter((f) => m.flags.has(f)).join(', ');
  return `${m.cpu} (${gen}), ${m.cores} vCPUs at ${m.mhz.toFixed(0)} MHz${m.hypervisor ? ` under ${m.hypervisor}` : ''}; ${simd}; ${m.caches}; ` +
    `${m.memoryGb.toFixed(0)} GiB RAM; Node ${m.node}, onnxruntime-node ${m.ort}`;
}

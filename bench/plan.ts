/**
 * What one bench invocation measures: the methods (methods.ts and the sweeps of sweeps.ts), the
 * array sizes, and which method runs at which size in the full, quick and --sweep plans.
 */
import { WORKER_METHODS } from "./long-tasks.ts";
import { FULL_ELEMENT_COUNTS, MAIN_METHODS, MB, type Method, REFERENCE_ELEMENT_COUNT } from "./methods.ts";
import { SWEEP_METHODS, sweepGroup } from "./sweeps.ts";

export {
  ARROW_BATCH_ROW_COUNT,
  type Env,
  FULL_ELEMENT_COUNTS,
  JSON_MAX_ELEMENT_COUNT,
  MB,
  type Method,
  MiB,
  REFERENCE_ELEMENT_COUNT,
} from "./methods.ts";

/** Every method, in table order: the main ones, the worker row, then the sweep points. */
export const METHODS: Method[] = [...MAIN_METHODS, ...WORKER_METHODS, ...SWEEP_METHODS];

/** One many-clients run: `clientCount` concurrent Node clients on one published array. */
export interface ManyClients {
  id: string;
  clientCount: number;
  elementCount: number;
}

/** Item 5 of the issue: 50 clients on the 400 MB array, 10 on the 1.6 GB one (full run only). */
export const MANY_CLIENTS: ManyClients[] = [
  { id: "many-50x400", clientCount: 50, elementCount: 50_000_000 },
  { id: "many-10x1600", clientCount: 10, elementCount: 200_000_000 },
];

/** The file-serving rows (bench/file-serving.ts, `--files`): a 1.6 GB .npy to 10 clients, and one client file vs memory. */
export const FILE_SERVING = { elementCount: 200_000_000, clientCount: 10 } as const;

/** Settings of one bench invocation. */
export interface BenchPlan {
  quick: boolean;
  /** Only the sweeps (ceilings and arraywire's chunk/credit sweep), at the reference size. */
  sweep: boolean;
  /** Runs per (method, size); the median is reported with min-max. */
  runCount: number;
  elementCounts: number[];
  /** The size targets are judged at (400 MB; 100 MB in quick mode). */
  referenceElementCount: number;
  /** The many-clients runs (none in quick and sweep mode). */
  manyClients: ManyClients[];
}

/** The full plan, the quick smoke plan (100 MB arrays, one run, a few sweep points), or the sweep plan. */
export function makePlan(quick: boolean, runCount?: number, sweep = false): BenchPlan {
  if (sweep) {
    return {
      quick,
      sweep,
      runCount: runCount ?? 3,
      elementCounts: [REFERENCE_ELEMENT_COUNT],
      referenceElementCount: REFERENCE_ELEMENT_COUNT,
      manyClients: [],
    };
  }
  if (quick) {
    return {
      quick,
      sweep,
      runCount: runCount ?? 1,
      elementCounts: [12_500_000],
      referenceElementCount: 12_500_000,
      manyClients: [],
    };
  }
  return {
    quick,
    sweep,
    runCount: runCount ?? 3,
    elementCounts: FULL_ELEMENT_COUNTS,
    referenceElementCount: REFERENCE_ELEMENT_COUNT,
    manyClients: MANY_CLIENTS,
  };
}

/**
 * The methods that run at `elementCount` under `plan`. --sweep: every sweep point. Otherwise the
 * main methods and the ceiling sweeps' points (not arraywire's own sweep); quick mode keeps the
 * methods marked for it (every main method, a few sweep points).
 */
export function methodsAt(plan: BenchPlan, elementCount: number): Method[] {
  return METHODS.filter((m) => {
    if (elementCount > m.maxElementCount) return false;
    if (plan.sweep) return m.sweep !== undefined && elementCount === plan.referenceElementCount;
    if (m.sweep && !sweepGroup(m.sweep.group)?.ceiling) return false;
    if (m.referenceOnly && elementCount !== plan.referenceElementCount) return false;
    return !plan.quick || (m.quick ?? m.sweep === undefined);
  });
}

/** "10 MB", "400 MB", "1.6 GB" for an element count of float64. */
export function sizeLabel(elementCount: number): string {
  const bytes = elementCount * 8;
  return bytes >= 1e9 ? `${+(bytes / 1e9).toFixed(2)} GB` : `${+(bytes / MB).toFixed(1)} MB`;
}

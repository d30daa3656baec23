/**
 * The ports probe-targets.ts (Node) provides to the worker tests (workerd),
 * kept apart so the workerd side never sees Node's types.
 */
export interface ProbeTargets {
  answering: number;
  impostor: number;
  silent: number;
  closed: number;
  /** GET /stats: {answering, impostor, silent} → {connections, open, maxOpen}. */
  stats: number;
}

declare module "vitest" {
  export interface ProvidedContext {
    probeTargets: ProbeTargets;
  }
}

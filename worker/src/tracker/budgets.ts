/**
 * The tracker's budgets: the documented limits from @p2p/shared. A
 * deployment's variables may override some of them; the benchmarks do, to
 * load one tracker from one address with far more sockets than a peer's
 * machine would open.
 */
import { MAX_SOCKETS_PER_ADDRESS } from "@p2p/shared";

export interface Budgets {
  socketsPerAddress: number;
}

const positive = (value: string | undefined): number | undefined => {
  const number = Number(value);
  return value !== undefined && Number.isFinite(number) && number > 0 ? number : undefined;
};

export function budgetsFrom(env: Cloudflare.Env): Budgets {
  return {
    socketsPerAddress: positive(env.MAX_SOCKETS_PER_ADDRESS) ?? MAX_SOCKETS_PER_ADDRESS,
  };
}

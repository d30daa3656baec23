/**
 * The tracker's budgets: the documented limits from @p2p/shared. A
 * deployment's variables may override some of them; the benchmarks do, to
 * measure raw throughput with closed-loop clients that send far more than a
 * peer ever would. Raising MAX_CATALOG_BYTES past the shared value breaks
 * peers, whose reply bound follows it.
 */
import {
  CHURN_ADDRESS_BURST_BYTES,
  CHURN_ADDRESS_BYTES_PER_SECOND,
  CHURN_BURST_BYTES,
  CHURN_BYTES_PER_SECOND,
  MAX_CATALOG_BYTES,
  MAX_OBSERVERS,
  MAX_OBSERVERS_PER_ADDRESS,
  MAX_SOCKETS_PER_ADDRESS,
  MAX_USER_PATH_BYTES,
  SOCKET_TOKEN_BURST,
  SOCKET_TOKENS_PER_SECOND,
} from "@p2p/shared";

export interface Budgets {
  /** Each socket's token bucket: refill rate and size. */
  tokensPerSecond: number;
  tokenBurst: number;
  /** Each socket's churn budget (churn-budget.ts): bytes of register and unregister messages. */
  churnBytesPerSecond: number;
  churnBurstBytes: number;
  churnAddressBytesPerSecond: number;
  churnAddressBurstBytes: number;
  socketsPerAddress: number;
  /** Live pages watching (observers), per address and in all. */
  observersPerAddress: number;
  observers: number;
  userPathBytes: number;
  catalogBytes: number;
}

const positive = (value: string | undefined): number | undefined => {
  const number = Number(value);
  return value !== undefined && Number.isFinite(number) && number > 0 ? number : undefined;
};

export function budgetsFrom(env: Cloudflare.Env): Budgets {
  const tokensPerSecond = positive(env.SOCKET_TOKENS_PER_SECOND) ?? SOCKET_TOKENS_PER_SECOND;
  return {
    tokensPerSecond,
    // The burst keeps its ratio to the rate.
    tokenBurst: (tokensPerSecond * SOCKET_TOKEN_BURST) / SOCKET_TOKENS_PER_SECOND,
    // Raised with the message rate, for the benchmarks' closed-loop clients.
    churnBytesPerSecond: (CHURN_BYTES_PER_SECOND * tokensPerSecond) / SOCKET_TOKENS_PER_SECOND,
    churnBurstBytes: Math.max(CHURN_BURST_BYTES, (CHURN_BURST_BYTES * tokensPerSecond) / SOCKET_TOKENS_PER_SECOND),
    churnAddressBytesPerSecond: (CHURN_ADDRESS_BYTES_PER_SECOND * tokensPerSecond) / SOCKET_TOKENS_PER_SECOND,
    churnAddressBurstBytes: Math.max(CHURN_ADDRESS_BURST_BYTES, (CHURN_ADDRESS_BURST_BYTES * tokensPerSecond) / SOCKET_TOKENS_PER_SECOND),
    socketsPerAddress: positive(env.MAX_SOCKETS_PER_ADDRESS) ?? MAX_SOCKETS_PER_ADDRESS,
    observersPerAddress: MAX_OBSERVERS_PER_ADDRESS,
    observers: positive(env.MAX_OBSERVERS) ?? MAX_OBSERVERS,
    userPathBytes: MAX_USER_PATH_BYTES,
    catalogBytes: positive(env.MAX_CATALOG_BYTES) ?? MAX_CATALOG_BYTES,
  };
}

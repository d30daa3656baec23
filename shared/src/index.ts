export * from "./errors.ts";
export * from "./limits.ts";
export * from "./protocol.ts";
export * from "./requests.ts";
export * from "./replies.ts";
export * from "./validate.ts";
export * from "./users-file.ts";
export * from "./transfer.ts";

/** JSON text that must hold an object: one reader, so every boundary fails the same way. */
import { expectObject, ProtocolFailure, type JsonObject } from "./validate.ts";

export function parseJsonObject(text: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolFailure("bad-json", `${what} is not JSON`);
  }
  return expectObject(value, what);
}

/** The `code` of a failed system call (ENOENT, EACCES…), or the message when there is none. */
export function errnoCode(error: unknown): string {
  const code = typeof error === "object" && error !== null && "code" in error ? error.code : undefined;
  return typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
}

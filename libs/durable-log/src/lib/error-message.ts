/** An error's message; duck-typed because Node's own errors fail `instanceof Error` across realms (as under Jest). */
export function errorMessage(error: unknown): string {
  const message = typeof error === 'object' && error !== null && 'message' in error ? error.message : undefined;
  return typeof message === 'string' ? message : String(error);
}

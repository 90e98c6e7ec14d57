/** Bad input in a compose file, naming the service and field so the user can find it in one read. */
export class ComposeError extends Error {
  constructor(
    readonly service: string | undefined,
    readonly field: string | undefined,
    problem: string,
  ) {
    const where = [service === undefined ? undefined : `service "${service}"`, field].filter(Boolean).join(' ');
    super(where ? `${where}: ${problem}` : problem);
    this.name = 'ComposeError';
  }
}

/** Throws a ComposeError for one field of the service being parsed. */
export type FieldFailure = (field: string, problem: string) => never;

export function fieldFailure(service: string | undefined): FieldFailure {
  return (field, problem) => {
    throw new ComposeError(service, field, problem);
  };
}

// The top-level commands a user sees: what --help lists and what completion
// offers first, checked against both so that a new command reaches both.
export const topLevelCommands = [
  'put',
  'get',
  'del',
  'scan',
  'txn',
  'lock',
  'status',
  'failover',
  'deregister',
  'watch-topology',
] as const;

export {
  CommandDecodeError,
  decodeCommand,
  emptyNoopCommand,
  encodeCommand,
  encodedCommandBytes,
} from './lib/command-codec';
export { toKeyValue } from './lib/key-value';
export { bufferOf, checkText } from './lib/text';
export { checkOperateRequest, operateBatchOperationsMax, operationError } from './lib/operate';
export {
  getQuery,
  getResponse,
  scanLimitDefault,
  scanQuery,
  scanResponse,
  type GetQuery,
  type ReadConsistency,
  type ReadConsistencyChoice,
  type ScanQuery,
} from './lib/reads';
export { deleteResponse, putResponse, refusalError, txnResponse } from './lib/write-responses';
export { deleteCommand, putCommand, txnCommand, type WriteCommand, type WriteDurability } from './lib/write-requests';

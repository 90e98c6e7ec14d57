export { crc32c } from './lib/crc32c';
export { encodeFileHeader, parseFileHeader, type FileHeader, type FileHeaderFormat } from './lib/file-header';
export {
  concatBytes,
  frameRecord,
  headerBytes,
  recordAt,
  recordHeaderBytes,
  tempSuffix,
  type RecordAt,
} from './lib/record-framing';
export { readOnlyRecord, scanLog, type ScannedLog, type ScannedRecord } from './lib/log-scanner';
export {
  continueLogFile,
  cutBackAfterFailedAppend,
  fdatasyncAsync,
  makeDirectoryDurably,
  replaceFileAtomically,
  syncDirectory,
  syncWriteBytesMax,
  writeFully,
  writeFullyAsync,
  writeLogRecord,
} from './lib/durable-files';
export { closeLogFile, dropUnsyncedWrites, type OpenLogFile } from './lib/open-log-files';
export { SerialQueue } from './lib/serial-queue';
export { errorMessage } from './lib/error-message';
export { StorageCorruptionError } from './lib/storage-corruption-error';

export { crc32c } from './lib/crc32c';
export { headerBytes, parseFileHeader, type FileHeader, type FileHeaderFormat } from './lib/file-header';
export {
  concatBytes,
  frameRecord,
  recordAt,
  recordHeaderBytes,
  tempSuffix,
  type RecordAt,
  type RecordPlace,
} from './lib/record-framing';
export { encodeRecordFile, type NewRecordFile } from './lib/record-file';
export { readOnlyRecord, scanLog, type RecordsLayout, type ScannedLog, type ScannedRecord } from './lib/log-scanner';
export {
  continueLogFile,
  cutBackAfterFailedAppend,
  fdatasyncAsync,
  makeDirectoryDurably,
  replaceFileAtomically,
  replaceLogAtomically,
  syncDirectory,
  syncWriteBytesMax,
  writeFully,
  writeFullyAsync,
  writeLogRecord,
} from './lib/durable-files';
export { closeLogFile, dropUnsyncedWrites, type OpenLogFile, type OpenRecordLog } from './lib/open-log-files';
export { SerialQueue } from './lib/serial-queue';
export { errorMessage } from './lib/error-message';
export { StorageCorruptionError } from './lib/storage-corruption-error';

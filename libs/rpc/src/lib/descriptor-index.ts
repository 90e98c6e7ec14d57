// An index over the FileDescriptorSet that `buf build` produced from proto/:
// the exact bytes of each file, its imports, and which file defines each
// fully qualified symbol. Reflection answers from it byte for byte, so
// grpcurl and other languages' clients link the same descriptors protoc
// would produce (unlike protobufjs-made descriptors, grpc/grpc-node#3018).
import { fromBinary } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { FileDescriptorProtoSchema, type DescriptorProto, type EnumDescriptorProto } from '@bufbuild/protobuf/wkt';

export interface DescriptorFile {
  name: string;
  bytes: Uint8Array;
  dependencies: string[];
}

export class DescriptorIndex {
  private readonly files = new Map<string, DescriptorFile>();
  private readonly fileBySymbol = new Map<string, string>();

  constructor(descriptorSet: Uint8Array) {
    for (const bytes of splitFileDescriptorSet(descriptorSet)) {
      const proto = fromBinary(FileDescriptorProtoSchema, bytes);
      const prefix = proto.package ? `${proto.package}.` : '';
      const file: DescriptorFile = {
        name: proto.name,
        bytes,
        dependencies: [...proto.dependency],
      };
      this.files.set(file.name, file);
      const define = (symbol: string) => this.fileBySymbol.set(symbol, file.name);
      for (const service of proto.service) {
        define(`${prefix}${service.name}`);
        for (const method of service.method) define(`${prefix}${service.name}.${method.name}`);
      }
      const defineMessage = (message: DescriptorProto, scope: string): void => {
        const name = `${scope}${message.name}`;
        define(name);
        for (const field of message.field) define(`${name}.${field.name}`);
        for (const nested of message.nestedType) defineMessage(nested, `${name}.`);
        for (const nestedEnum of message.enumType) defineEnum(nestedEnum, `${name}.`);
      };
      const defineEnum = (enumType: EnumDescriptorProto, scope: string): void => {
        define(`${scope}${enumType.name}`);
        // Enum values are scoped beside their enum, as in protoc.
        for (const value of enumType.value) define(`${scope}${value.name}`);
      };
      for (const message of proto.messageType) defineMessage(message, prefix);
      for (const enumType of proto.enumType) defineEnum(enumType, prefix);
    }
  }

  fileByName(name: string): DescriptorFile | undefined {
    return this.files.get(name);
  }

  fileContainingSymbol(symbol: string): DescriptorFile | undefined {
    const name = this.fileBySymbol.get(symbol.replace(/^\./, ''));
    return name === undefined ? undefined : this.files.get(name);
  }

  /** The file first, then every file it imports, transitively, each once. */
  withDependencies(file: DescriptorFile): DescriptorFile[] {
    const result: DescriptorFile[] = [];
    const seen = new Set<string>();
    const visit = (current: DescriptorFile) => {
      if (seen.has(current.name)) return;
      seen.add(current.name);
      result.push(current);
      for (const dependency of current.dependencies) {
        const imported = this.files.get(dependency);
        if (imported) visit(imported);
      }
    };
    visit(file);
    return result;
  }
}

/** The raw bytes of each `repeated FileDescriptorProto file = 1` entry, not re-encoded. */
function splitFileDescriptorSet(set: Uint8Array): Uint8Array[] {
  const reader = new BinaryReader(set);
  const files: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo === 1 && wireType === WireType.LengthDelimited) files.push(reader.bytes());
    else reader.skip(wireType);
  }
  return files;
}

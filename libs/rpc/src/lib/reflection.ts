// gRPC server reflection (v1 and v1alpha, the same messages in two packages)
// served from the buf-built descriptor set. List, describe and calls through
// grpcurl all work because each file is sent exactly as protoc made it,
// followed by its imports.
import { reflectionV1, reflectionV1alpha } from '@bulwark/contracts';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { DescriptorIndex, DescriptorFile } from './descriptor-index';
import { untilCallEnds } from './call-end';
import type { HandlerKit } from './handlers';

type Request = reflectionV1.ServerReflectionRequest;
type Response = reflectionV1.ServerReflectionResponse;

const notFound = 5;

export function answerReflection(index: DescriptorIndex, servedServices: string[], request: Request): Response {
  const files = (list: DescriptorFile[]): Response['messageResponse'] => ({
    $case: 'fileDescriptorResponse',
    fileDescriptorResponse: { fileDescriptorProto: list.map((file) => Buffer.from(file.bytes)) },
  });
  const missing = (what: string): Response['messageResponse'] => ({
    $case: 'errorResponse',
    errorResponse: { errorCode: notFound, errorMessage: `${what} not found` },
  });
  const base = { validHost: request.host, originalRequest: request };
  const ask = request.messageRequest;
  switch (ask?.$case) {
    case 'listServices':
      return {
        ...base,
        messageResponse: {
          $case: 'listServicesResponse',
          listServicesResponse: { service: servedServices.map((name) => ({ name })) },
        },
      };
    case 'fileByFilename': {
      const file = index.fileByName(ask.fileByFilename);
      return {
        ...base,
        messageResponse: file ? files(index.withDependencies(file)) : missing(`file ${ask.fileByFilename}`),
      };
    }
    case 'fileContainingSymbol': {
      const file = index.fileContainingSymbol(ask.fileContainingSymbol);
      return {
        ...base,
        messageResponse: file ? files(index.withDependencies(file)) : missing(`symbol ${ask.fileContainingSymbol}`),
      };
    }
    case 'fileContainingExtension':
      return { ...base, messageResponse: missing(`extension of ${ask.fileContainingExtension.containingType}`) };
    case 'allExtensionNumbersOfType':
      // Bulwark's contracts define no extensions: every known type has none.
      return index.fileContainingSymbol(ask.allExtensionNumbersOfType)
        ? {
            ...base,
            messageResponse: {
              $case: 'allExtensionNumbersResponse',
              allExtensionNumbersResponse: { baseTypeName: ask.allExtensionNumbersOfType, extensionNumber: [] },
            },
          }
        : { ...base, messageResponse: missing(`type ${ask.allExtensionNumbersOfType}`) };
    default:
      return {
        ...base,
        messageResponse: { $case: 'errorResponse', errorResponse: { errorCode: 3, errorMessage: 'empty request' } },
      };
  }
}

function reflectionHandler(kit: HandlerKit, index: DescriptorIndex, servedServices: () => string[]) {
  return kit.bidiStream(async (call: ServerDuplexStream<Request, Response>, { shutdown }) => {
    await untilCallEnds(call, shutdown, (request: Request) =>
      call.write(answerReflection(index, servedServices(), request)),
    );
  });
}

export function reflectionV1Implementation(
  kit: HandlerKit,
  index: DescriptorIndex,
  servedServices: () => string[],
): reflectionV1.ServerReflectionServer {
  return { serverReflectionInfo: reflectionHandler(kit, index, servedServices) };
}

export function reflectionV1alphaImplementation(
  kit: HandlerKit,
  index: DescriptorIndex,
  servedServices: () => string[],
): reflectionV1alpha.ServerReflectionServer {
  // v1alpha's messages are field-for-field identical to v1's.
  return { serverReflectionInfo: reflectionHandler(kit, index, servedServices) as never };
}

import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { reflectionV1 } from '@bulwark/contracts';
import { answerReflection } from './reflection';
import { contractsIndex } from './server';

type Ask = reflectionV1.ServerReflectionRequest['messageRequest'];

function ask(messageRequest: Ask): reflectionV1.ServerReflectionResponse {
  return answerReflection(contractsIndex(), ['kv.v1.KV', 'grpc.health.v1.Health'], { host: '', messageRequest });
}

function fileNames(response: reflectionV1.ServerReflectionResponse): string[] {
  const answer = response.messageResponse;
  if (answer?.$case !== 'fileDescriptorResponse') throw new Error(`expected files, got ${answer?.$case}`);
  return answer.fileDescriptorResponse.fileDescriptorProto.map(
    (bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name,
  );
}

describe('reflection answers from the buf-built descriptor set', () => {
  it('lists the services the server serves', () => {
    const answer = ask({ $case: 'listServices', listServices: '*' }).messageResponse;
    expect(answer).toEqual({
      $case: 'listServicesResponse',
      listServicesResponse: { service: [{ name: 'kv.v1.KV' }, { name: 'grpc.health.v1.Health' }] },
    });
  });

  it('sends the file defining a symbol first, then its imports', () => {
    expect(fileNames(ask({ $case: 'fileContainingSymbol', fileContainingSymbol: 'kv.v1.KV' }))).toEqual([
      'kv/v1/kv.proto',
      'common/v1/common.proto',
    ]);
    expect(
      fileNames(ask({ $case: 'fileContainingSymbol', fileContainingSymbol: 'coordinator.v1.Coordinator.Failover' })),
    ).toEqual(['coordinator/v1/coordinator.proto', 'common/v1/common.proto']);
    expect(
      fileNames(
        ask({
          $case: 'fileContainingSymbol',
          fileContainingSymbol: 'grpc.health.v1.HealthCheckResponse.ServingStatus',
        }),
      ),
    ).toEqual(['grpc/health/v1/health.proto']);
    expect(fileNames(ask({ $case: 'fileContainingSymbol', fileContainingSymbol: '.paxos.v1.Message' }))).toEqual([
      'paxos/v1/paxos.proto',
      'common/v1/common.proto',
    ]);
  });

  it('serves files by name, with their comments (source info) for describe', () => {
    const answer = ask({ $case: 'fileByFilename', fileByFilename: 'lock/v1/lock.proto' }).messageResponse;
    if (answer?.$case !== 'fileDescriptorResponse') throw new Error('expected files');
    const lock = fromBinary(
      FileDescriptorProtoSchema,
      answer.fileDescriptorResponse.fileDescriptorProto[0] as Uint8Array,
    );
    expect(lock.service.map((service) => service.name)).toEqual(['Lock']);
    const comments = lock.sourceCodeInfo?.location.map((location) => location.leadingComments).join('\n') ?? '';
    expect(comments).toContain('Acquire takes the lock');
  });

  it('answers NOT_FOUND for unknown files, symbols and extensions', () => {
    for (const messageRequest of [
      { $case: 'fileByFilename', fileByFilename: 'nope.proto' },
      { $case: 'fileContainingSymbol', fileContainingSymbol: 'kv.v1.Nope' },
      {
        $case: 'fileContainingExtension',
        fileContainingExtension: { containingType: 'kv.v1.KeyValue', extensionNumber: 9 },
      },
      { $case: 'allExtensionNumbersOfType', allExtensionNumbersOfType: 'kv.v1.Nope' },
    ] as Ask[]) {
      const answer = ask(messageRequest).messageResponse;
      expect(answer?.$case).toBe('errorResponse');
      if (answer?.$case === 'errorResponse') expect(answer.errorResponse.errorCode).toBe(5);
    }
  });

  it('reports no extensions for a known type', () => {
    expect(
      ask({ $case: 'allExtensionNumbersOfType', allExtensionNumbersOfType: 'kv.v1.KeyValue' }).messageResponse,
    ).toEqual({
      $case: 'allExtensionNumbersResponse',
      allExtensionNumbersResponse: { baseTypeName: 'kv.v1.KeyValue', extensionNumber: [] },
    });
  });
});

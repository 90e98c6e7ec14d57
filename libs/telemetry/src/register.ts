// Preloaded before a service's main (`node --require ./dist/libs/telemetry/register.js`),
// so instrumentation patches @grpc/grpc-js and ioredis before the app requires them.
import { startTelemetry } from './lib/setup';

startTelemetry();

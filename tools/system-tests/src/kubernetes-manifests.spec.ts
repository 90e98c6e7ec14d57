// deploy/kubernetes, checked offline: no cluster, only `kubectl kustomize`
// (kubectl's built-in kustomize) to render it as `kubectl apply -k` would.
// Every rendered object is validated against its kind's schema from
// kubernetes-models (the Kubernetes OpenAPI schemas compiled to ajv
// validators), and a broken manifest must be refused, so the validation is
// known to validate. Those schemas check types, required fields and enums,
// not what only the API server checks (names, unknown fields), nor whether
// the fleet would run; so what the services rely on across objects is
// checked as data, as compose.spec.ts does for docker-compose.yml: stable
// DNS names behind every address a service is given, member ids that are the
// pods' names, probes on the gRPC port, budgets that keep a majority.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import {
  formatHostPort,
  hostPortList,
  loadConfig,
  memberIdList,
  memberIdPattern,
  peers,
  serviceSettings,
  type HostPort,
} from '@bulwark/config';
import { leaveDeadlineMs } from '@bulwark/coordinator-client';
import { repoPath } from '@bulwark/testing';

// --- The parts of the Kubernetes objects read here (each object has passed its schema first). ---

type Labels = Record<string, string>;
interface Metadata {
  name: string;
  namespace?: string;
  labels?: Labels;
  annotations?: Labels;
}
interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: unknown[];
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
interface Probe {
  grpc?: { port: number; service?: string };
  exec?: { command: string[] };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: unknown[];
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Labels; limits?: Labels };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface AffinityTerm {
  topologyKey: string;
  labelSelector?: LabelSelector;
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number; fsGroup?: number };
  affinity?: {
    podAntiAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: AffinityTerm[];
      preferredDuringSchedulingIgnoredDuringExecution?: Array<{ weight: number; podAffinityTerm: AffinityTerm }>;
    };
  };
  volumes?: Array<{ name: string }>;
}
interface Workload {
  apiVersion: string;
  kind: 'StatefulSet' | 'Deployment';
  metadata: Metadata;
  spec: {
    replicas?: number;
    serviceName?: string;
    podManagementPolicy?: string;
    selector: LabelSelector;
    template: { metadata: { labels: Labels; annotations?: Labels }; spec: PodSpec };
    volumeClaimTemplates?: Array<{ metadata: { name: string } }>;
  };
}
interface Service {
  apiVersion: string;
  kind: 'Service';
  metadata: Metadata;
  spec: {
    clusterIP?: string;
    publishNotReadyAddresses?: boolean;
    selector?: Labels;
    ports: Array<{ name?: string; port: number; targetPort?: number | string }>;
  };
}
interface DisruptionBudget {
  apiVersion: string;
  kind: 'PodDisruptionBudget';
  metadata: Metadata;
  spec: { selector: LabelSelector; maxUnavailable?: number | string; minAvailable?: number | string };
}
interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
}

// --- Rendering and validation. ---

const manifests = repoPath('deploy/kubernetes');

function render(directory: string): string {
  try {
    return execFileSync('kubectl', ['kustomize', directory], { encoding: 'utf8', timeout: 60_000 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('kubectl is not on PATH: it renders deploy/kubernetes (`kubectl kustomize`); install it');
    }
    throw error;
  }
}

function objectsOf(rendered: string): KubernetesObject[] {
  return parseAllDocuments(rendered).map((document) => {
    if (document.errors.length > 0) throw new Error(`rendered YAML: ${document.errors[0]?.message}`);
    return document.toJS() as KubernetesObject;
  });
}

// kubernetes-models is ESM only (its exports have no require condition), and
// Jest runs this file as CommonJS with a require of its own that cannot load
// ES modules. So the objects are validated by a Node process of their own
// that imports each kind's model as any ESM user would and calls its
// validate(), which runs the kind's compiled schema over the whole object.
const validator = `
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const results = [];
for (const object of JSON.parse(Buffer.concat(chunks).toString('utf8'))) {
  // "apps/v1" is kubernetes-models/apps/v1, the core group's "v1" kubernetes-models/v1.
  const models = await import('kubernetes-models/' + object.apiVersion).catch(() => ({}));
  const Model = models[object.kind];
  if (typeof Model !== 'function') {
    results.push('no schema for ' + object.apiVersion + ' ' + object.kind);
    continue;
  }
  try {
    new Model(object).validate();
    results.push(null);
  } catch (error) {
    results.push(String(error.message));
  }
}
process.stdout.write(JSON.stringify(results));
`;

/** What the schema of each object's kind finds wrong with it: null for a valid object. */
function schemaErrors(objects: KubernetesObject[]): Array<string | null> {
  const output = execFileSync(process.execPath, ['--input-type=module', '--eval', validator], {
    cwd: repoPath(),
    input: JSON.stringify(objects),
    encoding: 'utf8',
    timeout: 60_000,
  });
  const results = JSON.parse(output) as Array<string | null>;
  expect(results).toHaveLength(objects.length);
  return results;
}

function invalidObjects(objects: KubernetesObject[]): string[] {
  const errors = schemaErrors(objects);
  return objects.flatMap((object, index) =>
    errors[index] === null ? [] : [`${object.kind} ${object.metadata.name}: ${errors[index]}`],
  );
}

// --- Reading the rendered fleet. ---

/** Whether matchLabels select a pod's labels (the selectors here use matchLabels only: each test asserts it). */
function selects(matchLabels: Labels | undefined, labels: Labels): boolean {
  return Object.entries(matchLabels ?? {}).every(([key, value]) => labels[key] === value);
}

/** One pod a workload makes: its name (a StatefulSet's are `name-i`; a Deployment's as generated) and an IP. */
interface Pod {
  name: string;
  ip: string;
  workload: Workload;
}

function podsOf(workload: Workload, index: number): Pod[] {
  const replicas = workload.spec.replicas ?? 1;
  return Array.from({ length: replicas }, (_, i) => ({
    // A Deployment's pods are named `<deployment>-<10 hash chars>-<5 random chars>`.
    name:
      workload.kind === 'StatefulSet'
        ? `${workload.metadata.name}-${i}`
        : `${workload.metadata.name}-5d8f7c9b6d-x7k2${i}`,
    ip: `10.1.${index}.${i + 1}`,
    workload,
  }));
}

/**
 * A container's environment as the kubelet makes it: values in order, each
 * `$(NAME)` replaced by a variable defined above it (an unknown one is left
 * as it is, as Kubernetes does), the downward API's pod name and IP.
 */
function environmentOf(container: Container, pod: Pod): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const fieldPath = variable.valueFrom?.fieldRef?.fieldPath;
    if (variable.value !== undefined) {
      env[variable.name] = variable.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (ref, name: string) =>
        name in env ? (env[name] as string) : ref,
      );
    } else if (fieldPath === 'metadata.name') {
      env[variable.name] = pod.name;
    } else if (fieldPath === 'status.podIP') {
      env[variable.name] = pod.ip;
    } else {
      throw new Error(`${pod.name}: ${variable.name} comes from something this test does not model`);
    }
  }
  return env;
}

/** The Bulwark service a container runs (its command runs dist/apps/<service>/main.js), if any. */
function serviceOf(container: Container): string | undefined {
  const main = (container.command ?? []).find((part) => /^dist\/apps\/[a-z-]+\/main\.js$/.test(part));
  return main?.split('/')[2];
}

const defaultPorts: Record<string, number> = {
  coordinator: 7001,
  replica: 7100,
  router: 7200,
  lock: 7300,
  monitor: 7400,
};

function portNamed(container: Container, name: string): number | undefined {
  return container.ports?.find((port) => port.name === name)?.containerPort;
}

/** Bytes of a quantity such as 512Mi or 2Gi. */
function bytesOf(quantity: string): number {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(quantity);
  if (!match) throw new Error(`quantity ${quantity}: not a whole number of bytes, Ki, Mi or Gi`);
  const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };
  return Number(match[1]) * (match[2] ? (units[match[2]] as number) : 1);
}

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
}

describe('deploy/kubernetes', () => {
  let rendered: string;
  let objects: KubernetesObject[];
  let workloads: Workload[];
  let services: Service[];
  let budgets: DisruptionBudget[];
  let pods: Pod[];
  /** Stable DNS names (pod.service of a StatefulSet's headless Service, or a Service's name) and their ports. */
  let names: Map<string, { ports: number[]; pods: Pod[] }>;
  const compose = parse(readFileSync(repoPath('docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };

  beforeAll(() => {
    rendered = render(manifests);
    objects = objectsOf(rendered);
    workloads = objects.filter((object): object is Workload => ['StatefulSet', 'Deployment'].includes(object.kind));
    services = objects.filter((object): object is Service => object.kind === 'Service');
    budgets = objects.filter((object): object is DisruptionBudget => object.kind === 'PodDisruptionBudget');
    pods = workloads.flatMap((workload, index) => podsOf(workload, index));

    names = new Map();
    const podPorts = (pod: Pod) =>
      pod.workload.spec.template.spec.containers.flatMap((container) =>
        (container.ports ?? []).map((port) => port.containerPort),
      );
    for (const service of services) {
      const selected = pods.filter((pod) => selects(service.spec.selector, pod.workload.spec.template.metadata.labels));
      // A Service's port reaches the pods' port of the same number (no targetPort is set).
      const ports = service.spec.ports
        .filter((port) => port.targetPort === undefined || port.targetPort === port.port)
        .map((port) => port.port)
        .filter((port) => selected.length > 0 && selected.every((pod) => podPorts(pod).includes(port)));
      names.set(service.metadata.name, { ports, pods: selected });
      if (service.spec.clusterIP !== 'None') continue;
      for (const pod of selected) {
        if (pod.workload.spec.serviceName !== service.metadata.name) continue;
        names.set(`${pod.name}.${service.metadata.name}`, { ports, pods: [pod] });
      }
    }
  });

  const workload = (kind: Workload['kind'], name: string): Workload => {
    const found = workloads.find((each) => each.kind === kind && each.metadata.name === name);
    if (!found) throw new Error(`no ${kind} ${name}`);
    return found;
  };
  const podsOfWorkload = (owner: Workload) => pods.filter((pod) => pod.workload === owner);
  const bulwarkContainers = () =>
    pods.flatMap((pod) =>
      pod.workload.spec.template.spec.containers
        .filter((container) => serviceOf(container) !== undefined)
        .map((container) => ({ pod, container, service: serviceOf(container) as string })),
    );
  const reachable = (address: HostPort) => names.get(address.host)?.ports.includes(address.port) ?? false;

  it('renders every object valid against its kind’s schema', () => {
    expect(objects.length).toBeGreaterThan(20);
    expect(invalidObjects(objects)).toEqual([]);
  });

  it('refuses a manifest that breaks a schema: the validation validates', () => {
    // Through the whole path: a copy of deploy/kubernetes with one bad field, rendered and validated.
    const scratch = mkdtempSync(join(tmpdir(), 'bulwark-kubernetes-'));
    try {
      cpSync(manifests, scratch, { recursive: true });
      const router = join(scratch, 'router.yaml');
      const text = readFileSync(router, 'utf8');
      expect(text).toContain('containerPort: 7200');
      writeFileSync(router, text.replace('containerPort: 7200', "containerPort: 'abc'"));
      expect(invalidObjects(objectsOf(render(scratch)))).toEqual([
        expect.stringMatching(/^Deployment router: .*\/containers\/0\/ports\/0\/containerPort must be integer/),
      ]);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }

    // And objects broken in other ways: a missing required field, a malformed quantity, an unknown kind.
    const nameless = structuredClone(workload('Deployment', 'router'));
    delete (nameless.spec.template.spec.containers[0] as Partial<Container>).name;
    const greedy = structuredClone(workload('StatefulSet', 'redis'));
    (greedy.spec.template.spec.containers[0] as Container).resources = { requests: { memory: 'a lot' } };
    const misspelt = { ...workload('Deployment', 'router'), kind: 'Deploymnet' };
    const [namelessErrors, greedyErrors, misspeltErrors] = schemaErrors([nameless, greedy, misspelt]);
    expect(namelessErrors).toMatch(/containers\/0 must have required property name$/);
    expect(greedyErrors).toMatch(/requests\/memory must match format "quantity"/);
    expect(misspeltErrors).toBe('no schema for apps/v1 Deploymnet');
  });

  it('renders the same output every time', () => {
    expect(render(manifests)).toBe(rendered);
  });

  it('puts every object in the bulwark namespace, labelled part-of bulwark, under a DNS label name', () => {
    for (const object of objects) {
      const { name, namespace, labels } = object.metadata;
      expect([object.kind, name, name.length <= 63 && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name)]).toEqual([
        object.kind,
        name,
        true,
      ]);
      expect([object.kind, name, labels?.['app.kubernetes.io/part-of']]).toEqual([object.kind, name, 'bulwark']);
      if (object.kind === 'Namespace') expect(name).toBe('bulwark');
      else expect([object.kind, name, namespace]).toEqual([object.kind, name, 'bulwark']);
    }
    for (const owner of workloads) {
      expect([owner.metadata.name, owner.spec.template.metadata.labels['app.kubernetes.io/part-of']]).toEqual([
        owner.metadata.name,
        'bulwark',
      ]);
    }
  });

  it('runs the fleet compose runs: 3 coordinators, 3 replica groups of 3, 2 routers, 2 lock services, 3 Redis servers, monitors', () => {
    const replicas = Object.fromEntries(
      workloads.map((each) => [`${each.kind} ${each.metadata.name}`, each.spec.replicas ?? 1]),
    );
    expect(replicas).toEqual({
      'StatefulSet coordinator': 3,
      'StatefulSet replica-a': 3,
      'StatefulSet replica-b': 3,
      'StatefulSet replica-c': 3,
      'StatefulSet redis': 3,
      'Deployment router': 2,
      'Deployment lock': 2,
      'Deployment monitor': 2,
    });
    // The clients' entry points.
    for (const [name, port] of [
      ['router', 7200],
      ['lock', 7300],
      ['monitor', 7400],
      ['monitor', 8080],
    ] as const) {
      expect([name, names.get(name)?.ports.includes(port)]).toEqual([name, true]);
    }
  });

  it('gives every StatefulSet a headless Service for stable pod names, published before the pods are ready where members find each other', () => {
    const headless = Object.fromEntries(
      workloads
        .filter((each) => each.kind === 'StatefulSet')
        .map((owner) => {
          const service = services.find((each) => each.metadata.name === owner.spec.serviceName);
          expect([owner.metadata.name, service?.spec.clusterIP]).toEqual([owner.metadata.name, 'None']);
          // Every pod is behind it (its DNS name exists) and the pods start together.
          expect(names.get(`${owner.metadata.name}-0.${owner.spec.serviceName}`)?.pods).toHaveLength(1);
          expect([owner.metadata.name, owner.spec.podManagementPolicy]).toEqual([owner.metadata.name, 'Parallel']);
          return [owner.metadata.name, [service?.metadata.name, service?.spec.publishNotReadyAddresses ?? false]];
        }),
    );
    expect(headless).toEqual({
      // A coordinator needs its peers to start, a replica catching up (NOT_SERVING) needs its primary.
      coordinator: ['coordinator', true],
      'replica-a': ['replica', true],
      'replica-b': ['replica', true],
      'replica-c': ['replica', true],
      redis: ['redis', false],
    });
  });

  it('keeps the durable state of coordinators, replicas and Redis on a volume per pod, where the service writes it', () => {
    for (const name of ['coordinator', 'replica-a', 'replica-b', 'replica-c', 'redis']) {
      const owner = workload('StatefulSet', name);
      expect([name, owner.spec.volumeClaimTemplates?.map((template) => template.metadata.name)]).toEqual([
        name,
        ['data'],
      ]);
      const container = owner.spec.template.spec.containers[0] as Container;
      const dataDir =
        serviceOf(container) === undefined
          ? container.args?.[(container.args?.indexOf('--dir') ?? -2) + 1]
          : container.env?.find((variable) => variable.name === 'BULWARK_DATA_DIR')?.value;
      expect([name, container.volumeMounts]).toEqual([name, [{ name: 'data', mountPath: dataDir }]]);
      expect(dataDir).toBe('/data');
    }
  });

  it('runs each service with compose’s command and the variables compose gives it', () => {
    for (const { pod, container, service } of bulwarkContainers()) {
      const composed = Object.entries(compose.services).filter(([, each]) =>
        each.command?.includes(`dist/apps/${service}/main.js`),
      );
      expect(composed.length).toBeGreaterThan(0);
      expect([pod.name, container.command]).toEqual([pod.name, composed[0]?.[1].command]);
      const env = environmentOf(container, pod);
      const named = new Set(Object.keys(env));
      // Jaeger is not deployed: tracing is off until OTEL_EXPORTER_OTLP_ENDPOINT is set.
      const expected = Object.keys(composed[0]?.[1].environment ?? {}).filter(
        (variable) => variable !== 'OTEL_EXPORTER_OTLP_ENDPOINT',
      );
      expect([pod.name, expected.filter((variable) => !named.has(variable))]).toEqual([pod.name, []]);
      // Variables with one value across compose's instances of the service, other than members and addresses.
      const perMember = new Set([
        'BULWARK_MEMBER_ID',
        'BULWARK_ADVERTISE_ADDR',
        'BULWARK_PEERS',
        'BULWARK_COORDINATORS',
        'BULWARK_GROUP_ID',
        'BULWARK_GROUP_MEMBERS',
        'BULWARK_REDIS_SERVERS',
      ]);
      for (const variable of expected.filter((each) => !perMember.has(each))) {
        const values = new Set(composed.map(([, each]) => each.environment?.[variable]));
        if (values.size === 1)
          expect([pod.name, variable, env[variable]]).toEqual([pod.name, variable, [...values][0]]);
      }
    }
  });

  it('names every member after its pod and gives it an address the others reach, with variables the services accept', () => {
    const members = bulwarkContainers();
    expect(new Set(members.map((member) => member.service))).toEqual(
      new Set(['coordinator', 'replica', 'router', 'lock', 'monitor']),
    );
    for (const { pod, container, service } of members) {
      const env = environmentOf(container, pod);
      // Every $(NAME) refers to a variable defined above it; otherwise Kubernetes leaves it as it is.
      expect([pod.name, Object.values(env).filter((value) => value.includes('$('))]).toEqual([pod.name, []]);
      const config = loadConfig(serviceSettings(defaultPorts[service] as number), env);
      expect(config.memberId).toBe(pod.name);
      // A Deployment's pods get generated names: these must still be member ids.
      expect([pod.name, memberIdPattern.regex.test(pod.name)]).toEqual([pod.name, true]);
      const grpcPort = portNamed(container, 'grpc');
      expect([pod.name, config.listenAddress]).toEqual([pod.name, { host: '0.0.0.0', port: grpcPort }]);
      if (pod.workload.kind === 'StatefulSet') {
        expect(config.advertiseAddress).toEqual({
          host: `${pod.name}.${pod.workload.spec.serviceName}`,
          port: grpcPort,
        });
        expect([pod.name, reachable(config.advertiseAddress)]).toEqual([pod.name, true]);
      } else {
        expect(config.advertiseAddress).toEqual({ host: pod.ip, port: grpcPort });
      }
      // Metrics on 9464 as in compose, where the pod's annotation tells a Prometheus to scrape.
      expect([pod.name, config.metricsAddress]).toEqual([pod.name, { host: '0.0.0.0', port: 9464 }]);
      expect(portNamed(container, 'metrics')).toBe(9464);
      expect(pod.workload.spec.template.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9464',
      });
      // SIGTERM drains for up to the deadline (a router, lock or monitor deregisters beside it, for up to its own);
      // the kubelet waits a little longer before SIGKILL.
      const graceMs = (pod.workload.spec.template.spec.terminationGracePeriodSeconds ?? 30) * 1_000;
      const leavingMs = ['router', 'lock', 'monitor'].includes(service) ? leaveDeadlineMs : 0;
      expect([pod.name, graceMs > Math.max(config.drainDeadlineMs, leavingMs)]).toEqual([pod.name, true]);
    }
  });

  it('lists the coordinators, each group’s members and the Redis servers by names that reach them', () => {
    const advertised = (owner: Workload) =>
      podsOfWorkload(owner).map((pod) => {
        const container = owner.spec.template.spec.containers[0] as Container;
        return { id: pod.name, address: environmentOf(container, pod)['BULWARK_ADVERTISE_ADDR'] };
      });
    const coordinators = advertised(workload('StatefulSet', 'coordinator'));
    const redisServers = podsOfWorkload(workload('StatefulSet', 'redis')).map((pod) => `${pod.name}.redis:6379`);
    expect(redisServers.every((server) => reachable({ host: server.split(':')[0] as string, port: 6379 }))).toBe(true);
    const groupIds = new Map<string, string>();

    for (const { pod, container, service } of bulwarkContainers()) {
      const env = environmentOf(container, pod);
      if (service === 'coordinator') {
        // The ids are the members' BULWARK_MEMBER_ID, the addresses where each listens.
        const listed = peers('BULWARK_PEERS', { min: 3, max: 5 }).parse(env['BULWARK_PEERS']);
        expect(listed.map((peer) => ({ id: peer.id, address: formatHostPort(peer.address) }))).toEqual(coordinators);
        expect(listed.every((peer) => reachable(peer.address))).toBe(true);
        continue;
      }
      const listed = hostPortList('BULWARK_COORDINATORS', { min: 1, max: 7 }).parse(env['BULWARK_COORDINATORS']);
      expect([pod.name, listed.map(formatHostPort)]).toEqual([pod.name, coordinators.map((each) => each.address)]);
      expect(listed.every(reachable)).toBe(true);

      if (service === 'replica') {
        // The group's members are exactly its StatefulSet's pods, the first its first primary.
        const members = memberIdList('BULWARK_GROUP_MEMBERS', { min: 1, max: 7 }).parse(env['BULWARK_GROUP_MEMBERS']);
        expect([pod.name, members]).toEqual([pod.name, podsOfWorkload(pod.workload).map((each) => each.name)]);
        const groupId = env['BULWARK_GROUP_ID'] as string;
        expect(memberIdPattern.regex.test(groupId)).toBe(true);
        expect(pod.workload.spec.template.metadata.labels['bulwark/replica-group']).toBe(groupId);
        expect(groupIds.get(groupId) ?? pod.workload.metadata.name).toBe(pod.workload.metadata.name);
        groupIds.set(groupId, pod.workload.metadata.name);
      }
      if (service === 'lock') {
        // Redis only: a memory backend per pod would be a lock table per pod.
        expect(env['BULWARK_LOCK_BACKEND']).toBe('redis');
        const servers = hostPortList('BULWARK_REDIS_SERVERS', { min: 1, max: 9 }).parse(env['BULWARK_REDIS_SERVERS']);
        expect(servers.map(formatHostPort)).toEqual(redisServers);
        expect(servers.every(reachable)).toBe(true);
      }
    }
    expect([...groupIds.keys()].sort()).toEqual(['group-a', 'group-b', 'group-c']);
  });

  it('runs the Redis servers as compose does: fsync on every write, expiry events, checked with redis-cli ping', () => {
    const redis = workload('StatefulSet', 'redis');
    const container = redis.spec.template.spec.containers[0] as Container;
    for (const name of ['redis-1', 'redis-2', 'redis-3']) {
      const composed = compose.services[name];
      expect(container.image).toBe('redis:7');
      // `args` keeps the image's entrypoint, as compose's `command` does.
      expect(container.args).toEqual(composed?.command);
      expect(container.readinessProbe?.exec?.command).toEqual(composed?.healthcheck?.test.slice(1));
      expect(container.livenessProbe?.exec?.command).toEqual(composed?.healthcheck?.test.slice(1));
    }
    expect(container.args?.join(' ')).toContain('--appendonly yes --appendfsync always --notify-keyspace-events Ex');
  });

  it('probes every service over grpc.health.v1 on its gRPC port, liveness more patient than readiness', () => {
    for (const { pod, container } of bulwarkContainers()) {
      const grpcPort = portNamed(container, 'grpc');
      const { readinessProbe, livenessProbe, startupProbe } = container;
      expect([pod.name, readinessProbe?.grpc, livenessProbe?.grpc]).toEqual([
        pod.name,
        { port: grpcPort },
        { port: grpcPort },
      ]);
      // A start (a log replayed, a group formed, a member caught up) may take longer than liveness allows.
      expect([pod.name, startupProbe?.grpc]).toEqual([pod.name, { port: grpcPort }]);
      const patience = (probe: Probe | undefined) => (probe?.periodSeconds ?? 10) * (probe?.failureThreshold ?? 3);
      expect([pod.name, patience(livenessProbe) > patience(readinessProbe)]).toEqual([pod.name, true]);
    }
  });

  it('requests resources for every container and caps its memory', () => {
    for (const owner of workloads) {
      for (const container of owner.spec.template.spec.containers) {
        const { requests, limits } = container.resources ?? {};
        const label = `${owner.metadata.name}/${container.name}`;
        expect([label, Object.keys(requests ?? {}).sort()]).toEqual([label, ['cpu', 'memory']]);
        expect([label, bytesOf(limits?.memory ?? '0') >= bytesOf(requests?.memory ?? '0')]).toEqual([label, true]);
        expect(limits?.memory).toBeDefined();
      }
    }
    // A replica keeps its group's keys and values in memory: its limit leaves room for twice their bound.
    for (const { pod, container, service } of bulwarkContainers().filter((each) => each.service === 'replica')) {
      const totalBytesMax = Number(environmentOf(container, pod)['BULWARK_TOTAL_BYTES_MAX'] ?? 2 ** 30);
      expect([pod.name, service, bytesOf(container.resources?.limits?.memory ?? '0') >= 2 * totalBytesMax]).toEqual([
        pod.name,
        service,
        true,
      ]);
    }
  });

  it('runs every container as the image’s non-root user, on a read-only root filesystem', () => {
    // The Dockerfile's last stage runs as the node images' user node, uid 1000.
    const dockerfile = readFileSync(repoPath('Dockerfile'), 'utf8');
    expect(dockerfile.trim().split('\n').at(-1)).toBe('USER node');
    for (const owner of workloads) {
      const spec = owner.spec.template.spec;
      const name = owner.metadata.name;
      const bulwark = spec.containers.some((container) => serviceOf(container) !== undefined);
      expect([name, spec.securityContext?.runAsNonRoot, spec.securityContext?.runAsUser]).toEqual([
        name,
        true,
        bulwark ? 1000 : 999,
      ]);
      // A volume is writable by the user's group.
      if (spec.containers.some((container) => (container.volumeMounts ?? []).length > 0)) {
        expect([name, spec.securityContext?.fsGroup]).toEqual([name, spec.securityContext?.runAsGroup]);
      }
      for (const container of spec.containers) {
        expect([name, container.securityContext]).toEqual([
          name,
          { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        ]);
      }
    }
  });

  it('has every workload select its own pods and no other workload’s', () => {
    for (const owner of workloads) {
      const name = owner.metadata.name;
      const { matchLabels, matchExpressions } = owner.spec.selector;
      const others = workloads.filter((each) => each !== owner);
      expect([
        name,
        matchExpressions,
        selects(matchLabels, owner.spec.template.metadata.labels),
        others
          .filter((other) => selects(matchLabels, other.spec.template.metadata.labels))
          .map((other) => other.metadata.name),
      ]).toEqual([name, undefined, true, []]);
    }
  });

  it('places the members of each quorum (coordinators, each replica group, Redis) on different nodes', () => {
    for (const owner of workloads) {
      const name = owner.metadata.name;
      const labels = owner.spec.template.metadata.labels;
      const others = workloads.filter((each) => each !== owner).map((each) => each.spec.template.metadata.labels);
      const antiAffinity = owner.spec.template.spec.affinity?.podAntiAffinity;
      const terms =
        owner.kind === 'StatefulSet'
          ? antiAffinity?.requiredDuringSchedulingIgnoredDuringExecution
          : antiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.map((each) => each.podAffinityTerm);
      expect([name, terms?.length]).toEqual([name, 1]);
      const term = terms?.[0] as AffinityTerm;
      expect([name, term.topologyKey, term.labelSelector?.matchExpressions]).toEqual([
        name,
        'kubernetes.io/hostname',
        undefined,
      ]);
      // Exactly this workload's pods: one group's replicas may share a node with another group's.
      const selector = term.labelSelector?.matchLabels;
      expect([name, selects(selector, labels), others.filter((other) => selects(selector, other)).length]).toEqual([
        name,
        true,
        0,
      ]);
    }
  });

  it('has a PodDisruptionBudget per workload that keeps a majority of every quorum and one of every stateless service', () => {
    expect(budgets.map((budget) => budget.metadata.name).sort()).toEqual(
      workloads.map((owner) => owner.metadata.name).sort(),
    );
    for (const budget of budgets) {
      const name = budget.metadata.name;
      expect([name, budget.spec.selector.matchExpressions]).toEqual([name, undefined]);
      const covered = workloads.filter((owner) =>
        selects(budget.spec.selector.matchLabels, owner.spec.template.metadata.labels),
      );
      expect([name, covered.map((owner) => owner.metadata.name)]).toEqual([name, [name]]);
      const owner = covered[0] as Workload;
      const replicas = owner.spec.replicas ?? 1;
      const { maxUnavailable, minAvailable } = budget.spec;
      // Counts, not percentages, so the rule is plain.
      expect([name, typeof (maxUnavailable ?? minAvailable)]).toEqual([name, 'number']);
      const keeps = maxUnavailable === undefined ? (minAvailable as number) : replicas - (maxUnavailable as number);
      const required = owner.kind === 'StatefulSet' ? Math.floor(replicas / 2) + 1 : 1;
      expect([name, keeps >= required, keeps < replicas]).toEqual([name, true, true]);
    }
  });
});

// Jest setup, run at the start of every test file: disables the
// AsyncLocalStorage stores that earlier test files in this worker left
// enabled. Jest's runner (jest-circus 30) makes one store per test file and
// never disables it, and on Node 20 every promise a process makes visits every
// enabled store: a worker 100 files in awaited ~10x slower than a fresh one,
// and CI timed the promise-heavy lock simulation out. Earlier files are done;
// a store still in use is enabled again by its next run().
'use strict';
const { AsyncLocalStorage } = require('node:async_hooks');

// Every test file of a worker gets its own module registry and `process`,
// but the same core modules: the stores are tracked on the class, once.
const storesKey = Symbol.for('bulwark.jest.enabledAsyncLocalStorages');
let stores = AsyncLocalStorage[storesKey];
if (stores === undefined) {
  stores = new Set();
  AsyncLocalStorage[storesKey] = stores;
  // Where run() and enterWith() enable a store (Node 20 to 24).
  const enable = AsyncLocalStorage.prototype._enable;
  if (typeof enable === 'function') {
    AsyncLocalStorage.prototype._enable = function trackEnabled(...args) {
      stores.add(this);
      return enable.apply(this, args);
    };
  }
}
for (const store of stores) store.disable();
stores.clear();

/// <reference lib="webworker" />
// The worker's entry: connection + models here, rendering on the page (see bridge.ts for what crosses).
import type { Action, Report } from '../bridge';
import { LiveConnection } from './live-connection';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const live = new LiveConnection((report: Report) => scope.postMessage(report));
scope.addEventListener('message', (event: MessageEvent<Action>) => live.handle(event.data));

export * from './ids';
export * from './topics';
export * from './payloads';
export * from './contract';
export * from './topic-filter';
export * from './mqtt-version';

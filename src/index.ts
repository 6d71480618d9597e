import { MongoSess } from './mongosess.js';

export default MongoSess;
export { MongoSess };
export * from './api.js';
export type { MongoSessStatic } from './mongosess.js';

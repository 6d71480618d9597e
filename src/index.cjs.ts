// CommonJS entry: `require('mongosess')` is MongoSess itself, as with mongosess 0.4.
// The error classes and Session hang off it as properties.
import { MongoSess } from './store/mongosess.js';

export default MongoSess;

// The serializing wire-protocol proxy (one implementation, in plain JS so the benchmark can use it too).
export { CHATTER, serialProxy, type SerialProxy } from '../../scripts/serial-proxy.mjs';

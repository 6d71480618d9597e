export declare const OP_REPLY: number;
export declare const OP_QUERY: number;
export declare const OP_COMPRESSED: number;
export declare const OP_MSG: number;
export declare const MORE_TO_COME: number;
export declare const EXHAUST_ALLOWED: number;

export declare class MessageFramer {
  push(chunk: Buffer): Buffer[];
}

export interface MessageInfo {
  length: number;
  requestId: number;
  responseTo: number;
  opCode: number;
  flagBits: number;
  command: string | undefined;
}

export declare function describeMessage(message: Buffer): MessageInfo;

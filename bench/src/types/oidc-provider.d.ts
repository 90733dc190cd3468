// oidc-provider 9 ships no type declarations, and it is one of the bench's peers (bench/peers, installed on first run): this is the little the bench uses.
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    proxy: boolean;
  }

  export const errors: {
    InvalidTarget: new (description?: string) => Error;
  };
}

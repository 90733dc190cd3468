import type { Server } from "node:http";

/** A server started inside a bench child process. */
export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}
